"""Readers: turn a source spec (BTF, ELF, headers, kernel tree) into TypeGraphs, one per target."""

from __future__ import annotations

from pathlib import Path

from ..errors import AbiguardError
from ..fileio import BTF_MAGICS, ELF_MAGIC, read_magic
from ..model import Target, TypeGraph
from .options import SourceOptions

__all__ = ["SourceOptions", "load_source"]

DEFAULT_BTF = Path("/sys/kernel/btf/vmlinux")


def load_source(spec: str | None, targets: list[Target], options: SourceOptions | None = None) -> list[TypeGraph]:
    """TypeGraphs for `spec`: one per requested target (BTF carries its own, single target)."""
    options = options or SourceOptions()
    if spec is None:
        spec = str(DEFAULT_BTF)
        if not DEFAULT_BTF.exists():
            raise AbiguardError(DEFAULT_BTF, "no source given and this kernel exposes no BTF")
    if spec.startswith("kernel:"):
        from .kernel import read_kernel

        return read_kernel(spec, targets, options)
    path = Path(spec)
    if not path.exists():
        raise AbiguardError(path, "no such file or directory")
    if path.is_dir() or path.suffix in (".h", ".hpp"):
        from .clang.headers import read_headers

        return read_headers([path], targets, options)
    magic = read_magic(path)
    from .snapshot import is_snapshot, read_snapshot

    if is_snapshot(path):
        return read_snapshot(path, targets)
    if magic[:2] in BTF_MAGICS or magic == ELF_MAGIC:
        from .btf.reader import read_btf_file

        if len(targets) > 1:
            raise AbiguardError(path, "a BTF source describes one architecture; pass at most one --arch")
        base = None
        if options.base is not None:
            base = read_btf_file(options.base, target=targets[0] if targets else None)
        return [read_btf_file(path, base=base, target=targets[0] if targets else None)]
    raise AbiguardError(path, "not a BTF file, ELF object, snapshot, C header, directory or kernel: source")
