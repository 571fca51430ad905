"""BTF-like type records: one `Type` per id, plus the small records it is made of."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(slots=True)
class Type:
    """One type record. Fields not meaningful for a kind keep their defaults.

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

    @property
    def is_composite(self) -> bool:
        return self.kind in COMPOSITE_KINDS

    @property
    def is_enum(self) -> bool:
        return self.kind in ENUM_KINDS

    @property
    def is_fwd_union(self) -> bool:
        return self.kind == Kind.FWD and self.kind_flag


VOID = Type(Kind.VOID)


@dataclass(frozen=True, slots=True)
class Constant:
    """A named integer constant, e.g. an object-like `#define` evaluated for one target."""

    name: str
    value: int
    location: str = ""
