"""Per-graph structural views, memoized: name-based type references, flattened members, signatures.

Types are compared by name, never by id: a member of type `struct foo` refers to `("struct", "foo")`,
so two graphs with different ids compare equal when their declarations do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..model import COMPOSITE_KINDS, ENUM_KINDS, Kind, Type, TypeGraph

Ref = tuple[Any, ...]

_KEYWORD = {Kind.STRUCT: "struct", Kind.UNION: "union", Kind.ENUM: "enum", Kind.ENUM64: "enum"}
_SKIPPED_MODIFIERS = frozenset({Kind.TYPE_TAG})  # btf_type_tag carries no layout and no C-level meaning
_QUALIFIERS = {Kind.CONST: "const", Kind.VOLATILE: "volatile", Kind.RESTRICT: "restrict"}
_STRIPPED = frozenset(_QUALIFIERS) | _SKIPPED_MODIFIERS


@dataclass(frozen=True, slots=True)
class FlatMember:
    """One member as C code reaches it: anonymous members inlined, offsets from the outer type's start."""

    path: str  # "a", "u.b" (named member of anonymous type), "c" (member of an anonymous member)
    bit_offset: int
    bit_size: int  # 0 unless a bitfield
    size: int  # bytes of the member's type
    ref: Ref  # name-based reference to the member's type
    type_id: int
    elem_size: int  # element size for arrays (also flexible ones), else 0
    chain: tuple[str, ...]  # labels of the enclosing aggregates, outermost ("") first; stable across versions
    unions: tuple[bool, ...]  # for each level of `chain`: is that aggregate a union
    index: int  # declaration order

    def coexists(self, other: FlatMember) -> bool:
        """Both can hold values at once: their innermost common aggregate is a struct, not a union."""
        k = 0
        for a, b in zip(self.chain, other.chain, strict=False):
            if a != b:
                break
            k += 1
        return k == 0 or not self.unions[k - 1]


    @property
    def bit_end(self) -> int:
        return self.bit_offset + (self.bit_size or 8 * self.size)

    @property
    def is_bitfield(self) -> bool:
        return self.bit_size != 0


def _int_spelling(name: str) -> str:
    """One spelling per C integer type: gcc says `long unsigned int` where clang says `unsigned long`."""
    words = name.split()
    if len(words) < 2:
        return name
    if "int" in words and ("long" in words or "short" in words):
        words = [w for w in words if w != "int"]
    sign = [w for w in words if w in ("signed", "unsigned")]
    return " ".join(sign + [w for w in words if w not in ("signed", "unsigned")])


class GraphView:
    """Memoized name-based views of one TypeGraph; one instance per graph per comparison."""

    def __init__(self, graph: TypeGraph) -> None:
        self.graph = graph
        # One plain list: every comparison touches every type, and list indexing is the cheapest access.
        # A lazy reader that can check all its records in bulk (BTF) is asked to: cheaper than per id.
        bulk = getattr(graph.types, "validate_all", None)
        if callable(bulk):
            bulk()
        self.types: list[Type] = graph.types if isinstance(graph.types, list) else list(graph.types)
        self._ref: dict[int, Ref] = {}
        self._flat: dict[int, tuple[FlatMember, ...]] = {}
        self._layout: dict[int, Ref] = {}
        self._size: dict[int, int] = {}
        self._typedef_names: dict[int, str] | None = None
        # Ids being described right now, per description: meeting one again means a cycle.
        self._ref_pending: set[int] = set()
        self._layout_pending: set[int] = set()
        self._users: dict[int, list[int]] | None = None

    # --- naming ---------------------------------------------------------------------
    def typedef_names(self) -> dict[int, str]:
        """Anonymous struct/union/enum id -> the first typedef naming it (`typedef struct {..} foo;`)."""
        if self._typedef_names is None:
            names: dict[int, str] = {}
            types = self.types
            for t in types:
                if t.kind == Kind.TYPEDEF and t.name:
                    target = types[t.ref]
                    if (target.kind in COMPOSITE_KINDS or target.kind in ENUM_KINDS) and not target.name:
                        names.setdefault(t.ref, t.name)
            self._typedef_names = names
        return self._typedef_names

    def is_inline_aggregate(self, tid: int) -> bool:
        """True for an anonymous struct/union that no typedef names: it belongs to its parent."""
        t = self.types[tid]
        return t.kind in COMPOSITE_KINDS and not t.name and tid not in self.typedef_names()

    def strip_modifiers(self, tid: int) -> int:
        types = self.types
        seen = 0
        while types[tid].kind in _STRIPPED:
            tid = types[tid].ref
            seen += 1
            if seen > 64:
                break
        return tid

    def size(self, tid: int) -> int:
        cached = self._size.get(tid)
        if cached is None:
            cached = self._size[tid] = self.graph.size_of(tid)
        return cached

    @staticmethod
    def _memoized(cache: dict[int, Ref], pending: set[int], tid: int, compute: Callable[[int], Ref]) -> Ref:
        """`compute(tid)` once per id; a type reached again while being described is a cycle."""
        cached = cache.get(tid)
        if cached is not None:
            return cached
        if tid in pending:
            return ("cycle",)
        pending.add(tid)
        try:
            value = compute(tid)
        finally:
            pending.discard(tid)
        cache[tid] = value
        return value

    # --- references -----------------------------------------------------------------
    def ref(self, tid: int) -> Ref:
        """How a declaration refers to a type: named types by name, anonymous ones spelled out."""
        return self._memoized(self._ref, self._ref_pending, tid, self._compute_ref)

    def _compute_ref(self, tid: int) -> Ref:
        t = self.types[tid]
        k = t.kind
        if k == Kind.VOID:
            return ("void",)
        if k == Kind.INT:
            return ("int", _int_spelling(t.name), t.size, int(t.encoding), t.int_bits)
        if k == Kind.FLOAT:
            return ("float", t.name, t.size)
        if k == Kind.PTR:
            return ("*", self.ref(t.ref))
        if k == Kind.ARRAY:
            return ("[]", t.nelems, self.ref(t.ref))
        if k in _SKIPPED_MODIFIERS:
            return self.ref(t.ref)
        if k in _QUALIFIERS:
            return (_QUALIFIERS[k], self.ref(t.ref))
        if k == Kind.TYPEDEF:
            return ("typedef", t.name)
        if k == Kind.FWD:
            return ("union" if t.kind_flag else "struct", t.name)
        if k in _KEYWORD:
            if t.name:
                return (_KEYWORD[k], t.name)
            named = self.typedef_names().get(tid)
            if named is not None:
                return (_KEYWORD[k], "typedef:" + named)
            if k in ENUM_KINDS:
                return ("anon enum", t.size, t.signed)
            members = tuple((m.name, m.bit_offset, m.bit_size, self.ref(m.type)) for m in t.members)
            return ("anon " + _KEYWORD[k], t.size, members)
        if k == Kind.FUNC_PROTO:
            return ("fn", self.ref(t.ref), tuple(self.ref(p.type) if p.type else ("...",) for p in t.params))
        if k == Kind.FUNC:
            return ("func", t.name)
        return ("other", int(k), t.name)

    # --- members --------------------------------------------------------------------
    def flat(self, tid: int) -> tuple[FlatMember, ...]:
        """Members of a struct/union with anonymous aggregates inlined (as C code names them)."""
        cached = self._flat.get(tid)
        if cached is None:
            out: list[FlatMember] = []
            self._flatten(tid, "", 0, ("",), (self.types[tid].kind == Kind.UNION,), out, 0)
            cached = self._flat[tid] = tuple(out)
        return cached

    def _first_leaf(self, tid: int) -> str:
        """Name of the first named member inside an anonymous aggregate: a label that survives edits around it."""
        for m in self.types[tid].members:
            if m.name:
                return m.name
            inner = self.strip_modifiers(m.type)
            if self.is_inline_aggregate(inner):
                return self._first_leaf(inner)
        return "?"

    def _flatten(self, tid: int, prefix: str, base: int, chain: tuple[str, ...], unions: tuple[bool, ...],
                 out: list[FlatMember], depth: int) -> None:
        g = self.graph
        t = self.types[tid]
        for m in t.members:
            mt = self.strip_modifiers(m.type)
            offset = base + m.bit_offset
            if depth < 32 and self.is_inline_aggregate(mt):
                inner_prefix = f"{prefix}{m.name}." if m.name else prefix
                label = prefix + m.name if m.name else "{" + self._first_leaf(mt) + "}"
                self._flatten(mt, inner_prefix, offset, (*chain, label),
                              (*unions, self.types[mt].kind == Kind.UNION), out, depth + 1)
                continue
            if not m.name:
                continue  # unnamed bitfields are padding: nothing can refer to them
            arr = self.types[g.strip(m.type)]
            elem = self.size(arr.ref) if arr.kind == Kind.ARRAY else 0
            out.append(
                FlatMember(
                    path=prefix + m.name,
                    bit_offset=offset,
                    bit_size=m.bit_size,
                    size=self.size(m.type),
                    ref=self.ref(m.type),
                    type_id=m.type,
                    elem_size=elem,
                    chain=chain,
                    unions=unions,
                    index=len(out),
                )
            )

    # --- signatures -----------------------------------------------------------------
    def signature(self, tid: int) -> Ref:
        """A type's own declaration, by name: equal signatures mean no change of its own.

        The sizes of named types it embeds are not in it; the comparer follows size changes up
        the by-value users instead (see `by_value_users`).
        """
        t = self.types[tid]
        k = t.kind
        if k in COMPOSITE_KINDS:
            ref = self.ref
            members = tuple((m.name, m.bit_offset, m.bit_size, ref(m.type)) for m in t.members)
            return (int(k), t.size, t.align, members)
        if k in ENUM_KINDS:
            return ("enum", t.size, t.signed, tuple((e.name, e.value) for e in t.enumerators))
        if k == Kind.TYPEDEF:
            return ("typedef", self.ref(t.ref))
        if k == Kind.FUNC:
            return ("func", self.ref(t.ref))
        return self.ref(tid)

    def by_value_users(self) -> dict[int, list[int]]:
        """Reverse by-value edges (member, array element, typedef, qualifier): built once, on demand."""
        if self._users is None:
            users: dict[int, list[int]] = {}
            for tid, t in enumerate(self.types):
                k = t.kind
                if k in COMPOSITE_KINDS:
                    for m in t.members:
                        users.setdefault(m.type, []).append(tid)
                elif k == Kind.ARRAY or k == Kind.TYPEDEF or k in _STRIPPED:
                    users.setdefault(t.ref, []).append(tid)
            self._users = users
        return self._users

    def layout(self, tid: int) -> Ref:
        """A name-free description of a type's layout (signedness ignored): equal means binaries agree."""
        return self._memoized(self._layout, self._layout_pending, tid, self._compute_layout)

    def _compute_layout(self, tid: int) -> Ref:
        g = self.graph
        tid = g.strip(tid)
        t = g[tid]
        k = t.kind
        if k == Kind.INT:
            return ("i", t.size, bool(t.encoding & 4), t.int_bits if t.int_bits != 8 * t.size else 0)
        if k in ENUM_KINDS:
            return ("i", t.size, False, 0)
        if k == Kind.FLOAT:
            return ("f", t.size)
        if k == Kind.PTR:
            return ("p",)
        if k == Kind.ARRAY:
            return ("a", t.nelems, self.layout(t.ref))
        if k in COMPOSITE_KINDS:
            members = tuple((m.bit_offset, m.bit_size, self.layout(m.type)) for m in t.members)
            return (int(k), t.size, g.align_of(tid), members)
        if k == Kind.FUNC_PROTO:
            return ("fn", self.layout(t.ref), tuple(self.layout(p.type) for p in t.params))
        return ("k", int(k), t.size)

    def signedness(self, tid: int) -> bool | None:
        """Signedness of an integer-like type, None for anything else."""
        t = self.graph[self.graph.strip(tid)]
        if t.kind == Kind.INT:
            return bool(t.encoding & 1)
        if t.kind in ENUM_KINDS:
            return t.signed
        return None

    def spelled(self, tid: int) -> str:
        """C spelling for messages."""
        return self.graph.c_name(tid)
