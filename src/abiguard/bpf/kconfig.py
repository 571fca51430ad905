"""`__kconfig` externs: libbpf fills CONFIG_* from the kernel's config file, which BTF does not hold.

LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE and LINUX_HAS_SYSCALL_WRAPPER are libbpf's own; a weak
extern it cannot fill reads as zero; a strong CONFIG_* one needs the option in the kernel's config.
"""

from __future__ import annotations

from ..model import Kind
from .findings import Check, LoadFinding, Outcome
from .objfile import BpfObject

_VIRTUAL = frozenset({"LINUX_KERNEL_VERSION", "LINUX_HAS_BPF_COOKIE", "LINUX_HAS_SYSCALL_WRAPPER"})


def kconfig_findings(obj: BpfObject) -> list[LoadFinding]:
    """What every kernel's BTF leaves open (or libbpf refuses outright) about the object's `.kconfig` externs."""
    g = obj.btf
    weak = obj.parts.weak_externs()
    out = []
    for sec in (i for i in g.ids_named(".kconfig") if g[i].kind == Kind.DATASEC):
        for sv in g[sec].vars:
            name = g[sv.type].name
            if name in _VIRTUAL or name in weak:
                continue
            if name.startswith("CONFIG_"):
                out.append(LoadFinding(Check.KCONFIG, Outcome.UNKNOWN, ".kconfig", name,
                                       "libbpf reads it from the kernel's config, which BTF does not hold"))
            else:
                out.append(LoadFinding(Check.KCONFIG, Outcome.FAILS, ".kconfig", name,
                                       "libbpf knows no such virtual extern (only CONFIG_* and its LINUX_* ones)"))
    return out
