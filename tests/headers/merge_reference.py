"""A plain reference merge for the tests: Type objects, Moore refinement over every node, no shortcuts.

It is the straightforward form of what sources/merge.py computes on rows (hash-consing, refinement
of cyclic types only, incremental second pass); tests compare the two on real and random units.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from typing import Any

from abiguard.model import Target
from abiguard.model.graph import Diagnostic, is_libc_location
from abiguard.model.types import Constant, Kind, Type

_WORDS = {Kind.STRUCT: "struct", Kind.UNION: "union", Kind.ENUM: "enum", Kind.ENUM64: "enum",
          Kind.TYPEDEF: "typedef", Kind.FUNC: "function"}


def _shallow(t: Type) -> Hashable:
    return (t.kind, t.name, t.size, t.nelems, int(t.encoding), t.int_bits, t.int_offset, t.signed, t.kind_flag,
            t.linkage, t.component_idx, t.align, tuple((m.name, m.bit_offset, m.bit_size) for m in t.members),
            tuple((e.name, e.value) for e in t.enumerators), tuple(p.name for p in t.params))


def _refs(t: Type) -> list[int]:
    return [t.ref, t.index_type, *(m.type for m in t.members), *(p.type for p in t.params)]


def _refine(shallow: list[int], refs: list[list[int]]) -> list[int]:
    """Moore refinement from the shallow partition until the number of classes stops growing."""
    classes, count = shallow, len(set(shallow))
    while True:
        table: dict[tuple, int] = {}
        refined = [table.setdefault((classes[i], tuple(classes[r] for r in refs[i])), len(table))
                   for i in range(len(refs))]
        if len(table) == count:
            return refined
        classes, count = refined, len(table)


def reference_merge(units: Sequence[Any], target: Target) -> tuple[list[Type], dict[str, Constant],
                                                                  tuple[Diagnostic, ...]]:
    """(types, constants, diagnostics) of merging `units` (UnitResult-like), the plain way."""
    nodes: list[Type] = [Type(Kind.VOID)]
    refs: list[list[int]] = [[]]
    for unit in units:
        base = len(nodes) - 1
        for t in list(unit.types)[1:]:
            nodes.append(t)
            refs.append([base + r if r else 0 for r in _refs(t)])
    keys: dict[Hashable, int] = {}
    shallow = [keys.setdefault(_shallow(t), len(keys)) for t in nodes]
    classes = _refine(shallow, refs)
    # A libc's definition of a name the source defines too (struct timeval) is no candidate.
    definitions: dict[tuple[Kind, str, bool], set[int]] = {}
    first: dict[int, int] = {}
    for i, t in enumerate(nodes):
        if t.kind in (Kind.STRUCT, Kind.UNION) and t.name:
            definitions.setdefault((t.kind, t.name, is_libc_location(t.location)), set()).add(classes[i])
            first.setdefault(classes[i], i)
    redirect = {}
    for i, t in enumerate(nodes):
        if t.kind == Kind.FWD:
            kind = Kind.UNION if t.kind_flag else Kind.STRUCT
            defs = definitions.get((kind, t.name, False)) or definitions.get((kind, t.name, True), set())
            if len(defs) == 1:
                redirect[i] = first[next(iter(defs))]
    if redirect:
        refs = [[redirect.get(r, r) for r in rs] for rs in refs]
        classes = _refine(shallow, refs)
    new_id = {classes[0]: 0}
    order = []
    for i in range(1, len(nodes)):
        if i not in redirect and classes[i] not in new_id:
            new_id[classes[i]] = len(order) + 1
            order.append(i)
    types = [Type(Kind.VOID)]
    for i in order:
        t, rs = nodes[i], [new_id[classes[r]] for r in refs[i]]
        nm = len(t.members)
        types.append(dataclasses.replace(
            t, ref=rs[0], index_type=rs[1],
            members=tuple(dataclasses.replace(m, type=r) for m, r in zip(t.members, rs[2:2 + nm], strict=True)),
            params=tuple(dataclasses.replace(p, type=r) for p, r in zip(t.params, rs[2 + nm:], strict=True))))
    diagnostics = [d for unit in units for d in unit.diagnostics]
    seen: dict[tuple[str, str, bool], list[Type]] = {}
    for t in types:
        if _WORDS.get(t.kind) and t.name:
            seen.setdefault((_WORDS[t.kind], t.name, is_libc_location(t.location)), []).append(t)
    for (word, name, _), group in seen.items():
        if len(group) > 1:
            places = ", ".join(t.location or "?" for t in group)
            diagnostics.append(Diagnostic(group[1].location or group[0].location,
                                          f"{target.name}: conflicting definitions of {word} {name}: {places}"))
    # Units that read libc headers only add names the others lack (libc-compat turns definitions off).
    constants: dict[str, Constant] = {}
    libc = [getattr(u, "libc", False) for u in units]
    plain = {name for unit, lc in zip(units, libc, strict=True) if not lc for name in unit.constants}
    for unit, lc in sorted(zip(units, libc, strict=True), key=lambda pair: pair[1]):
        for name, c in unit.constants.items():
            old = constants.get(name)
            if old is None:
                constants[name] = c
            elif old.value != c.value and not (lc and name in plain):
                diagnostics.append(Diagnostic(c.location, f"{target.name}: conflicting values of {name}: "
                                              f"{old.value} ({old.location}), {c.value} ({c.location})"))
    return types, dict(sorted(constants.items())), tuple(dict.fromkeys(diagnostics))
