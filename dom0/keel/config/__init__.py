"""xl.cfg files: syntax, model and validation."""

from keel.config.model import Action, DomainConfig, Pinning
from keel.config.syntax import ConfigFile, parse_file, parse_text, serialize
from keel.config.validate import KEYS, ConfigInvalid, Diagnostic, LoadedConfig, load, validate

__all__ = [
    "KEYS",
    "Action",
    "ConfigFile",
    "ConfigInvalid",
    "Diagnostic",
    "DomainConfig",
    "LoadedConfig",
    "Pinning",
    "load",
    "parse_file",
    "parse_text",
    "serialize",
    "validate",
]
