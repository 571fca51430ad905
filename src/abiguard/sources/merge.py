"""Merge the per-TU results of one target into one TypeGraph, deduplicating identical types."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence

from ..model import Target, TypeGraph
from ..model.graph import Diagnostic
from ..model.types import Constant, Kind, Type
from .clang_unit import UnitResult

_NAMED_KINDS = {
    Kind.STRUCT: "struct",
    Kind.UNION: "union",
    Kind.ENUM: "enum",
    Kind.ENUM64: "enum",
    Kind.TYPEDEF: "typedef",
    Kind.FUNC: "function",
}


def _shallow(t: Type) -> Hashable:
    """Everything that identifies a type except the types it references (and where it was seen)."""
    return (
        t.kind, t.name, t.size, t.nelems, int(t.encoding), t.int_bits, t.int_offset, t.signed,
        t.kind_flag, t.linkage, t.component_idx, t.align,
        tuple((m.name, m.bit_offset, m.bit_size) for m in t.members),
        tuple((e.name, e.value) for e in t.enumerators),
        tuple(p.name for p in t.params),
    )


def _refs(t: Type) -> list[int]:
    return [t.ref, t.index_type, *(m.type for m in t.members), *(p.type for p in t.params)]


def _refine(shallow: list[int], refs: list[list[int]]) -> list[int]:
    """Coarsest partition where equal types have equal shallow keys and equal referenced classes.

    Moore-style refinement: it handles cycles (struct list { struct list *next; }) without
    recursion, and two types end in one class exactly when they are structurally identical.
    """
    classes = shallow
    count = len(set(classes))
    while True:
        table: dict[tuple, int] = {}
        refined = [
            table.setdefault((classes[i], tuple(classes[r] for r in refs[i])), len(table)) for i in range(len(refs))
        ]
        if len(table) == count:
            return refined
        classes, count = refined, len(table)


def merge_units(units: Sequence[UnitResult], target: Target, source: str) -> TypeGraph:
    """One TypeGraph for `target` from many TUs: identical types once, conflicting ones kept and reported."""
    nodes: list[Type] = [Type(Kind.VOID)]
    refs: list[list[int]] = [[]]
    for unit in units:
        base = len(nodes) - 1
        for t in unit.types[1:]:
            nodes.append(t)
            refs.append([base + r if r else 0 for r in _refs(t)])

    keys: dict[Hashable, int] = {}
    shallow = [keys.setdefault(_shallow(t), len(keys)) for t in nodes]
    classes = _refine(shallow, refs)

    # A forward declaration stands for the definition of that name when there is exactly one.
    definitions: dict[tuple[Kind, str], set[int]] = {}
    representative: dict[int, int] = {}
    for i, t in enumerate(nodes):
        if t.kind in (Kind.STRUCT, Kind.UNION) and t.name:
            definitions.setdefault((t.kind, t.name), set()).add(classes[i])
            representative.setdefault(classes[i], i)
    redirect: dict[int, int] = {}
    for i, t in enumerate(nodes):
        if t.kind == Kind.FWD:
            defs = definitions.get((Kind.UNION if t.kind_flag else Kind.STRUCT, t.name), set())
            if len(defs) == 1:
                redirect[i] = representative[next(iter(defs))]
    if redirect:
        refs = [[redirect.get(r, r) for r in rs] for rs in refs]
        classes = _refine(shallow, refs)

    new_id: dict[int, int] = {classes[0]: 0}
    order: list[int] = []
    for i in range(1, len(nodes)):
        if i in redirect or classes[i] in new_id:
            continue
        new_id[classes[i]] = len(order) + 1
        order.append(i)
    types: list[Type] = [Type(Kind.VOID)]
    for i in order:
        types.append(_remap(nodes[i], [new_id[classes[r]] for r in refs[i]]))

    diagnostics: list[Diagnostic] = []
    for unit in units:
        diagnostics.extend(unit.diagnostics)
    diagnostics.extend(_conflicts(types, target))
    constants = _merge_constants(units, diagnostics, target)
    return TypeGraph(
        target=target,
        types=types,
        source=source,
        constants=constants,
        diagnostics=tuple(dict.fromkeys(diagnostics)),
    )


def _remap(t: Type, refs: list[int]) -> Type:
    """A copy of `t` whose references are `refs`, in the order `_refs` lists them."""
    nm, np = len(t.members), len(t.params)
    members = tuple(dataclasses.replace(m, type=r) for m, r in zip(t.members, refs[2:2 + nm], strict=True))
    params = tuple(dataclasses.replace(p, type=r) for p, r in zip(t.params, refs[2 + nm:2 + nm + np], strict=True))
    return dataclasses.replace(t, ref=refs[0], index_type=refs[1], members=members, params=params)


def _conflicts(types: list[Type], target: Target) -> list[Diagnostic]:
    """A diagnostic for every name with more than one different definition."""
    seen: dict[tuple[str, str], list[Type]] = {}
    for t in types:
        word = _NAMED_KINDS.get(t.kind)
        if word and t.name:
            seen.setdefault((word, t.name), []).append(t)
    out = []
    for (word, name), group in seen.items():
        if len(group) > 1:
            places = ", ".join(t.location or "?" for t in group)
            out.append(Diagnostic(group[1].location or group[0].location,
                                  f"{target.name}: conflicting definitions of {word} {name}: {places}"))
    return out


def _merge_constants(units: Sequence[UnitResult], diagnostics: list[Diagnostic], target: Target) -> dict:
    merged: dict[str, Constant] = {}
    for unit in units:
        for name, c in unit.constants.items():
            old = merged.get(name)
            if old is None:
                merged[name] = c
            elif old.value != c.value:
                diagnostics.append(Diagnostic(c.location, f"{target.name}: conflicting values of {name}: "
                                              f"{old.value} ({old.location}), {c.value} ({c.location})"))
    return dict(sorted(merged.items()))
