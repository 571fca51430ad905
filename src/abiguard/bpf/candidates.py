"""Candidate lookup: target types with the local type's kind and essential name (flavor suffix stripped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..model import Type, TypeGraph
from .compat import essential_name, kinds_compat


class KernelModules(Protocol):
    """A kernel's modules as the checks ask for them (modules.ModuleSet)."""

    complete: bool  # every module of the kernel, or only the loaded ones (/sys)

    def kernel(self, module: str) -> TargetKernel | None: ...

    def holding(self, name: str) -> list[tuple[str, TargetKernel]]: ...


@dataclass
class TargetKernel:
    """One target BTF with what candidate search needs."""

    name: str
    graph: TypeGraph
    strings: bytes  # the string section (base strings first for split BTF)
    split_start: int = 0  # first module type id for split BTF, 0 for a whole kernel BTF
    names: dict[str, list[int]] = field(default_factory=dict)  # essential name -> ids, filled on demand
    memo: dict[str, object] = field(default_factory=dict, repr=False)  # per-kernel look-ups of other checks
    modules: KernelModules | None = None  # the kernel's modules, when its package or /sys has them


def ids_with_essential_name(kernel: TargetKernel, ess: str) -> list[int]:
    """Ids of every target type whose essential name is `ess`: `ess` itself and any `ess___flavor`.

    Flavored names are found by searching the string section, so no type needs decoding.
    """
    cached = kernel.names.get(ess)
    if cached is not None:
        return cached
    graph, strings = kernel.graph, kernel.strings
    names = {ess}
    key = b"\0" + ess.encode("utf-8", "surrogateescape") + b"___"
    pos = strings.find(key)
    while pos >= 0:
        end = strings.find(b"\0", pos + 1)
        full = strings[pos + 1 : end if end >= 0 else len(strings)].decode("utf-8", "surrogateescape")
        if essential_name(full) == ess:
            names.add(full)
        pos = strings.find(key, pos + 1)
    ids = sorted({i for n in names for i in graph.ids_named(n)})
    kernel.names[ess] = ids
    return ids


def find_candidates(local: Type, kernel: TargetKernel) -> list[int]:
    """bpf_core_find_cands: matching ids in base (vmlinux) BTF; module (split) types only if base has none."""
    named = ids_with_essential_name(kernel, essential_name(local.name))
    ids = [i for i in named if kinds_compat(kernel.graph[i], local)]
    if kernel.split_start:
        base = [i for i in ids if i < kernel.split_start]
        return base or [i for i in ids if i >= kernel.split_start]
    return ids
