"""Readers: turn a source spec (BTF, ELF, headers, kernel tree) into TypeGraphs, one per target."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AbiguardError
from ..fileio import BTF_MAGICS, ELF_MAGIC, read_file, read_magic
from ..model import Target, TypeGraph
from .options import SourceOptions

if TYPE_CHECKING:
    from .btf.memo import ParseMemo

__all__ = ["SourceOptions", "load_source"]

DEFAULT_BTF = Path("/sys/kernel/btf/vmlinux")
_MAX_KERNEL_FILE = 2 << 30  # the largest kernel packages are ~100 MB


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
    from .shipped import is_module_file, is_shipped

    head = read_magic(path, 1024)
    if magic[:2] in BTF_MAGICS or magic == ELF_MAGIC or is_shipped(head) or is_module_file(path.name):
        if len(targets) > 1:
            raise AbiguardError(path, "a BTF source describes one architecture; ask for at most one")
        target = targets[0] if targets else None
        from .btf.memo import ParseMemo

        memo = ParseMemo() if options.use_cache else None
        base = _read_kernel_btf(options.base, None, target, memo) if options.base is not None else None
        return [_read_kernel_btf(path, base, target, memo)]
    raise AbiguardError(
        path, "not a BTF file, ELF object, kernel image or package, snapshot, C header, directory or kernel: source"
    )


def _read_kernel_btf(path: Path, base: TypeGraph | None, target: Target | None, memo: ParseMemo | None) -> TypeGraph:
    """BTF from a raw/ELF file, a kernel image or package (its vmlinux), or a module (.ko[.xz], split on base)."""
    from .btf.reader import parse_btf, read_btf_file
    from .shipped import is_module_file, is_shipped, module_btf, read_shipped

    path = Path(path)
    if not path.exists():
        raise AbiguardError(path, "no such file or directory")
    head = read_magic(path, 1024)
    if is_module_file(path.name) and head[:4] != ELF_MAGIC:
        return parse_btf(module_btf(read_file(path, _MAX_KERNEL_FILE), str(path)), str(path), base, target).graph
    if not is_shipped(head):
        return read_btf_file(path, base=base, target=target, memo=memo)
    shipped = read_shipped(path, read_file(path, _MAX_KERNEL_FILE, ", too large for a kernel image or package"))
    if target is not None and shipped.target is not None and target.name != shipped.target.name:
        raise AbiguardError(path, f"the kernel is for {shipped.target.name}, not {target.name}")
    return parse_btf(shipped.btf, str(path), base, target or shipped.target, memo=memo).graph
