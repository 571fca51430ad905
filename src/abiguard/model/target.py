"""Targets: the CPU architectures abiguard knows, with the facts layout depends on."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import UnknownName


@dataclass(frozen=True, slots=True)
class Target:
    """One architecture/ABI: the name used everywhere, its clang triple and its data model."""

    name: str
    triple: str
    pointer_size: int
    endian: str  # "little" | "big"
    kernel_arch: str  # directory under arch/ in a kernel tree
    gcc_prefix: str | None = None  # Debian cross-compiler prefix, for oracle tests
    max_int_align: int = 8  # i386 aligns 8-byte scalars to 4 inside structs

    @property
    def big_endian(self) -> bool:
        return self.endian == "big"

    def scalar_align(self, size: int) -> int:
        """Alignment the target's C ABI gives a scalar of this size inside a struct."""
        if size <= 0:
            return 1
        align = 1
        while align < size and align < 16:
            align *= 2
        return min(align, self.max_int_align) if size >= 8 else align


_TARGETS: tuple[Target, ...] = (
    Target("x86_64", "x86_64-linux-gnu", 8, "little", "x86", "x86_64-linux-gnu"),
    Target("i386", "i386-linux-gnu", 4, "little", "x86", "i686-linux-gnu", max_int_align=4),
    Target("aarch64", "aarch64-linux-gnu", 8, "little", "arm64", "aarch64-linux-gnu"),
    Target("arm", "arm-linux-gnueabihf", 4, "little", "arm", "arm-linux-gnueabihf"),
    Target("s390x", "s390x-linux-gnu", 8, "big", "s390", "s390x-linux-gnu"),
    Target("ppc64le", "powerpc64le-linux-gnu", 8, "little", "powerpc", "powerpc64le-linux-gnu"),
    Target("ppc64", "powerpc64-linux-gnu", 8, "big", "powerpc", "powerpc64-linux-gnu"),
    Target("ppc", "powerpc-linux-gnu", 4, "big", "powerpc", "powerpc-linux-gnu"),
    Target("riscv64", "riscv64-linux-gnu", 8, "little", "riscv", "riscv64-linux-gnu"),
    Target("riscv32", "riscv32-linux-gnu", 4, "little", "riscv", None),
    Target("mips", "mips-linux-gnu", 4, "big", "mips", "mips-linux-gnu"),
    Target("mipsel", "mipsel-linux-gnu", 4, "little", "mips", "mipsel-linux-gnu"),
    Target("mips64el", "mips64el-linux-gnuabi64", 8, "little", "mips", "mips64el-linux-gnuabi64"),
    Target("loongarch64", "loongarch64-linux-gnu", 8, "little", "loongarch", "loongarch64-linux-gnu"),
    Target("sparc64", "sparc64-linux-gnu", 8, "big", "sparc", "sparc64-linux-gnu"),
)

# BTF produced by `clang -target bpf|bpfeb` belongs to no CPU arch; these name it.
_BPF_TARGETS: tuple[Target, ...] = (
    Target("bpfel", "bpfel", 8, "little", "bpf"),
    Target("bpfeb", "bpfeb", 8, "big", "bpf"),
)

TARGETS: dict[str, Target] = {t.name: t for t in _TARGETS + _BPF_TARGETS}
ALL_ARCHES: tuple[str, ...] = tuple(t.name for t in _TARGETS)

ALIASES: dict[str, str] = {
    "arm64": "aarch64",
    "s390": "s390x",
    "x86": "x86_64",
    "x86-64": "x86_64",
    "amd64": "x86_64",
    "i686": "i386",
    "i586": "i386",
    "x86_32": "i386",
    "powerpc": "ppc64le",
    "powerpc64le": "ppc64le",
    "powerpc64": "ppc64",
    "riscv": "riscv64",
    "loongarch": "loongarch64",
    "sparc": "sparc64",
    "armhf": "arm",
    "bpf": "bpfel",
}

# Known arches sort in the model's order (64-bit first, as a kernel person lists them); others by name.
_ARCH_RANK = {name: i for i, name in enumerate((*ALL_ARCHES, *sorted(set(TARGETS) - set(ALL_ARCHES))))}


def arch_sort_key(arch: str) -> tuple[int, str]:
    """Stable arch order: the model's list first, unknown names after, alphabetically."""
    return (_ARCH_RANK.get(arch, len(_ARCH_RANK)), arch)


def sort_arches(arches: Iterable[str]) -> tuple[str, ...]:
    """Distinct arch names in display order."""
    return tuple(sorted(set(arches), key=arch_sort_key))


# Kernel ARCH directory -> every arch name its UAPI serves.
KERNEL_ARCHES: dict[str, tuple[str, ...]] = {}
for _t in _TARGETS:
    KERNEL_ARCHES.setdefault(_t.kernel_arch, ())
    KERNEL_ARCHES[_t.kernel_arch] += (_t.name,)


def get_target(name: str) -> Target:
    """The Target for an arch name or alias; unknown names are a user error."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    try:
        return TARGETS[key]
    except KeyError:
        known = ", ".join(ALL_ARCHES)
        raise UnknownName("architecture", f"unknown architecture '{name}' (known: {known})") from None


def parse_arch_list(spec: str | Iterable[str] | None) -> list[Target]:
    """Targets for `--arch`: one name, a comma list, `all`, or repeated options; order kept, no dups."""
    if spec is None:
        return []
    items = [spec] if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            if part.lower() == "all":
                names.extend(ALL_ARCHES)
            else:
                names.append(get_target(part).name)
    return [TARGETS[n] for n in dict.fromkeys(names)]


def host_target() -> Target:
    """The machine abiguard runs on, used for the running kernel's BTF."""
    machine = platform.machine().lower()
    return get_target({"ppc64le": "ppc64le", "armv7l": "arm", "x86_64": "x86_64"}.get(machine, machine))
