"""One kernel's types as id-free records, keyed by a structural hash, in a deterministic order.

A record holds a type's own content; references are the referents' hashes. Edges that C can only close
into a cycle through a pointer are cut at the pointer: a PTR refers to the *weak* form of its pointee,
in which structs, unions and forwards are known by kind and name alone, and typedefs, modifiers, arrays
and prototypes refer to weak forms again. That is exactly what CO-RE matching and the load checks read
behind a pointer (libbpf never follows a pointer into members), so two kernels whose candidate types
hash equal resolve every relocation the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ...model import COMPOSITE_KINDS, Kind, Type, TypeGraph

Hash = bytes  # 16-byte blake2b digest; b"" stands for void
VOID_HASH: Hash = b""


@dataclass(frozen=True, slots=True)
class Record:
    """A type without ids: `refs` are referents' hashes, `ints`/`names` the kind's own fields."""

    kind: int
    weak: bool
    kind_flag: bool
    name: str
    ints: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    refs: tuple[Hash, ...] = ()

    def digest(self) -> Hash:
        return record_hash(self.kind, self.weak, self.kind_flag, self.name, self.ints, self.names, self.refs)


def record_hash(
    kind: int, weak: bool, kind_flag: bool, name: str, ints: Sequence[int], names: Sequence[str], refs: Sequence[Hash]
) -> Hash:
    text = repr((kind, weak, kind_flag, name, tuple(ints), tuple(names), tuple(refs)))
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).digest()


# Kinds whose weak form is the type itself: they refer to nothing, or (PTR) already refer weakly.
_SELF_WEAK = frozenset({Kind.VOID, Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.ENUM64, Kind.FWD, Kind.PTR})
# Kinds whose weak form refers to weak forms; every other kind is opaque (kind and name) behind a pointer.
_WEAK_THROUGH = frozenset(
    {Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG, Kind.ARRAY, Kind.FUNC_PROTO}
)


def own_fields(t: Type) -> tuple[tuple[int, ...], tuple[str, ...], tuple[int, ...]]:
    """(ints, names, referenced ids) of a type, in a fixed order per kind."""
    k = t.kind
    if k == Kind.INT:
        return (t.size, int(t.encoding), t.int_offset, t.int_bits), (), ()
    if k == Kind.FLOAT:
        return (t.size,), (), ()
    if k in COMPOSITE_KINDS:
        ints = [t.size]
        for m in t.members:
            ints += (m.bit_offset, m.bit_size)
        return tuple(ints), tuple(m.name for m in t.members), tuple(m.type for m in t.members)
    if k in (Kind.ENUM, Kind.ENUM64):
        return (t.size, int(t.signed), *(e.value for e in t.enumerators)), tuple(e.name for e in t.enumerators), ()
    if k == Kind.ARRAY:
        return (t.nelems,), (), (t.ref, t.index_type)
    if k == Kind.FUNC_PROTO:
        return (), tuple(p.name for p in t.params), (t.ref, *(p.type for p in t.params))
    if k in (Kind.FUNC, Kind.VAR):
        return (t.linkage,), (), (t.ref,)
    if k == Kind.DATASEC:
        ints = [t.size]
        for v in t.vars:
            ints += (v.offset, v.size)
        return tuple(ints), (), tuple(v.type for v in t.vars)
    if k == Kind.DECL_TAG:
        return (t.component_idx,), (), (t.ref,)
    if k in (Kind.PTR, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG):
        return (), (), (t.ref,)
    return (), (), ()  # VOID, FWD


@dataclass
class KernelRows:
    """What one kernel adds to an index: its records (post-order, first use) and its name table."""

    meta: dict[str, object]
    type_count: int  # ids 1..type_count-1 are the kernel's types
    records: list[tuple[Hash, Record]]
    named: list[tuple[int, Hash]]  # (type id, hash) of every named type, ascending ids


def kernel_rows(graph: TypeGraph, meta: dict[str, object]) -> KernelRows:
    """Hash every type of one kernel; records appear after everything they refer to."""
    types = graph.types
    n = len(types)
    strong: list[Hash | None] = [None] * n
    weak: list[Hash | None] = [None] * n
    strong[0] = weak[0] = VOID_HASH
    out: list[tuple[Hash, Record]] = []
    emitted: set[Hash] = set()
    fields: list[tuple[tuple[int, ...], tuple[str, ...], tuple[int, ...]] | None] = [None] * n

    def fields_of(tid: int) -> tuple[tuple[int, ...], tuple[str, ...], tuple[int, ...]]:
        f = fields[tid]
        if f is None:
            f = fields[tid] = own_fields(types[tid])
        return f

    def deps(tid: int, is_weak: bool) -> tuple[list[int], bool]:
        """Referenced ids and whether they are taken in weak form."""
        t = types[tid]
        if is_weak:
            if t.kind in _WEAK_THROUGH:
                return list(fields_of(tid)[2]), True
            return [], True
        if t.kind == Kind.PTR:
            return [t.ref], True
        return list(fields_of(tid)[2]), False

    def make(tid: int, is_weak: bool) -> Hash:
        t = types[tid]
        if is_weak and t.kind not in _WEAK_THROUGH:
            rec = Record(int(t.kind), True, t.kind_flag, t.name)
        else:
            ints, names, refs = fields_of(tid)
            table = weak if is_weak or t.kind == Kind.PTR else strong
            rec = Record(int(t.kind), is_weak, t.kind_flag, t.name, ints, names, tuple(table[r] for r in refs))  # type: ignore[misc]
        h = rec.digest()
        if h not in emitted:
            emitted.add(h)
            out.append((h, rec))
        return h

    for root in range(1, n):
        if strong[root] is not None:
            continue
        # Iterative post-order: by-value nesting is bounded, but a kernel holds 100k+ types.
        stack: list[tuple[int, bool, bool]] = [(root, False, False)]
        while stack:
            tid, is_weak, expanded = stack.pop()
            if is_weak and types[tid].kind in _SELF_WEAK:
                is_weak = False
            table = weak if is_weak else strong
            if table[tid] is not None:
                continue
            refs, refs_weak = deps(tid, is_weak)
            if not expanded:
                stack.append((tid, is_weak, True))
                ref_table = weak if refs_weak else strong
                for r in reversed(refs):
                    if ref_table[r] is None:
                        stack.append((r, refs_weak, False))
                continue
            table[tid] = make(tid, is_weak)
            if types[tid].kind in _SELF_WEAK:
                weak[tid] = table[tid]
    named = [(tid, strong[tid]) for tid in range(1, n) if types[tid].name]
    return KernelRows(meta, n, out, named)  # type: ignore[arg-type]
