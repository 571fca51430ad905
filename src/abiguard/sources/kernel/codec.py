"""Compact pickling of parse results and graphs: model records as plain tuples (merge_rows' rows).

Pickling plain tuples runs in C both ways. Loading keeps them as rows behind lazy sequences: the
merge works on rows, and `abiguard layout` on a warm cache touches a handful of 10k types.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

from ...gc_pause import gc_paused
from ...model.graph import Diagnostic, TypeGraph
from ...model.target import TARGETS
from ..clang.merge_rows import LazyConstants, LazyTypes, NameLookup, constant_rows, type_rows

__all__ = ["LazyConstants", "LazyTypes", "dump_graph", "dump_unit", "load"]


def _enc_common(types: Any, constants: Any, diagnostics: Any) -> tuple[Any, ...]:
    return (type_rows(types), constant_rows(constants), [(d.location, d.message) for d in diagnostics])


def dump_unit(unit: Any) -> bytes:
    """A header reader UnitResult as bytes; its types, constants and diagnostics as tuples."""
    shell = dataclasses.replace(unit, types=(), constants={}, diagnostics=())
    return pickle.dumps(("unit", shell, _enc_common(unit.types, unit.constants, unit.diagnostics)), protocol=5)


def dump_graph(graph: TypeGraph) -> bytes:
    """A merged TypeGraph as bytes (a graph merged from rows is written without re-encoding)."""
    enc = _enc_common(graph.types, graph.constants, graph.diagnostics)
    return pickle.dumps(("graph", graph.target.name, graph.source, enc, graph.libc, sorted(graph.unevaluated)),
                        protocol=5)


def load(data: bytes) -> Any:
    """What dump_unit or dump_graph wrote, types and constants decoded on demand."""
    with gc_paused():  # tens of thousands of tuples: collections would rescan them again and again
        obj = pickle.loads(data)
    if obj[0] == "unit":
        _, shell, (types, constants, diagnostics) = obj
        # Only the diagnostics are needed at once (ok, failure splitting); merge_units reads the rows.
        return dataclasses.replace(shell, types=LazyTypes(types), constants=LazyConstants(constants),
                                   diagnostics=tuple(Diagnostic(*d) for d in diagnostics))
    if obj[0] == "graph":
        _, target, source, (types, constants, diagnostics), libc, unevaluated = obj
        return TypeGraph(TARGETS[target], LazyTypes(types), source, LazyConstants(constants),
                         tuple(Diagnostic(*d) for d in diagnostics), unevaluated=frozenset(unevaluated),
                         name_lookup=NameLookup(types), libc=libc)
    raise ValueError(f"unknown record {obj[0]!r}")
