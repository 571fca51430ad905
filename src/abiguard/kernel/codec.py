"""Compact pickling of parse results and graphs: model records as plain tuples.

Pickling plain tuples runs in C both ways; rebuilding each record with one constructor call is an
order of magnitude faster than the generic slots-dataclass __setstate__ path, which matters when a
warm run loads tens of thousands of types.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from ..model.graph import Diagnostic, TypeGraph
from ..model.target import TARGETS
from ..model.types import Constant, Enumerator, IntEncoding, Kind, Member, Param, SecVar, Type

_TYPE_FIELDS = tuple(f.name for f in dataclasses.fields(Type))
_NESTED = {"members": Member, "enumerators": Enumerator, "params": Param, "vars": SecVar}
_NESTED_FIELDS = {name: tuple(f.name for f in dataclasses.fields(cls)) for name, cls in _NESTED.items()}


_NESTED_AT = tuple((_TYPE_FIELDS.index(name), cls, _NESTED_FIELDS[name]) for name, cls in _NESTED.items())
_KIND_AT = _TYPE_FIELDS.index("kind")
_ENCODING_AT = _TYPE_FIELDS.index("encoding")
_NAME_AT = _TYPE_FIELDS.index("name")
_KINDS = {int(k): k for k in Kind}


def _enc_type(t: Type) -> tuple[Any, ...]:
    row = [getattr(t, name) for name in _TYPE_FIELDS]
    row[_KIND_AT] = int(row[_KIND_AT])
    row[_ENCODING_AT] = int(row[_ENCODING_AT])
    for at, _, fields in _NESTED_AT:
        if row[at]:
            row[at] = tuple(tuple(getattr(x, f) for f in fields) for x in row[at])
    return tuple(row)


def _dec_type(row: tuple[Any, ...], encodings: dict[int, IntEncoding]) -> Type:
    r = list(row)
    r[_KIND_AT] = _KINDS[r[_KIND_AT]]
    enc = r[_ENCODING_AT]
    r[_ENCODING_AT] = encodings.get(enc) or encodings.setdefault(enc, IntEncoding(enc))
    for at, cls, _ in _NESTED_AT:
        if r[at]:
            r[at] = tuple(cls(*x) for x in r[at])
    return Type(*r)


def _enc_common(types: Any, constants: Any, diagnostics: Any) -> tuple[Any, ...]:
    return (
        [_enc_type(t) for t in types],
        [(c.name, c.value, c.location) for c in constants.values()],
        [(d.location, d.message) for d in diagnostics],
    )


def _dec_common(enc: tuple[Any, ...]) -> tuple[list[Type], dict[str, Constant], tuple[Diagnostic, ...]]:
    types, constants, diagnostics = enc
    encodings: dict[int, IntEncoding] = {}
    return (
        [_dec_type(r, encodings) for r in types],
        {c[0]: Constant(*c) for c in constants},
        tuple(Diagnostic(*d) for d in diagnostics),
    )


class LazyTypes(Sequence[Type]):
    """A graph's types, each rebuilt from its row the first time it is asked for."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows
        self._done: list[Type | None] = [None] * len(rows)
        self._encodings: dict[int, IntEncoding] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> Type: ...
    @overload
    def __getitem__(self, i: slice) -> list[Type]: ...
    def __getitem__(self, i: int | slice) -> Type | list[Type]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self._rows)))]
        t = self._done[i]
        if t is None:
            t = self._done[i] = _dec_type(self._rows[i], self._encodings)
        return t


class LazyConstants(Mapping[str, Constant]):
    """A graph's constants, all rebuilt the first time any is asked for."""

    def __init__(self, rows: list[tuple[str, int, str]]) -> None:
        self._rows = rows
        self._map: dict[str, Constant] | None = None

    def _all(self) -> dict[str, Constant]:
        if self._map is None:
            self._map = {c[0]: Constant(*c) for c in self._rows}
        return self._map

    def __getitem__(self, name: str) -> Constant:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._rows)


def dump_unit(unit: Any) -> bytes:
    """A header reader UnitResult as bytes; its types, constants and diagnostics as tuples."""
    shell = dataclasses.replace(unit, types=(), constants={}, diagnostics=())
    return pickle.dumps(("unit", shell, _enc_common(unit.types, unit.constants, unit.diagnostics)), protocol=5)


def dump_graph(graph: TypeGraph) -> bytes:
    """A merged TypeGraph as bytes."""
    enc = _enc_common(graph.types, graph.constants, graph.diagnostics)
    return pickle.dumps(("graph", graph.target.name, graph.source, enc), protocol=5)


def load(data: bytes) -> Any:
    """What dump_unit or dump_graph wrote."""
    obj = pickle.loads(data)
    if obj[0] == "unit":
        _, shell, enc = obj
        types, constants, diagnostics = _dec_common(enc)
        return dataclasses.replace(shell, types=tuple(types), constants=constants, diagnostics=diagnostics)
    if obj[0] == "graph":
        _, target, source, (types, constants, diagnostics) = obj
        # Decoded on demand: `abiguard layout` on a warm cache touches a handful of 10k types.
        lazy = LazyTypes(types)
        names: dict[str, list[int]] = {}
        for i, row in enumerate(types):
            if row[_NAME_AT]:
                names.setdefault(row[_NAME_AT], []).append(i)
        return TypeGraph(TARGETS[target], lazy, source, LazyConstants(constants),
                         tuple(Diagnostic(*d) for d in diagnostics), name_lookup=lambda n: list(names.get(n, ())))
    raise ValueError(f"unknown record {obj[0]!r}")
