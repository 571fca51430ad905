"""BTF-like type records: one `Type` per id, plus the small records it is made of."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag


class Kind(IntEnum):
    """Type kinds, numbered as BTF numbers them so readers and writers need no table."""

    VOID = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class IntEncoding(IntFlag):
    """BTF_INT_* encoding bits."""

    NONE = 0
    SIGNED = 1
    CHAR = 2
    BOOL = 4


COMPOSITE_KINDS = frozenset({Kind.STRUCT, Kind.UNION})
ENUM_KINDS = frozenset({Kind.ENUM, Kind.ENUM64})
MODIFIER_KINDS = frozenset({Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})
# Kinds whose `ref` points at the type they stand for without changing its layout.
TRANSPARENT_KINDS = MODIFIER_KINDS | {Kind.TYPEDEF}


@dataclass(frozen=True, slots=True)
class Member:
    """A struct/union member; bit_size is non-zero only for bitfields."""

    name: str
    type: int
    bit_offset: int
    bit_size: int = 0

    @property
    def offset(self) -> int:
        """Byte offset of the member (of the storage unit start for bitfields)."""
        return self.bit_offset // 8

    @property
    def is_bitfield(self) -> bool:
        return self.bit_size != 0


@dataclass(frozen=True, slots=True)
class Enumerator:
    name: str
    value: int
    # The source writes the value out (`= 22`) instead of leaving it to the compiler; False where
    # unknown (BTF). Not part of equality: the value is the ABI, how it was spelled is not.
    explicit: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class Param:
    """A function-prototype parameter; a trailing Param("", 0) marks varargs, as in BTF."""

    name: str
    type: int


@dataclass(frozen=True, slots=True)
class SecVar:
    """One variable placed in a DATASEC."""

    type: int
    offset: int
    size: int


@dataclass(frozen=True, slots=True, init=False)
class Type:
    """One type record, immutable. Fields not meaningful for a kind keep their defaults.

    `ref` is the referenced type for PTR, TYPEDEF, modifiers, TYPE_TAG, DECL_TAG, FUNC, VAR,
    the return type for FUNC_PROTO and the element type for ARRAY.
    """

    kind: Kind
    name: str = ""
    size: int = 0
    ref: int = 0
    members: tuple[Member, ...] = ()
    enumerators: tuple[Enumerator, ...] = ()
    params: tuple[Param, ...] = ()
    vars: tuple[SecVar, ...] = ()
    nelems: int = 0
    index_type: int = 0
    encoding: IntEncoding = IntEncoding.NONE
    int_bits: int = 0
    int_offset: int = 0
    signed: bool = False  # ENUM / ENUM64
    kind_flag: bool = False  # BTF kind_flag: FWD of a union, attribute-style tags, bitfield members
    linkage: int = 0  # FUNC / VAR
    component_idx: int = -1  # DECL_TAG: member/param index, -1 for the whole declaration
    align: int = 0  # alignment given by a compiler front end; 0 = not recorded (BTF)
    location: str = ""  # "file:line" where the source knows it

    # Written out because readers build millions of these: the __init__ dataclasses generates for a
    # frozen class is several times slower (3.11). Parameters: the fields, in order, with their defaults.
    def __init__(
        self,
        kind: Kind,
        name: str = "",
        size: int = 0,
        ref: int = 0,
        members: tuple[Member, ...] = (),
        enumerators: tuple[Enumerator, ...] = (),
        params: tuple[Param, ...] = (),
        vars: tuple[SecVar, ...] = (),
        nelems: int = 0,
        index_type: int = 0,
        encoding: IntEncoding = IntEncoding.NONE,
        int_bits: int = 0,
        int_offset: int = 0,
        signed: bool = False,
        kind_flag: bool = False,
        linkage: int = 0,
        component_idx: int = -1,
        align: int = 0,
        location: str = "",
        _set: Callable[[object, str, object], None] = object.__setattr__,
    ) -> None:
        _set(self, "kind", kind)
        _set(self, "name", name)
        _set(self, "size", size)
        _set(self, "ref", ref)
        _set(self, "members", members)
        _set(self, "enumerators", enumerators)
        _set(self, "params", params)
        _set(self, "vars", vars)
        _set(self, "nelems", nelems)
        _set(self, "index_type", index_type)
        _set(self, "encoding", encoding)
        _set(self, "int_bits", int_bits)
        _set(self, "int_offset", int_offset)
        _set(self, "signed", signed)
        _set(self, "kind_flag", kind_flag)
        _set(self, "linkage", linkage)
        _set(self, "component_idx", component_idx)
        _set(self, "align", align)
        _set(self, "location", location)


VOID = Type(Kind.VOID)  # shared by every reader: safe because a Type cannot change


@dataclass(frozen=True, slots=True)
class Constant:
    """A named integer constant, e.g. an object-like `#define` evaluated for one target.

    What the front end knows of its expansion lets the comparer judge a change by structure.
    """

    name: str
    value: int
    location: str = ""
    refs: tuple[str, ...] = ()  # identifiers its #define's body names (macros, enumerators, ...), in order
    measures: tuple[str, ...] = ()  # types the expansion takes sizeof/_Alignof of, as C spells them
    flag_union: bool = False  # the body is names joined by `|` only (a mask of flags)
