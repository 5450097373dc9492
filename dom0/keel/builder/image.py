"""Build everything a PVH domain needs in memory, independent of where it goes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keel.builder.kernel import KernelImage, load_kernel
from keel.builder.layout import START_INFO_PADDR, Layout, ModuleSpec, plan
from keel.builder.startinfo import encode_boot_data
from keel.builder.vcpu import initial_context
from keel.config.model import DomainConfig
from keel.errors import ImageError


@dataclass(frozen=True)
class Module:
    path: Path
    data: bytes
    cmdline: str = ""


@dataclass(frozen=True)
class Write:
    """Bytes to copy into guest memory at gpa."""

    gpa: int
    data: bytes
    what: str


@dataclass(frozen=True)
class DomainImage:
    config: DomainConfig
    kernel: KernelImage
    modules: tuple[Module, ...]
    layout: Layout
    boot_data: bytes  # copied at START_INFO_PADDR
    vcpu_context: bytes  # struct vcpu_hvm_context for vCPU 0
    start_info_flags: int

    def writes(self) -> list[Write]:
        """The copies that load the domain, in address order."""
        out = [Write(START_INFO_PADDR, self.boot_data, "start info")]
        for i, seg in enumerate(self.layout.kernel_segments):
            data = self.kernel.elf.segment_bytes(seg)
            if data:
                out.append(Write(seg.paddr, data, f"kernel segment {i}"))
        for m, p in zip(self.modules, self.layout.modules, strict=True):
            out.append(Write(p.paddr, m.data, f"module {m.path.name}"))
        return out


def read_module(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ImageError(f"{what} {path}: {e.strerror}") from e


def build_image(config: DomainConfig, flags: int = 0, kernel: KernelImage | None = None) -> DomainImage:
    """Load the kernel and modules of a config and lay them out."""
    kernel = kernel or load_kernel(config.kernel)
    modules: list[Module] = []
    if config.ramdisk is not None:
        modules.append(Module(config.ramdisk, read_module(config.ramdisk, "ramdisk")))
    layout = plan(
        config.memory_bytes,
        kernel.elf.segments,
        config.cmdline,
        [ModuleSpec(len(m.data), m.cmdline) for m in modules],
    )
    return DomainImage(
        config=config,
        kernel=kernel,
        modules=tuple(modules),
        layout=layout,
        boot_data=encode_boot_data(layout, flags),
        vcpu_context=initial_context(kernel.entry),
        start_info_flags=flags,
    )
