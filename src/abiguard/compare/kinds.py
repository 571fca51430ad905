"""The kinds of change the comparer reports: the `kind` of every finding, part of the JSON contract."""

from __future__ import annotations

from enum import StrEnum


class ChangeKind(StrEnum):
    """One kind of difference; the value is what JSON, SARIF and waivers spell."""

    TYPE_ADDED = "type_added"
    TYPE_REMOVED = "type_removed"
    TYPE_RENAMED = "type_renamed"
    FUNC_ADDED = "func_added"
    FUNC_REMOVED = "func_removed"
    FUNC_PROTO_CHANGED = "func_proto_changed"
    SIZE_CHANGED = "size_changed"
    ALIGN_CHANGED = "align_changed"
    MEMBER_ADDED = "member_added"
    MEMBER_REMOVED = "member_removed"
    MEMBER_REPLACED = "member_replaced"
    MEMBER_RENAMED = "member_renamed"
    MEMBER_MOVED = "member_moved"
    MEMBER_OFFSET_CHANGED = "member_offset_changed"
    MEMBER_SIZE_CHANGED = "member_size_changed"
    MEMBER_TYPE_CHANGED = "member_type_changed"
    ARRAY_ELEMENT_SIZE_CHANGED = "array_element_size_changed"
    BITFIELD_CHANGED = "bitfield_changed"
    ARRAY_MADE_FLEXIBLE = "array_made_flexible"
    RESERVED_SHRUNK = "reserved_shrunk"
    TYPEDEF_RETARGETED = "typedef_retargeted"
    ENUMERATOR_ADDED = "enumerator_added"
    ENUMERATOR_REMOVED = "enumerator_removed"
    ENUMERATOR_RENAMED = "enumerator_renamed"
    ENUMERATOR_VALUE_CHANGED = "enumerator_value_changed"
    ENUM_SIZE_CHANGED = "enum_size_changed"
    ENUM_SIGNEDNESS_CHANGED = "enum_signedness_changed"
    CONSTANT_ADDED = "constant_added"
    CONSTANT_REMOVED = "constant_removed"
    CONSTANT_VALUE_CHANGED = "constant_value_changed"
    CONSTANT_TO_ENUMERATOR = "constant_to_enumerator"
    EMBEDDED_TYPE_CHANGED = "embedded_type_changed"
    HEADER_NO_LONGER_COMPILES = "header_no_longer_compiles"


class Placement(StrEnum):
    """Where a new member went, judged against the old layout."""

    APPENDED = "appended"  # after the old last member
    IN_HOLE = "in_hole"  # in padding no old member used
    IN_RESERVED = "in_reserved"  # in space an old reserve member gave up
    UNION = "union"  # a new alternative in a union (an old member wrapped in one, or a new branch)
    INSERTED = "inserted"  # between old members, moving the later ones
    OVERLAPS = "overlaps"  # over storage old members still use, nothing moved
