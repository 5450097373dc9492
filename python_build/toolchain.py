"""Compiler and linker settings for the hypervisor, guests and host tests."""

from __future__ import annotations

import subprocess
from functools import cache

WARNINGS = ["-Wall", "-Wextra", "-Werror", "-Wmissing-prototypes", "-Wstrict-prototypes", "-Wshadow=local"]

# Freestanding x86-64, no red zone (interrupts use the stack), no SSE/x87 in
# the hypervisor (guest FPU state is never clobbered by Keel's own code).
HV_CFLAGS = [
    "-std=c11",
    "-O2",
    "-g",
    *WARNINGS,
    "-ffreestanding",
    "-fno-pic",
    "-fno-pie",
    "-mcmodel=kernel",
    "-mno-red-zone",
    "-mgeneral-regs-only",
    "-mno-sse",
    "-mno-mmx",
    "-mno-80387",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-fno-omit-frame-pointer",
    "-fno-strict-aliasing",
    "-fcf-protection=none",
    "-nostdinc",
]

HV_ASFLAGS = ["-D__ASSEMBLY__", "-g", "-nostdinc"]

HV_LDFLAGS = [
    "-m",
    "elf_x86_64",
    "-nostdlib",
    "-static",
    "-z",
    "max-page-size=0x1000",
    "--build-id=none",
    "--no-warn-rwx-segments",
]


@cache
def gcc_include_dir(cc: str = "gcc") -> str:
    """The compiler's own header directory (stdint.h, stdarg.h, ...)."""
    return subprocess.run([cc, "-print-file-name=include"], capture_output=True, text=True, check=True).stdout.strip()
