"""Readers: turn a source spec (BTF, ELF, headers, kernel tree) into TypeGraphs, one per target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import AbiguardError
from ..model import Target, TypeGraph

BTF_MAGIC = (b"\x9f\xeb", b"\xeb\x9f")
ELF_MAGIC = b"\x7fELF"
DEFAULT_BTF = Path("/sys/kernel/btf/vmlinux")


@dataclass(frozen=True)
class SourceOptions:
    """Options shared by every reader; each reader uses the ones that concern it."""

    include_dirs: tuple[Path, ...] = ()
    defines: tuple[str, ...] = ()
    base: Path | None = None  # base BTF for split (module) BTF
    use_cache: bool = True
    progress: bool = False  # a progress bar is wanted (stderr is a terminal)


def load_source(spec: str | None, targets: list[Target], options: SourceOptions | None = None) -> list[TypeGraph]:
    """TypeGraphs for `spec`: one per requested target (BTF carries its own, single target)."""
    options = options or SourceOptions()
    if spec is None:
        spec = str(DEFAULT_BTF)
        if not DEFAULT_BTF.exists():
            raise AbiguardError(DEFAULT_BTF, "no source given and this kernel exposes no BTF")
    if spec.startswith("kernel:"):
        from ..kernel import read_kernel

        return read_kernel(spec, targets, options)
    path = Path(spec)
    if not path.exists():
        raise AbiguardError(path, "no such file or directory")
    if path.is_dir() or path.suffix in (".h", ".hpp"):
        from .headers import read_headers

        return read_headers([path], targets, options)
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise AbiguardError(path, e.strerror or str(e)) from None
    from .snapshot import is_snapshot, read_snapshot

    if is_snapshot(path):
        return read_snapshot(path, targets)
    if magic[:2] in BTF_MAGIC or magic == ELF_MAGIC:
        from .btf import read_btf_file

        if len(targets) > 1:
            raise AbiguardError(path, "a BTF source describes one architecture; pass at most one --arch")
        base = None
        if options.base is not None:
            base = read_btf_file(options.base, target=targets[0] if targets else None)
        return [read_btf_file(path, base=base, target=targets[0] if targets else None)]
    raise AbiguardError(path, "not a BTF file, ELF object, snapshot, C header, directory or kernel: source")
