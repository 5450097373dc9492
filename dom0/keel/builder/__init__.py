"""The PVH domain builder: kernel loaders, guest layout, start info, vCPU state."""

from keel.builder.image import DomainImage, build_image
from keel.builder.kernel import KernelImage, load_kernel

__all__ = ["DomainImage", "KernelImage", "build_image", "load_kernel"]
