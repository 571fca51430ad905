"""Kernels as shipped: compressed images (vmlinuz), distro packages (.deb) and module files (.ko[.xz]).

`read_shipped` turns any of them into the vmlinux BTF blob plus what the file says of its kernel;
`package_module_btfs` gives a package's modules' split BTF, for when a check needs a module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import AbiguardError
from ...model.target import TARGETS, Target
from .ident import KernelIdentity, from_deb_name, from_file_name

# The readers (tar, decompressors, ELF, images) are imported where they are used: KernelIdentity is imported
# by reports and fleet queries, which read no kernel file.

__all__ = ["ShippedBtf", "is_module_file", "is_shipped", "module_btf", "package_module_btfs", "read_shipped"]

_MAX_MODULE = 256 << 20


@dataclass(frozen=True, slots=True)
class ShippedBtf:
    """The vmlinux BTF of a shipped kernel file, its target and identity, and how it was found."""

    btf: bytes
    target: Target | None
    identity: KernelIdentity
    form: str


def is_shipped(data: bytes) -> bool:
    """Is this a kernel package or kernel image (not already raw BTF or an ELF file)?"""
    from .deb import is_deb
    from .image import is_kernel_image

    return is_deb(data) or (data[:4] != b"\x7fELF" and is_kernel_image(data))


def read_shipped(path: Path, data: bytes) -> ShippedBtf:
    """vmlinux BTF from a .deb or a kernel image; the file's name adds what the image does not say."""
    from .deb import is_deb, kernel_image
    from .image import btf_from_image

    where = str(path)
    if is_deb(data):
        member, image = kernel_image(data, where)
        found = btf_from_image(image, f"{where}:{member}")
        identity = from_deb_name(path.name).merged(found.identity)
        form = f"package {member} -> {found.form}"
    else:
        found = btf_from_image(data, where)
        identity = found.identity.merged(from_file_name(path.name))
        form = found.form
    target = found.target or (TARGETS.get(identity.arch) if identity.arch else None)
    return ShippedBtf(found.btf, target, identity, form)


def is_module_file(name: str) -> bool:
    """A kernel module file by its name: .ko, or .ko.xz/.ko.zst/.ko.gz as distros compress them."""
    return name.endswith((".ko", ".ko.xz", ".ko.zst", ".ko.gz"))


def module_btf(data: bytes, where: str) -> bytes:
    """The split .BTF of one kernel module file (.ko, or .ko.xz/.zst/.gz); none is an AbiguardError."""
    from ..btf.elf import read_elf_bytes
    from .decompress import compression_of, decompress

    if compression_of(data) is not None:
        data = decompress(data, where, _MAX_MODULE)
    sec = read_elf_bytes(data, where, (".BTF",)).sections.get(".BTF")
    if sec is None:
        raise AbiguardError(where, "module has no .BTF section (built without CONFIG_DEBUG_INFO_BTF_MODULES?)")
    return sec.data


def package_module_btfs(path: Path, data: bytes) -> dict[str, bytes]:
    """Module name -> split .BTF of every module in a kernel package that has BTF (sorted by name)."""
    from ..btf.elf import read_elf_bytes
    from .deb import kernel_modules

    out: dict[str, bytes] = {}
    for name, ko in kernel_modules(data, str(path)):
        sec = read_elf_bytes(ko, f"{path}:{name}", (".BTF",)).sections.get(".BTF")
        if sec is not None:
            out[name] = sec.data
    return dict(sorted(out.items()))
