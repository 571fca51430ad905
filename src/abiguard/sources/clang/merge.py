"""Merge the per-TU results of one target into one TypeGraph, deduplicating identical types.

The merge works on merge_rows' rows (what the kernel reader's workers send and its cache holds),
so no Type object is built for the tens of thousands of duplicates it drops.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

from ...gc_pause import gc_paused
from ...model import Target, TypeGraph
from ...model.graph import Diagnostic, is_libc_location
from ...model.types import Kind, Type
from .merge_rows import (
    INDEX_TYPE,
    KIND,
    KIND_FLAG,
    LOCATION,
    MEMBERS,
    NAME,
    PARAMS,
    REF,
    ConstantRow,
    LazyConstants,
    LazyTypes,
    NameLookup,
    Row,
    constant_rows,
    enc_type,
    type_rows,
)

if TYPE_CHECKING:
    from .unit import UnitResult

_NAMED_KINDS = {
    int(Kind.STRUCT): "struct",
    int(Kind.UNION): "union",
    int(Kind.ENUM): "enum",
    int(Kind.ENUM64): "enum",
    int(Kind.TYPEDEF): "typedef",
    int(Kind.FUNC): "function",
}
_STRUCT, _UNION, _FWD = int(Kind.STRUCT), int(Kind.UNION), int(Kind.FWD)
_VOID_ROW = enc_type(Type(Kind.VOID))

# DFS states of a node in _classify.
_NEW, _OPEN, _FINITE, _CYCLIC = 0, 1, 2, 3


def _node(r: Row, base: int) -> tuple[Hashable, tuple[int, ...]]:
    """(shallow key, references) of one unit row; references as node numbers in the order _remap
    takes them. The shallow key is everything that identifies a type except the types it
    references and where it was seen: the row without ref, index_type, member and param types,
    vars and location."""
    members, params = r[MEMBERS], r[PARAMS]
    if not members and not params:  # most rows: pointers, typedefs, modifiers, arrays, ints
        return (r[:REF], r[5], r[8], r[10:LOCATION]), (base + r[REF], base + r[INDEX_TYPE])
    names, types, offsets, bits = zip(*members, strict=True) if members else ((), (), (), ())
    pnames, ptypes = zip(*params, strict=True) if params else ((), ())
    key = (r[:REF], r[5], r[8], r[10:LOCATION], names, offsets, bits, pnames)
    return key, (base + r[REF], base + r[INDEX_TYPE], *map(base.__add__, types), *map(base.__add__, ptypes))


# Markers in a class list while _classify runs; real classes are >= 0.
_UNSEEN, _OPEN, _CYCLIC = -2, -1, -3


class _Classes:
    """Hash-consed classes of acyclic types, shared by both passes of one merge so equal types get
    equal numbers in either; `tainted[c]`: class c reaches a forward declaration."""

    def __init__(self, shallow: list[int], fwd_keys: set[int]) -> None:
        self.shallow = shallow
        self.fwd_keys = fwd_keys
        self.table: dict[tuple[int, tuple[int, ...]], int] = {}
        self.tainted: list[bool] = []

    def classify(self, refs: list[tuple[int, ...]], cls: list[int] | None = None) -> list[int]:
        """Coarsest partition where equal types have equal shallow keys and equal referenced classes;
        `cls` may hold classes settled already (else _UNSEEN), valid for these refs.

        Two nodes end in one class exactly when their (possibly infinite) unfoldings are equal. A
        node that reaches no cycle has a finite unfolding, so one post-order pass settles it by
        hash-consing (shallow key, classes of its references). Nodes reaching a cycle (struct list
        { struct list *next; }) can only equal each other; Moore refinement sorts those out, with
        the settled classes as constants: the partition plain refinement of every node gives.
        """
        shallow, table, tainted, fwd_keys = self.shallow, self.table, self.tainted, self.fwd_keys
        n = len(refs)
        if cls is None:
            cls = [_UNSEEN] * n
        at = cls.__getitem__
        cyclic: list[int] = []
        for root in range(n):
            if cls[root] != _UNSEEN:
                continue
            stack = [root]
            while stack:
                v = stack[-1]
                c = cls[v]
                rs = refs[v]
                if c == _UNSEEN:
                    cls[v] = _OPEN
                    pushed = False
                    for r in rs:
                        if cls[r] == _UNSEEN:
                            stack.append(r)
                            pushed = True
                    if pushed:
                        continue
                elif c != _OPEN:
                    stack.pop()  # pushed twice, settled through the other push
                    continue
                stack.pop()
                # Every reference is settled now, or _OPEN: an ancestor on the DFS path, i.e. a cycle.
                cs = tuple(map(at, rs))
                if cs and min(cs) < 0:
                    cls[v] = _CYCLIC
                    cyclic.append(v)
                    continue
                key = (shallow[v], cs)
                c = table.get(key)
                if c is None:
                    c = table[key] = len(table)
                    tainted.append(shallow[v] in fwd_keys or any(map(tainted.__getitem__, cs)))
                cls[v] = c
        if cyclic:
            self._refine(refs, cls, cyclic)
        return cls

    def _refine(self, refs: list[tuple[int, ...]], cls: list[int], cyclic: list[int]) -> None:
        """Moore refinement of the cyclic nodes, numbered after the hash-consed classes."""
        first = len(self.table)
        start: dict[tuple, int] = {}
        inner: list[tuple[int, ...]] = []
        at = cls.__getitem__
        for v in cyclic:
            rs = refs[v]
            # settled references by class, cyclic ones as _CYCLIC placeholders refined below
            key = (self.shallow[v], tuple(map(at, rs)))
            inner.append(tuple(r for r in rs if cls[r] == _CYCLIC))
            start.setdefault(key, len(start))
        cur = [first + start[(self.shallow[v], tuple(map(at, refs[v])))] for v in cyclic]
        for v, c in zip(cyclic, cur, strict=True):
            cls[v] = c
        count = len(start)
        while True:
            step: dict[tuple, int] = {}
            refined = [first + step.setdefault((cls[v], tuple(map(at, rs))), len(step))
                       for v, rs in zip(cyclic, inner, strict=True)]
            for v, c in zip(cyclic, refined, strict=True):
                cls[v] = c
            if len(step) == count:
                return
            count = len(step)


class _Unit:
    """What the merge needs of one unit: rows, constant rows, diagnostics, whether it read libc headers,
    unevaluated macros."""

    __slots__ = ("constants", "diagnostics", "libc", "types", "unevaluated")

    def __init__(self, unit: Any) -> None:
        self.types: list[Row] = type_rows(unit.types)
        self.constants = constant_rows(unit.constants)
        self.diagnostics: Sequence[Diagnostic] = unit.diagnostics
        self.libc: bool = unit.libc
        self.unevaluated: Sequence[str] = getattr(unit, "unevaluated", ())


def merge_units(units: Sequence[UnitResult], target: Target, source: str) -> TypeGraph:
    """One TypeGraph for `target` from many TUs: identical types once, conflicting ones kept and reported."""
    with gc_paused():  # hundreds of thousands of short tuples, no cycles among them
        return _merge([_Unit(u) for u in units], target, source)


def _merge(units: Sequence[_Unit], target: Target, source: str) -> TypeGraph:
    # Each unit's void row is a node too (equal to node 0), so a reference is just the unit's
    # offset plus its id; node 0 is void even when there are no units.
    nodes: list[Row] = [_VOID_ROW]
    refs: list[tuple[int, ...]] = [()]
    keys: dict[Hashable, int] = {}
    void_key = _node(_VOID_ROW, 0)[0]
    shallow: list[int] = [keys.setdefault(void_key, 0)]
    for unit in units:
        rows = unit.types
        if not rows:
            continue
        base = len(nodes)
        pairs = [_node(r, base) for r in rows]
        pairs[0] = (void_key, ())  # a unit's id 0 is void, whatever its row says
        shallow.extend([keys.setdefault(k, len(keys)) for k, _ in pairs])
        refs.extend([rs for _, rs in pairs])
        nodes.extend(rows)
        nodes[base] = _VOID_ROW
    fwds = [i for i, r in enumerate(nodes) if r[KIND] == _FWD]
    fwd_keys = {shallow[i] for i in fwds}
    classer = _Classes(shallow, fwd_keys)
    classes = classer.classify(refs)

    # A forward declaration stands for the definition of that name when there is exactly one; a
    # libc's definition of a name the source defines too (struct timeval) does not count.
    definitions: dict[tuple[int, str, bool], set[int]] = {}
    representative: dict[int, int] = {}
    for i in [i for i, r in enumerate(nodes) if r[KIND] in (_STRUCT, _UNION) and r[NAME]]:
        r = nodes[i]
        definitions.setdefault((r[KIND], r[NAME], is_libc_location(r[LOCATION])), set()).add(classes[i])
        representative.setdefault(classes[i], i)
    redirect: dict[int, int] = {}
    for i in fwds:
        r = nodes[i]
        kind = _UNION if r[KIND_FLAG] else _STRUCT
        defs = definitions.get((kind, r[NAME], False)) or definitions.get((kind, r[NAME], True), set())
        if len(defs) == 1:
            redirect[i] = representative[next(iter(defs))]
    if redirect:
        # Only types reaching a forward declaration can change: the others keep their classes.
        get, moved = redirect.get, redirect.keys()
        refs = [tuple(get(x, x) for x in rs) if not moved.isdisjoint(rs) else rs for rs in refs]
        tainted, settled = classer.tainted, len(classer.tainted)
        classes = classer.classify(refs, [c if 0 <= c < settled and not tainted[c] else _UNSEEN for c in classes])

    # Each class once, at its first node; void is id 0, redirected forwards vanish (a class holding
    # one holds only forwards of that name, all redirected).
    firsts = dict(zip(reversed(classes), range(len(classes) - 1, -1, -1), strict=True))
    for c in {classes[0], *(classes[i] for i in redirect)}:
        del firsts[c]
    order = sorted(firsts.values())
    new_id = dict(zip((classes[i] for i in order), range(1, len(order) + 1), strict=True))
    new_id[classes[0]] = 0
    at, new = classes.__getitem__, new_id.__getitem__
    rows: list[Row] = [_VOID_ROW]
    rows.extend([_remap(nodes[i], [*map(new, map(at, refs[i]))]) for i in order])

    diagnostics: list[Diagnostic] = []
    for unit in units:
        diagnostics.extend(unit.diagnostics)
    diagnostics.extend(_conflicts(rows, target))
    constants = _merge_constants(units, diagnostics, target)
    evaluated = {c[0] for c in constants}
    unevaluated = frozenset(name for unit in units for name in unit.unevaluated if name not in evaluated)
    return TypeGraph(
        target=target,
        types=LazyTypes(rows),
        source=source,
        constants=LazyConstants(constants),
        diagnostics=tuple(dict.fromkeys(diagnostics)),
        unevaluated=unevaluated,
        name_lookup=NameLookup(rows),
    )


def _remap(r: Row, refs: list[int]) -> Row:
    """A copy of row `r` whose references are `refs`, in the order `_node` lists them."""
    members, params = r[MEMBERS], r[PARAMS]
    if not members and not params:
        return (*r[:REF], refs[0], *r[REF + 1:INDEX_TYPE], refs[1], *r[INDEX_TYPE + 1:])
    nm = len(members)
    if members:
        names, _, offsets, bits = zip(*members, strict=True)
        members = tuple(zip(names, refs[2:2 + nm], offsets, bits, strict=True))
    if params:
        params = tuple(zip(next(zip(*params, strict=True)), refs[2 + nm:], strict=True))
    return (*r[:REF], refs[0], members, r[5], params, *r[PARAMS + 1:INDEX_TYPE], refs[1], *r[INDEX_TYPE + 1:])


def _conflicts(rows: list[Row], target: Target) -> list[Diagnostic]:
    """A diagnostic for every name with more than one different definition. A libc's definition of a
    name the source defines too is none: linux/libc-compat.h decides which one a header sees."""
    seen: dict[tuple[str, str, bool], list[Row]] = {}
    for r in [r for r in rows if r[NAME] and r[KIND] in _NAMED_KINDS]:
        seen.setdefault((_NAMED_KINDS[r[KIND]], r[NAME], is_libc_location(r[LOCATION])), []).append(r)
    out = []
    for (word, name, _), group in seen.items():
        if len(group) > 1:
            places = ", ".join(r[LOCATION] or "?" for r in group)
            out.append(Diagnostic(group[1][LOCATION] or group[0][LOCATION],
                                  f"{target.name}: conflicting definitions of {word} {name}: {places}"))
    return out


def _merge_constants(units: Sequence[_Unit], diagnostics: list[Diagnostic],
                     target: Target) -> list[ConstantRow]:
    """Constant rows of all units by name; a name with different values is reported.

    Units that read libc headers only add names the others lack: with them, linux/libc-compat.h
    turns the source's own definitions off (__UAPI_DEF_IN_ADDR 0) where a libc one took over."""
    merged: dict[str, ConstantRow] = {}
    for unit in units:
        if unit.libc:
            continue
        for c in unit.constants:
            old = merged.get(c[0])
            if old is None:
                merged[c[0]] = c
            elif old[1] != c[1]:
                diagnostics.append(Diagnostic(c[2], f"{target.name}: conflicting values of {c[0]}: "
                                              f"{old[1]} ({old[2]}), {c[1]} ({c[2]})"))
    plain = set(merged)
    for unit in units:
        if not unit.libc:
            continue
        for c in unit.constants:
            old = merged.get(c[0])
            if old is None:
                merged[c[0]] = c
            elif old[1] != c[1] and c[0] not in plain:
                diagnostics.append(Diagnostic(c[2], f"{target.name}: conflicting values of {c[0]}: "
                                              f"{old[1]} ({old[2]}), {c[1]} ({c[2]})"))
    return [merged[name] for name in sorted(merged)]

