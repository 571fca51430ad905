"""The options every reader accepts; each reader uses the ones that concern it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceOptions:
    """Options shared by every reader; each reader uses the ones that concern it."""

    include_dirs: tuple[Path, ...] = ()
    libc_include: tuple[Path, ...] = ()  # libc header directories; none: the ziglang wheel's, if installed
    defines: tuple[str, ...] = ()
    base: Path | None = None  # base BTF for split (module) BTF
    use_cache: bool = True
    progress: bool = False  # a progress bar is wanted (stderr is a terminal)
