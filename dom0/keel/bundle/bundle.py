"""Boot bundles: domains for the hypervisor to build at boot.

A bundle directory holds the boot manifest, one module per kernel (the PVH
ELF; for a bzImage, the ELF extracted from it) and ramdisk, a grub.cfg and a
bootable ISO with all of them."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keel.builder.image import build_image
from keel.bundle.iso import IsoModule, grub_cfg, make_iso
from keel.bundle.manifest import domain_line, render, validate_manifest
from keel.config.model import DomainConfig
from keel.errors import BundleError
from keel.progress import Progress, no_progress

MANIFEST_NAME = "keel.manifest"
DEFAULT_HV_CMDLINE = "console=com1 com1=115200,8n1"
WRITE_CHUNK = 4 << 20


@dataclass(frozen=True)
class BundledDomain:
    name: str
    kernel_module: str
    kernel_source: Path
    kernel_format: str
    ramdisk_module: str | None
    control: bool


@dataclass
class Bundle:
    dir: Path
    manifest: Path
    grub_cfg: Path
    iso: Path | None
    hv_elf: Path
    hv_cmdline: str
    domains: list[BundledDomain] = field(default_factory=list)
    modules: list[Path] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "dir": str(self.dir),
            "manifest": str(self.manifest),
            "grub_cfg": str(self.grub_cfg),
            "iso": str(self.iso) if self.iso else None,
            "hv_elf": str(self.hv_elf),
            "hv_cmdline": self.hv_cmdline,
            "modules": [str(m) for m in self.modules],
            "domains": [
                {
                    "name": d.name,
                    "kernel": d.kernel_module,
                    "kernel_source": str(d.kernel_source),
                    "kernel_format": d.kernel_format,
                    "ramdisk": d.ramdisk_module,
                    "control": d.control,
                }
                for d in self.domains
            ],
        }


def _write(path: Path, data: bytes, progress: Progress) -> None:
    with path.open("wb") as f:
        for off in range(0, len(data), WRITE_CHUNK):
            f.write(data[off : off + WRITE_CHUNK])
            progress(f"writing {path.name}", min(off + WRITE_CHUNK, len(data)), len(data))


def hv_cmdline(extra: str = "") -> str:
    return f"{DEFAULT_HV_CMDLINE} {extra}".strip()


def make_bundle(
    configs: Sequence[DomainConfig],
    out: Path,
    hv_elf: Path,
    *,
    extra_cmdline: str = "",
    control: str | None = None,
    iso: bool = True,
    progress: Progress = no_progress,
) -> Bundle:
    """Write a bundle for the configs into `out` (created if needed)."""
    names = [c.name for c in configs]
    if not configs:
        raise BundleError("a bundle needs at least one domain config")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BundleError(f"two configs name the same domain: {', '.join(dupes)}")
    if control is not None and control not in names:
        raise BundleError(f"--control {control}: no such domain among the configs")
    if iso and not hv_elf.is_file():
        raise BundleError(f"hypervisor {hv_elf} not found (build it with scons, or pass --hv)")
    out.mkdir(parents=True, exist_ok=True)

    lines: list[str] = []
    modules: list[IsoModule] = []
    domains: list[BundledDomain] = []
    for cfg in configs:
        image = build_image(cfg)  # validates the kernel, layout and ramdisk before anything is written
        kernel_name = f"{cfg.name}.elf"
        _write(out / kernel_name, image.kernel.elf_bytes, progress)
        modules.append(IsoModule(out / kernel_name, kernel_name))
        ramdisk_name = None
        if cfg.ramdisk is not None:
            ramdisk_name = f"{cfg.name}.initrd"
            shutil.copyfile(cfg.ramdisk, out / ramdisk_name)
            modules.append(IsoModule(out / ramdisk_name, ramdisk_name))
        is_control = cfg.name == control
        lines.append(domain_line(cfg, kernel_name, ramdisk_name, is_control))
        domains.append(BundledDomain(cfg.name, kernel_name, cfg.kernel, image.kernel.format, ramdisk_name, is_control))

    text = render(lines)
    validate_manifest(text, {m.cmdline for m in modules})  # what we write, the hypervisor must accept
    manifest = out / MANIFEST_NAME
    manifest.write_text(text)
    all_modules = [IsoModule(manifest, MANIFEST_NAME), *modules]
    cmdline = hv_cmdline(extra_cmdline)
    grub = out / "grub.cfg"
    grub.write_text(grub_cfg(cmdline, all_modules))
    iso_path = None
    if iso:
        progress("building keel.iso", 0, 0)
        iso_path = make_iso(out / "keel.iso", hv_elf, cmdline, all_modules)
        progress("building keel.iso", 1, 1)
    return Bundle(out, manifest, grub, iso_path, hv_elf, cmdline, domains, [m.path for m in all_modules])
