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
from dataclasses import dataclass, field

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


_ENUMS = (Kind.ENUM, Kind.ENUM64)
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
class ModuleRows:
    """One module of a kernel: its own types (split BTF after vmlinux's ids) as hashes, in id order."""

    name: str
    types: int  # own types; own type i (from 0) has id split_start + i
    named: list[tuple[int, Hash]]  # (own index + 1, hash) of every named type and enum, ascending
    btf_bytes: int


def slot_key(named: Sequence[tuple[int, Hash]], types: int) -> Hash:
    """What an index keeps of a module (its name aside): modules equal in it share one slot."""
    text = repr((types, tuple(named)))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


@dataclass
class KernelRows:
    """What one kernel adds to an index: its records (post-order, first use) and its name table."""

    meta: dict[str, object]
    type_count: int  # ids 1..type_count-1 are the kernel's types
    records: list[tuple[Hash, Record]]
    named: list[tuple[int, Hash]]  # (type id, hash) of every named type and enum, ascending ids
    modules: list[ModuleRows] = field(default_factory=list)  # in module-name order; their records are in `records`


def _is_named(t: Type) -> bool:
    # Anonymous enums too: load checks find UAPI flag enums by an enumerator's name.
    return bool(t.name) or t.kind in _ENUMS


class TypeHasher:
    """Hashes of a kernel's types, strong and weak, each record emitted once in post-order; a module's
    split BTF is hashed on top (its types refer to vmlinux's by id) and then dropped again."""

    def __init__(self, graph: TypeGraph) -> None:
        self.types: list[Type] = []
        self.kinds: list[Kind] = []
        self.fields: list[tuple[tuple[int, ...], tuple[str, ...], tuple[int, ...]]] = []
        self.strong: list[Hash | None] = []
        self.weak: list[Hash | None] = []
        self.emitted: set[Hash] = set()
        self._append(list(graph.types))  # decoded and checked once (the BTF reader validates as it hands out)
        self.strong[0] = self.weak[0] = VOID_HASH

    def _append(self, types: list[Type]) -> None:
        self.types += types
        self.kinds += [t.kind for t in types]
        self.fields += [own_fields(t) for t in types]
        self.strong += [None] * len(types)
        self.weak += [None] * len(types)

    def kernel(self, meta: dict[str, object]) -> KernelRows:
        """Every type of the kernel hashed; records appear after everything they refer to."""
        out: list[tuple[Hash, Record]] = []
        n = len(self.types)
        self._hash(range(1, n), out)
        named = [(tid, self.strong[tid]) for tid in range(1, n) if _is_named(self.types[tid])]
        return KernelRows(meta, n, out, named)  # type: ignore[arg-type]

    def module(self, name: str, split: TypeGraph, btf_bytes: int, out: list[tuple[Hash, Record]]) -> ModuleRows:
        """A module's own types (ids from this kernel's type count on), their new records added to `out`."""
        first, count = len(self.types), len(split) - len(self.types)
        self._append([split[tid] for tid in range(first, len(split))])
        try:
            self._hash(range(first, len(self.types)), out)
            named = [(tid - first + 1, self.strong[tid]) for tid in range(first, len(self.types))
                     if _is_named(self.types[tid])]
        finally:
            # vmlinux's weak forms found on the way stay: they are vmlinux's, whatever the module
            for column in (self.types, self.kinds, self.fields, self.strong, self.weak):
                del column[first:]
        return ModuleRows(name, count, named, btf_bytes)  # type: ignore[arg-type]

    def _make(self, tid: int, is_weak: bool, out: list[tuple[Hash, Record]]) -> Hash:
        t = self.types[tid]
        kind = self.kinds[tid]
        if is_weak and kind not in _WEAK_THROUGH:
            ints: tuple[int, ...] = ()
            names: tuple[str, ...] = ()
            refs: tuple[Hash, ...] = ()
        else:
            ints, names, ids = self.fields[tid]
            table = self.weak if is_weak or kind == Kind.PTR else self.strong
            refs = tuple(table[r] for r in ids)  # type: ignore[misc]
        h = record_hash(int(kind), is_weak, t.kind_flag, t.name, ints, names, refs)
        if h not in self.emitted:
            self.emitted.add(h)
            out.append((h, Record(int(kind), is_weak, t.kind_flag, t.name, ints, names, refs)))
        return h

    def _hash(self, roots: range, out: list[tuple[Hash, Record]]) -> None:
        kinds, fields, strong, weak, types = self.kinds, self.fields, self.strong, self.weak, self.types
        for root in roots:
            if strong[root] is not None:
                continue
            # Iterative post-order: by-value nesting is bounded, but a kernel holds 100k+ types.
            stack: list[tuple[int, bool, bool]] = [(root, False, False)]
            while stack:
                tid, is_weak, expanded = stack.pop()
                kind = kinds[tid]
                if is_weak and kind in _SELF_WEAK:
                    is_weak = False
                table = weak if is_weak else strong
                if table[tid] is not None:
                    continue
                if not expanded:
                    stack.append((tid, is_weak, True))
                    if is_weak:
                        refs, ref_table, ref_weak = (fields[tid][2] if kind in _WEAK_THROUGH else ()), weak, True
                    elif kind == Kind.PTR:
                        refs, ref_table, ref_weak = (types[tid].ref,), weak, True
                    else:
                        refs, ref_table, ref_weak = fields[tid][2], strong, False
                    for r in reversed(refs):
                        if ref_table[r] is None:
                            stack.append((r, ref_weak, False))
                    continue
                h = table[tid] = self._make(tid, is_weak, out)
                if kind in _SELF_WEAK:
                    weak[tid] = h


def kernel_rows(graph: TypeGraph, meta: dict[str, object]) -> KernelRows:
    """Hash every type of one kernel; records appear after everything they refer to."""
    return TypeHasher(graph).kernel(meta)
