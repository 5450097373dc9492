"""Keel's toolstack: manage domains on the Keel hypervisor."""

__version__ = "0.1.0"
