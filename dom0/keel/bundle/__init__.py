"""Boot bundles: manifest, modules, grub.cfg and ISO; booting them in QEMU."""

from keel.bundle.bundle import Bundle, make_bundle
from keel.bundle.manifest import Manifest, parse_manifest, validate_manifest

__all__ = ["Bundle", "Manifest", "make_bundle", "parse_manifest", "validate_manifest"]
