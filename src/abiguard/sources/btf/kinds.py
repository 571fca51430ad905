"""Record sizes per BTF kind, the optional layout section, and the fast first pass over the type section."""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from ...errors import AbiguardError
from ...model.types import Kind
from .header import LAYOUT_ENTRY_SIZE, BtfHeader

MAX_KIND = 0x7F  # kind is info bits 24-30 since 2026 (bits 24-28 before; the wider field reads the same)
VLEN_MASK = 0xFFFFFF  # vlen is info bits 0-23 since 2026 (bits 0-15 before; older encoders left 16-23 zero)
MAX_TYPE_ID = 0xFFFFF  # BTF_MAX_TYPE, the kernel's limit for a type id

# (words after the 12-byte common record, words per vlen element) for the kinds this reader knows.
KNOWN_SIZES: dict[int, tuple[int, int]] = {
    Kind.INT: (1, 0),
    Kind.PTR: (0, 0),
    Kind.ARRAY: (3, 0),
    Kind.STRUCT: (0, 3),
    Kind.UNION: (0, 3),
    Kind.ENUM: (0, 2),
    Kind.FWD: (0, 0),
    Kind.TYPEDEF: (0, 0),
    Kind.VOLATILE: (0, 0),
    Kind.CONST: (0, 0),
    Kind.RESTRICT: (0, 0),
    Kind.FUNC: (0, 0),  # vlen holds the linkage, not a count
    Kind.FUNC_PROTO: (0, 2),
    Kind.VAR: (1, 0),
    Kind.DATASEC: (0, 3),
    Kind.FLOAT: (0, 0),
    Kind.DECL_TAG: (1, 0),
    Kind.TYPE_TAG: (0, 0),
    Kind.ENUM64: (0, 3),
}


@dataclass(frozen=True, slots=True)
class KindTable:
    """Per-kind record geometry in 32-bit words, indexed by kind (None = unknown kind)."""

    info_words: tuple[int | None, ...]
    elem_words: tuple[int, ...]
    from_layout: frozenset[int]  # kinds we do not know, sized by the layout section


def kind_table(data: bytes, header: BtfHeader, where: str, file_offset: int = 0) -> KindTable:
    """Record geometry for every kind: ours for known kinds, the layout section's for the others."""
    info: list[int | None] = [None] * (MAX_KIND + 1)
    elem = [0] * (MAX_KIND + 1)
    for kind, (iw, ew) in KNOWN_SIZES.items():
        info[kind], elem[kind] = iw, ew
    extra: set[int] = set()
    layout = header.layout
    if layout is not None:
        count = min(layout.length // LAYOUT_ENTRY_SIZE, MAX_KIND + 1)
        for kind, (info_sz, elem_sz, _flags) in enumerate(
            struct.iter_unpack(header.fmt + "BBH", data[layout.start : layout.start + count * LAYOUT_ENTRY_SIZE])
        ):
            at = file_offset + layout.start + kind * LAYOUT_ENTRY_SIZE
            if kind == Kind.VOID:
                continue  # entry 0 describes no record (kind 0 never appears in the type section)
            if kind in KNOWN_SIZES:
                known = KNOWN_SIZES[kind]
                if (info_sz, elem_sz) != (4 * known[0], 4 * known[1]):
                    raise AbiguardError(
                        where,
                        f"BTF layout section at byte {at}: kind {Kind(kind).name} has info_sz {info_sz}, "
                        f"elem_sz {elem_sz}, but its records are {4 * known[0]} and {4 * known[1]} bytes",
                    )
                continue
            # Records stay 4-byte aligned in every encoder; a size that breaks this is corruption.
            if info_sz % 4 or elem_sz % 4:
                raise AbiguardError(
                    where,
                    f"BTF layout section at byte {at}: kind {kind} sizes {info_sz}/{elem_sz} are not multiples of 4",
                )
            info[kind], elem[kind] = info_sz // 4, elem_sz // 4
            extra.add(kind)
    return KindTable(tuple(info), tuple(elem), frozenset(extra))


def load_words(data: bytes, start: int, length: int, endian: str) -> array:
    """The section as native 32-bit words (byte-swapped when the blob's order differs from the host's)."""
    words = array("I")
    if words.itemsize != 4:  # pragma: no cover - every platform CPython supports has a 4-byte int
        words = array("L")
    words.frombytes(memoryview(data)[start : start + length - length % 4])
    if endian != sys.byteorder:
        words.byteswap()
    return words


def scan_types(
    words: array, table: KindTable, type_len: int, fail_at: Callable[[int, str], AbiguardError]
) -> tuple[array, array]:
    """Word index and name offset of every record in the type section, checking kind and extent (vlen).

    `fail_at(word_index, message)` builds the error. This loop is the start-up cost of every command,
    so each record costs a handful of operations: an unknown kind surfaces as a TypeError (None + int),
    a cut record as an IndexError, and a record running past the end as the loop overshooting.
    """
    starts, names = array("I"), array("I")
    append, append_name = starts.append, names.append
    # Indexed by the info word's top byte (kind_flag included), which saves a mask per record.
    fixed = tuple(None if iw is None else 3 + iw for iw in table.info_words) * 2
    elem_words = table.elem_words * 2
    n = len(words)
    i = 0
    try:
        while i < n:
            info = words[i + 1]
            top = info >> 24
            size = fixed[top] + (info & VLEN_MASK) * elem_words[top]  # type: ignore[operator]
            append(i)
            append_name(words[i])
            i += size
    except IndexError:
        raise fail_at(i, f"truncated type record: {4 * (n - i)} bytes left, a record needs 12") from None
    except TypeError:
        kind = (words[i + 1] >> 24) & MAX_KIND
        if kind == Kind.VOID:
            raise fail_at(i, "type record with kind 0 (only the implicit void has it)") from None
        hint = " and the file has no layout section to size it" if not table.from_layout else ""
        raise fail_at(i, f"unknown BTF kind {kind}{hint}") from None
    if i > n:
        last = starts[-1]
        info = words[last + 1]
        kind, vlen = (info >> 24) & MAX_KIND, info & VLEN_MASK
        needed = 4 * (i - last)
        raise fail_at(
            last,
            f"{_kind_name(kind)} record with vlen {vlen} needs {needed} bytes but only "
            f"{4 * (n - last)} are left in the type section",
        )
    if type_len % 4:
        raise fail_at(n, f"type section length {type_len} is not a multiple of 4: truncated record")
    return starts, names


def _kind_name(kind: int) -> str:
    return Kind(kind).name if kind in KNOWN_SIZES else f"kind {kind}"
