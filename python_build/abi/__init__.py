"""Keel's ABI spec: parser, layout and generators."""

from .model import Spec, SpecError
from .parser import parse_files, parse_text

__all__ = ["Spec", "SpecError", "parse_files", "parse_text"]
