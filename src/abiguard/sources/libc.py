"""Which libc headers a target's C headers are read with: the `ziglang` wheel's glibc (else musl), or
directories the user names (`--libc-include`).

Only zig's libc directories are used (`<arch>-linux-gnu` + `generic-glibc`, or `<arch>-linux-musl` +
`generic-musl`), never its `*-linux-any` copies of the Linux headers: they come after the source's own
include directories and after our freestanding headers, so a kernel tree's UAPI always wins.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import AbiguardError
from ..model import Target

# zig's directory names per target, newest layout first (zig 0.14+ shares one glibc directory per CPU
# family, e.g. x86-linux-gnu for x86_64 and i386). musl has no sparc port.
_GLIBC_DIRS: dict[str, tuple[str, ...]] = {
    "x86_64": ("x86-linux-gnu", "x86_64-linux-gnu"),
    "i386": ("x86-linux-gnu", "i386-linux-gnu"),
    "aarch64": ("aarch64-linux-gnu",),
    "arm": ("arm-linux-gnu", "arm-linux-gnueabihf"),
    "s390x": ("s390x-linux-gnu",),
    "ppc64le": ("powerpc-linux-gnu", "powerpc64le-linux-gnu"),
    "ppc64": ("powerpc-linux-gnu", "powerpc64-linux-gnu"),
    "ppc": ("powerpc-linux-gnu", "powerpc-linux-gnueabihf"),
    "riscv64": ("riscv-linux-gnu", "riscv64-linux-gnu"),
    "riscv32": ("riscv-linux-gnu", "riscv32-linux-gnu"),
    "mips": ("mips-linux-gnu", "mips-linux-gnueabihf"),
    "mipsel": ("mips-linux-gnu", "mipsel-linux-gnueabihf"),
    "mips64el": ("mips-linux-gnu", "mips64el-linux-gnuabi64"),
    "loongarch64": ("loongarch-linux-gnu", "loongarch64-linux-gnu"),
    "sparc64": ("sparc-linux-gnu", "sparc64-linux-gnu"),
}
_MUSL_DIRS: dict[str, tuple[str, ...]] = {
    "x86_64": ("x86_64-linux-musl",),
    "i386": ("x86-linux-musl", "i386-linux-musl"),
    "aarch64": ("aarch64-linux-musl",),
    "arm": ("arm-linux-musl", "arm-linux-musleabihf"),
    "s390x": ("s390x-linux-musl",),
    "ppc64le": ("powerpc64-linux-musl", "powerpc64le-linux-musl"),
    "ppc64": ("powerpc64-linux-musl",),
    "ppc": ("powerpc-linux-musl", "powerpc-linux-musleabihf"),
    "riscv64": ("riscv64-linux-musl",),
    "riscv32": ("riscv32-linux-musl",),
    "mips": ("mips-linux-musl", "mips-linux-musleabihf"),
    "mipsel": ("mips-linux-musl", "mipsel-linux-musleabihf"),
    "mips64el": ("mips64-linux-musl", "mips64el-linux-musl"),
    "loongarch64": ("loongarch64-linux-musl",),
}

# Files a libc's headers include that zig leaves out for some of our targets (glibc's ppc64 ELFv1
# stubs list): searched after the libc, so a complete libc's own copies win. See the README there.
GAP_FILL = Path(__file__).resolve().parents[1] / "data" / "libc-gaps"

INSTALL_HINT = "pip install 'abiguard[libc]', or pass --libc-include DIR"
HELP = ("glibc headers from the ziglang wheel (pip install 'abiguard[libc]') for every arch it has them for, "
        "musl's otherwise")


@dataclass(frozen=True)
class LibcHeaders:
    """One target's libc include directories (searched in order, after everything else) and how to
    describe them; `defines` are what those headers expect from the compiler driver."""

    kind: str  # "glibc", "musl" or "libc" (directories the user named)
    dirs: tuple[Path, ...]
    description: str
    defines: tuple[str, ...] = ()

    def has(self, name: str) -> bool:
        """True when `#include <name>` is found in these directories."""
        return _has(self.dirs, name)


@functools.lru_cache(maxsize=4096)
def _has(dirs: tuple[Path, ...], name: str) -> bool:
    return any((d / name).is_file() for d in dirs)


def libc_for(target: Target, given: Sequence[Path] = ()) -> LibcHeaders | None:
    """The libc headers to read `target`'s sources with: `given` directories when there are any, else
    zig's glibc for the target, else zig's musl; None when there is none (no ziglang installed)."""
    if given:
        dirs = tuple(Path(d).resolve() for d in given)
        for d in dirs:
            if not d.is_dir():
                raise AbiguardError(d, "no such directory (--libc-include)")
        return LibcHeaders("libc", (*dirs, GAP_FILL), f"--libc-include {' '.join(str(d) for d in dirs)}")
    zig = _zig_libc()
    return None if zig is None else zig_libc_for(target, *zig)


def zig_libc_for(target: Target, root: Path, version: str) -> LibcHeaders | None:
    """The libc headers of a ziglang wheel's lib/libc/include (`root`) for `target`: glibc's where zig
    has them and knows their release, else musl's, else None."""
    glibc = _first(root, _GLIBC_DIRS.get(target.name, ()))
    minor = _glibc_minor(root)
    if glibc is not None and minor is not None and (root / "generic-glibc").is_dir():
        # zig's glibc headers leave __GLIBC_MINOR__ to the driver; we read the newest release they describe.
        return LibcHeaders("glibc", (root / glibc, root / "generic-glibc", GAP_FILL),
                           f"glibc 2.{minor} (ziglang {version}: {glibc}, generic-glibc)",
                           (f"__GLIBC_MINOR__={minor}",))
    musl = _first(root, _MUSL_DIRS.get(target.name, ()))
    if musl is not None and (root / "generic-musl").is_dir():
        return LibcHeaders("musl", (root / musl, root / "generic-musl", GAP_FILL),
                           f"musl (ziglang {version}: {musl}, generic-musl)")
    return None


def _first(root: Path, names: Sequence[str]) -> str | None:
    return next((n for n in names if (root / n).is_dir()), None)


@functools.cache
def _zig_libc() -> tuple[Path, str] | None:
    """(lib/libc/include of the installed ziglang wheel, its version), None when not installed."""
    try:
        spec = importlib.util.find_spec("ziglang")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        root = Path(location) / "lib" / "libc" / "include"
        if root.is_dir():
            try:
                version = importlib.metadata.version("ziglang")
            except importlib.metadata.PackageNotFoundError:
                version = "?"
            return root, version
    return None


@functools.cache
def _glibc_minor(include_root: Path) -> int | None:
    """The newest glibc 2.x release zig's glibc headers describe: the last version of its abilists file
    (lib count, NUL-terminated lib names, version count, then (major, minor, patch) bytes)."""
    try:
        data = (include_root.parent / "glibc" / "abilists").read_bytes()
        at = 1
        for _ in range(data[0]):
            at = data.index(b"\0", at) + 1
        count = data[at]
        major, minor = data[at + 3 * count - 2], data[at + 3 * count - 1]
    except (OSError, IndexError, ValueError):
        return None
    return minor if major == 2 and count > 0 else None
