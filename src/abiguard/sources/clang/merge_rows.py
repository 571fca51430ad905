"""Types as plain tuples ("rows"), the form units and graphs are pickled and merged in.

A row holds a Type's fields in declaration order, with kind and encoding as ints and members,
enumerators, params and vars as tuples of tuples. Pickling rows runs in C both ways, and the
merge works on rows directly, so a Type object is only built when someone looks at it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from ...model.types import Constant, Enumerator, IntEncoding, Kind, Member, Param, SecVar, Type

Row = tuple[Any, ...]

TYPE_FIELDS = tuple(f.name for f in dataclasses.fields(Type))
_NESTED = {"members": Member, "enumerators": Enumerator, "params": Param, "vars": SecVar}
_NESTED_FIELDS = {name: tuple(f.name for f in dataclasses.fields(cls)) for name, cls in _NESTED.items()}
_NESTED_AT = tuple((TYPE_FIELDS.index(name), cls, _NESTED_FIELDS[name]) for name, cls in _NESTED.items())
_KINDS = {int(k): k for k in Kind}

KIND = TYPE_FIELDS.index("kind")
NAME = TYPE_FIELDS.index("name")
REF = TYPE_FIELDS.index("ref")
MEMBERS = TYPE_FIELDS.index("members")
PARAMS = TYPE_FIELDS.index("params")
INDEX_TYPE = TYPE_FIELDS.index("index_type")
ENCODING = TYPE_FIELDS.index("encoding")
KIND_FLAG = TYPE_FIELDS.index("kind_flag")
LOCATION = TYPE_FIELDS.index("location")
# The row layout merge.py relies on; a changed Type must be reflected there, so fail loudly here.
assert TYPE_FIELDS[:10] == ("kind", "name", "size", "ref", "members", "enumerators", "params", "vars", "nelems",
                            "index_type") and TYPE_FIELDS[-1] == "location", TYPE_FIELDS
assert _NESTED_FIELDS["members"][:2] == ("name", "type") and _NESTED_FIELDS["params"] == ("name", "type")


def enc_type(t: Type) -> Row:
    """The row of one Type."""
    row = [getattr(t, name) for name in TYPE_FIELDS]
    row[KIND] = int(row[KIND])
    row[ENCODING] = int(row[ENCODING])
    for at, _, fields in _NESTED_AT:
        if row[at]:
            row[at] = tuple(tuple(getattr(x, f) for f in fields) for x in row[at])
    return tuple(row)


def dec_type(row: Row, encodings: dict[int, IntEncoding]) -> Type:
    """The Type of one row; `encodings` shares IntEncoding values between calls."""
    r = list(row)
    r[KIND] = _KINDS[r[KIND]]
    enc = r[ENCODING]
    r[ENCODING] = encodings.get(enc) or encodings.setdefault(enc, IntEncoding(enc))
    for at, cls, _ in _NESTED_AT:
        if r[at]:
            r[at] = tuple(cls(*x) for x in r[at])
    return Type(*r)


def type_rows(types: Sequence[Type]) -> list[Row]:
    """Rows of a type sequence, taken as they are when it is a LazyTypes."""
    if isinstance(types, LazyTypes):
        return types.rows
    return [enc_type(t) for t in types]


ConstantRow = tuple[str, int, str, tuple[str, ...], tuple[str, ...], bool]


def constant_rows(constants: Mapping[str, Constant]) -> list[ConstantRow]:
    """(name, value, location, refs, measures, flag_union) of every constant, in the mapping's order."""
    if isinstance(constants, LazyConstants):
        return constants.rows
    return [(c.name, c.value, c.location, c.refs, c.measures, c.flag_union) for c in constants.values()]


class LazyTypes(Sequence[Type]):
    """Types rebuilt from their rows the first time each is asked for."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self._done: list[Type | None] = [None] * len(rows)
        self._encodings: dict[int, IntEncoding] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __reduce__(self) -> tuple[Any, ...]:
        return LazyTypes, (self.rows,)  # pickled as rows: a graph crossing processes stays compact

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyTypes):
            return self.rows == other.rows
        if isinstance(other, (list, tuple)):
            return len(other) == len(self.rows) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable cache inside, like a list

    @overload
    def __getitem__(self, i: int) -> Type: ...
    @overload
    def __getitem__(self, i: slice) -> list[Type]: ...
    def __getitem__(self, i: int | slice) -> Type | list[Type]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self.rows)))]
        t = self._done[i]
        if t is None:
            t = self._done[i] = dec_type(self.rows[i], self._encodings)
        return t


class LazyConstants(Mapping[str, Constant]):
    """Constants, all rebuilt from their rows the first time any is asked for."""

    def __init__(self, rows: list[ConstantRow]) -> None:
        self.rows = rows
        self._map: dict[str, Constant] | None = None

    def _all(self) -> dict[str, Constant]:
        if self._map is None:
            self._map = {c[0]: Constant(*c) for c in self.rows}
        return self._map

    def __getitem__(self, name: str) -> Constant:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self.rows)

    def __reduce__(self) -> tuple[Any, ...]:
        return LazyConstants, (self.rows,)


class NameLookup:
    """name -> ids of the rows carrying it, ascending: a TypeGraph.name_lookup that needs no Type
    objects (picklable, as graphs cross processes); the index is built on the first question."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self.rows = rows
        self._names: dict[str, list[int]] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return NameLookup, (self.rows,)

    def __call__(self, name: str) -> list[int]:
        if self._names is None:
            names: dict[str, list[int]] = {}
            for i, row in enumerate(self.rows):
                if row[NAME]:
                    names.setdefault(row[NAME], []).append(i)
            self._names = names
        return list(self._names.get(name, ()))
