"""Check 5: map types and flags of BTF-defined maps (`.maps`), and the global-data maps libbpf creates.

A BTF-defined map is a VAR in the `.maps` DATASEC whose struct encodes numbers as pointers to arrays
(`int (*type)[BPF_MAP_TYPE_HASH]`). Map types must be in the kernel's enum bpf_map_type, every set flag
bit in the enum that holds BPF_F_NO_PREALLOC. `.rodata`/`.data`/`.bss` become ARRAY maps frozen with
BPF_F_RDONLY_PROG and mapped with BPF_F_MMAPABLE; a kernel whose flag enum lacks them has no global data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import COMPOSITE_KINDS, Kind, TypeGraph
from .findings import Check, EnumRef, LoadFinding, Outcome, enum_name
from .kfacts import KernelFacts
from .objfile import BpfObject

MAP_ENUM, MAP_PREFIX = "bpf_map_type", "BPF_MAP_TYPE_"
FLAG_ANCHOR = "BPF_F_NO_PREALLOC"
GLOBAL_DATA_FLAG = "BPF_F_RDONLY_PROG"


@dataclass(frozen=True, slots=True)
class MapDef:
    name: str  # `cgrp_map`, `outer.values` for an inner map template
    map_type: int | None
    flags: int


def map_defs(obj: BpfObject) -> list[MapDef]:
    g = obj.btf
    out: list[MapDef] = []
    for sec in (i for i in g.ids_named(".maps") if g[i].kind == Kind.DATASEC):
        for sv in g[sec].vars:
            var = g[sv.type]
            if var.kind == Kind.VAR:
                _collect(g, var.name, var.ref, out)
    return out


def _collect(g: TypeGraph, name: str, type_id: int, out: list[MapDef]) -> None:
    t = g[g.strip(type_id)]
    if t.kind not in COMPOSITE_KINDS:
        return
    fields = {m.name: m.type for m in t.members}
    out.append(MapDef(name, _number(g, fields.get("type")), _number(g, fields.get("map_flags")) or 0))
    inner = fields.get("values")
    if inner is not None:
        arr = g[g.strip(inner)]
        if arr.kind == Kind.ARRAY:
            ptr = g[g.strip(arr.ref)]
            if ptr.kind == Kind.PTR:
                _collect(g, f"{name}.values", ptr.ref, out)


def _number(g: TypeGraph, type_id: int | None) -> int | None:
    """`__uint(name, N)` is `int (*name)[N]`: N is the array's element count."""
    if type_id is None:
        return None
    ptr = g[g.strip(type_id)]
    if ptr.kind != Kind.PTR:
        return None
    arr = g[g.strip(ptr.ref)]
    return arr.nelems if arr.kind == Kind.ARRAY else None


def check_maps(obj: BpfObject, maps: list[MapDef], facts: KernelFacts) -> list[LoadFinding]:
    out = []
    types = facts.enum(MAP_ENUM)
    for m in maps:
        if m.map_type is not None:
            name = enum_name(types, m.map_type, MAP_PREFIX)
            ref = EnumRef(MAP_ENUM, m.map_type, MAP_PREFIX)
            if types is None:
                out.append(_finding(m, Outcome.UNKNOWN, "the kernel BTF has no enum bpf_map_type", ref))
            elif name is None:
                message = f"map type {ref.unnamed} is not in this kernel's enum bpf_map_type"
                out.append(_finding(m, Outcome.FAILS, message, ref))
        if m.flags:
            flags = facts.enum_holding(FLAG_ANCHOR)
            if flags is None:
                out.append(_finding(m, Outcome.UNKNOWN, f"map flags {m.flags:#x}: the kernel BTF has no map flag enum"))
                continue
            known = 0
            for v in flags.values():
                known |= v
            unknown = m.flags & ~known
            if unknown:
                message = f"map flag bits {unknown:#x} are not in this kernel's BPF_F_* map flags"
                out.append(_finding(m, Outcome.FAILS, message))
    return out


def check_global_data(obj: BpfObject, facts: KernelFacts) -> list[LoadFinding]:
    sections = sorted(obj.parts.data_sections)
    if not sections:
        return []
    flags = facts.enum_holding(FLAG_ANCHOR)
    if flags is not None and GLOBAL_DATA_FLAG in flags:
        return []
    if flags is None:
        outcome, message = Outcome.UNKNOWN, "the kernel BTF has no map flag enum to show global data support"
    else:
        outcome, message = Outcome.FAILS, f"the kernel has no {GLOBAL_DATA_FLAG}: no global data maps"
    return [LoadFinding(Check.GLOBAL_DATA, outcome, s, s, message) for s in sections]


def _finding(m: MapDef, outcome: Outcome, message: str, ref: EnumRef | None = None) -> LoadFinding:
    return LoadFinding(Check.MAP, outcome, ".maps", m.name, message, ref=ref)
