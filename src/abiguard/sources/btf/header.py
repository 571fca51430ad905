"""The BTF header and section table: byte order, the 2026 layout extension, bounds and overlap checks."""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass

from ...errors import AbiguardError

MAGIC = 0xEB9F
VERSION = 1
HDR_LEN_V1 = 24  # magic .. str_len
HDR_LEN_LAYOUT = 32  # + layout_off, layout_len (2026)
LAYOUT_ENTRY_SIZE = 4  # struct btf_layout {u8 info_sz; u8 elem_sz; u16 flags}


@dataclass(frozen=True, slots=True)
class Section:
    """One section of a BTF blob, as absolute byte offsets into the blob."""

    name: str
    start: int
    length: int

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True, slots=True)
class BtfHeader:
    """A validated BTF header: byte order and the absolute extent of every section."""

    endian: str  # "little" | "big"
    hdr_len: int
    types: Section
    strings: Section
    layout: Section | None  # only with the 2026 header and layout_len > 0

    @property
    def fmt(self) -> str:
        """The `struct` byte-order prefix for this blob."""
        return "<" if self.endian == "little" else ">"


def parse_header(data: bytes, where: str, file_offset: int = 0, split: bool = False) -> BtfHeader:
    """Validate the header and section table of a BTF blob; errors name `where` and the byte offset."""

    def fail(offset: int, message: str) -> AbiguardError:
        return AbiguardError(where, f"BTF header at byte {file_offset + offset}: {message}")

    size = len(data)
    if size < 8:
        raise fail(0, f"truncated: {size} bytes, a BTF header needs at least {HDR_LEN_V1}")
    if data[:2] == b"\x9f\xeb":
        endian, fmt = "little", "<"
    elif data[:2] == b"\xeb\x9f":
        endian, fmt = "big", ">"
    else:
        raise fail(0, f"bad magic 0x{data[0]:02x}{data[1]:02x} (expected 0xeb9f in either byte order)")
    version, flags, hdr_len = struct.unpack_from(fmt + "BBI", data, 2)
    if version != VERSION:
        raise fail(2, f"unsupported BTF version {version} (expected {VERSION})")
    if flags != 0:
        raise fail(3, f"unsupported BTF flags 0x{flags:02x} (expected 0)")
    if hdr_len < HDR_LEN_V1:
        raise fail(4, f"hdr_len {hdr_len} is smaller than the {HDR_LEN_V1}-byte BTF header")
    if hdr_len > size:
        raise fail(4, f"hdr_len {hdr_len} runs past the end of the data ({size} bytes): truncated")
    # Like the kernel: a longer header than we know is fine only if the unknown tail is all zero.
    if hdr_len > HDR_LEN_LAYOUT:
        tail = data[HDR_LEN_LAYOUT:hdr_len]
        if tail.count(0) != len(tail):
            first = next(i for i, b in enumerate(tail) if b)
            raise fail(HDR_LEN_LAYOUT + first, f"unsupported BTF header: unknown nonzero field (hdr_len {hdr_len})")
    # Fields beyond hdr_len read as zero, as the kernel copies min(hdr_len, sizeof) into a zeroed header.
    fields = data[8 : min(hdr_len, HDR_LEN_LAYOUT)].ljust(HDR_LEN_LAYOUT - 8, b"\0")
    type_off, type_len, str_off, str_len, layout_off, layout_len = struct.unpack(fmt + "6I", fields)
    body = size - hdr_len

    sections = [("type", 8, type_off, type_len), ("string", 16, str_off, str_len)]
    if layout_len:
        sections.append(("layout", 24, layout_off, layout_len))
    for name, field_at, off, length in sections:
        if off > body or length > body - off:
            raise fail(
                field_at if off > body else field_at + 4,
                f"{name} section [{off}, +{length}) runs past the end of the data "
                f"({body} bytes after the header): truncated or corrupt",
            )
    if type_off % 4:
        raise fail(8, f"type section offset {type_off} is not 4-byte aligned")
    if layout_len:
        if layout_off % 4:
            raise fail(24, f"layout section offset {layout_off} is not 4-byte aligned")
        if layout_len % LAYOUT_ENTRY_SIZE:
            raise fail(28, f"layout section length {layout_len} is not a multiple of {LAYOUT_ENTRY_SIZE}")
    ordered = sorted((off, length, name, field_at) for name, field_at, off, length in sections if length)
    for (a_off, a_len, a_name, _), (b_off, _, b_name, b_field) in itertools.pairwise(ordered):
        if b_off < a_off + a_len:
            raise fail(b_field, f"{b_name} section at {b_off} overlaps the {a_name} section [{a_off}, +{a_len})")

    strings_at = hdr_len + str_off
    if str_len:
        if data[strings_at + str_len - 1] != 0:
            raise fail(20, f"string section (byte {file_offset + strings_at}) does not end with a NUL byte")
        if not split and data[strings_at] != 0:
            raise fail(16, f"string section (byte {file_offset + strings_at}) does not start with an empty string")
    elif not split:
        raise fail(20, "empty string section (needs at least the empty string)")

    return BtfHeader(
        endian=endian,
        hdr_len=hdr_len,
        types=Section("type", hdr_len + type_off, type_len),
        strings=Section("string", strings_at, str_len),
        layout=Section("layout", hdr_len + layout_off, layout_len) if layout_len else None,
    )
