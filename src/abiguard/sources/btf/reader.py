"""The BTF reader: raw BTF (/sys/kernel/btf/*), split BTF on a base, and the .BTF section of ELF files.

Parsing is one fast pass that indexes records and checks every link between them (table.py); types
decode (and their own fields are checked) on first access; `ParsedBtf.validate_all()` checks every id
at once, for commands that walk the whole file.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import AbiguardError
from ...fileio import BTF_MAGICS, ELF_MAGIC, read_file, read_magic
from ...model.graph import Diagnostic, TypeGraph
from ...model.target import TARGETS, Target, host_target
from .header import parse_header
from .kinds import MAX_TYPE_ID, kind_table, load_words, scan_types
from .table import BtfTypes

if TYPE_CHECKING:
    from .memo import ParseMemo


@dataclass(frozen=True)
class ParsedBtf:
    """A parsed BTF blob: its TypeGraph plus raw string access (for .BTF.ext and CO-RE)."""

    graph: TypeGraph
    btf: BtfTypes

    @cached_property
    def strings(self) -> bytes:
        """The string section; for split BTF the base's strings come first, as libbpf numbers them."""
        if self.btf.base is None:
            return self.btf.own_strings
        parts = []
        b: BtfTypes | None = self.btf
        while b is not None:
            parts.append(b.own_strings)
            b = b.base
        return b"".join(reversed(parts))

    def string_at(self, off: int) -> str:
        """The string at a string-section offset; an offset out of range is an AbiguardError."""
        try:
            return self.btf.string_at(off)
        except LookupError as e:
            raise AbiguardError(self.btf.where, f"BTF string offset {off} {e.args[0]}") from None

    def validate_all(self) -> None:
        """Decode and check every type id now (otherwise each is checked on first use)."""
        self.btf.validate_all()

    @property
    def scan(self) -> tuple[array, array]:
        """The record index of this blob (starts, name offsets), for `parse_btf(..., scan=)` of the same bytes."""
        return self.btf.starts, self.btf.name_offs


def _default_raw_target(endian: str) -> Target:
    """Raw BTF says nothing of its arch: the host's when the byte order matches, else big-endian s390x."""
    host = host_target()
    return host if host.endian == endian else TARGETS["s390x"]


def _base_types(base: TypeGraph | ParsedBtf | None, where: str) -> BtfTypes | None:
    if base is None:
        return None
    if isinstance(base, ParsedBtf):
        return base.btf
    if isinstance(base.types, BtfTypes):
        return base.types
    raise AbiguardError(where, f"the base of split BTF must itself be BTF, not {base.source or 'another source'}")


def parse_btf(
    data: bytes,
    where: str,
    base: TypeGraph | ParsedBtf | None = None,
    target: Target | None = None,
    *,
    file_offset: int = 0,
    scan: tuple[array, array] | None = None,
    proven: tuple[bytes, ...] | None = None,
    memo: ParseMemo | None = None,
) -> ParsedBtf:
    """Parse one BTF blob (split on `base` when given); errors name `where` and the byte offset.

    `file_offset` is where the blob starts in its file (an ELF section), so offsets in errors are file offsets.
    `scan` is the (record starts, name offsets) an earlier parse of these same bytes found (`ParsedBtf.scan`),
    which spares the record scan, the one cost of parsing that grows with the file; `proven` is what the
    checks of such a parse established (`BtfTypes.proven()`), which spares checking it again. `memo`
    keeps both per content for whole blobs, so a later read of the same bytes is spared both.
    """
    where = str(where)
    if not isinstance(data, bytes):
        data = bytes(data)  # bytearray / memoryview from callers: one copy buys bytes' find/count
    base_types = _base_types(base, where)
    header = parse_header(data, where, file_offset, split=base_types is not None)
    table = kind_table(data, header, where, file_offset)
    words = load_words(data, header.types.start, header.types.length, header.endian)
    type_start = file_offset + header.types.start

    def fail_at(word: int, message: str) -> AbiguardError:
        return AbiguardError(where, f"BTF type section at byte {type_start + 4 * word}: {message}")

    memo_key = memo.key(data) if memo is not None and base_types is None and scan is None else None
    remembered = memo.restore(memo_key) if memo is not None and memo_key is not None else None
    if remembered is not None:
        scan, proven = remembered
    starts, name_offs = scan if scan is not None else scan_types(words, table, header.types.length, fail_at)
    first_id = base_types.count if base_types is not None else 1
    if first_id + len(starts) - 1 > MAX_TYPE_ID:
        raise fail_at(0, f"{first_id + len(starts) - 1} types exceed BTF's limit of {MAX_TYPE_ID} type ids")
    strings = data[header.strings.start : header.strings.end]
    btf = BtfTypes(
        where=where,
        file_offset=file_offset,
        header=header,
        strings=strings,
        words=words,
        starts=starts,
        name_offs=name_offs,
        base=base_types,
    )
    if proven is not None:
        btf.restore_proven(proven)
    btf.check_links()
    if memo is not None and memo_key is not None and remembered is None:
        memo.store(memo_key, (starts, name_offs), btf.proven())
    diagnostics: list[Diagnostic] = []
    if table.from_layout:
        for local, w in enumerate(starts):
            kind = (words[w + 1] >> 24) & 0x7F
            if kind in table.from_layout:
                tid = first_id + local
                diagnostics.append(
                    Diagnostic(
                        f"{where}: byte {btf.record_offset(tid)}",
                        f"type [{tid}] has kind {kind}, unknown to abiguard; skipped using the layout section",
                    )
                )
    if target is None:
        if base is not None:
            target = base.graph.target if isinstance(base, ParsedBtf) else base.target
        else:
            target = _default_raw_target(header.endian)
    if target.endian != header.endian:
        raise AbiguardError(where, f"BTF is {header.endian}-endian but the target {target.name} is {target.endian}")
    graph = TypeGraph(
        target=target,
        types=btf,
        source=where,
        diagnostics=tuple(diagnostics),
        name_lookup=btf.ids_named,
    )
    return ParsedBtf(graph, btf)


def read_btf(
    path: str | Path,
    base: TypeGraph | ParsedBtf | None = None,
    target: Target | None = None,
    memo: ParseMemo | None = None,
) -> ParsedBtf:
    """Parse a raw BTF file or the .BTF section of an ELF file (using its .BTF.base when it has one)."""
    path = Path(path)
    magic = read_magic(path)
    if magic[:2] in BTF_MAGICS:
        return parse_btf(_read(path), str(path), base, target, memo=memo)
    if magic != ELF_MAGIC:
        raise AbiguardError(path, "not a BTF file or an ELF object (bad magic)")
    from .elf import elf_target, read_elf

    info = read_elf(path, (".BTF", ".BTF.base"))
    btf_sec = info.sections.get(".BTF")
    if btf_sec is None:
        raise AbiguardError(path, "ELF file has no .BTF section (built without BTF, e.g. missing -g)")
    if target is None:
        target = elf_target(path, info)
    distilled = info.sections.get(".BTF.base")
    if distilled is None:
        return parse_btf(btf_sec.data, str(path), base, target, file_offset=btf_sec.file_offset, memo=memo)
    # Modules built with a distilled base number their ids after it, not after the full vmlinux: read
    # them on it (it names and sizes the base types they use). Relocating onto a given base is not done.
    distilled_base = parse_btf(distilled.data, f"{path} (.BTF.base)", None, target, file_offset=distilled.file_offset)
    parsed = parse_btf(btf_sec.data, str(path), distilled_base, target, file_offset=btf_sec.file_offset)
    if base is not None:
        note = Diagnostic(str(path), "split on its own .BTF.base (distilled); the given base BTF was not used")
        parsed.graph.diagnostics = (*parsed.graph.diagnostics, note)
    return parsed


def read_btf_file(
    path: str | Path, base: TypeGraph | None = None, target: Target | None = None, memo: ParseMemo | None = None
) -> TypeGraph:
    """The TypeGraph of a raw BTF file or an ELF file's .BTF section (split on `base` when given)."""
    return read_btf(path, base, target, memo).graph


def elf_section(path: str | Path, name: str) -> bytes | None:
    """The bytes of a named ELF section, or None when the file has no such section."""
    from .elf import read_elf

    path = Path(path)
    if read_magic(path) != ELF_MAGIC:
        raise AbiguardError(path, "not an ELF file")
    sec = read_elf(path, (name,)).sections.get(name)
    return sec.data if sec is not None else None


def btf_from_elf(path: str | Path) -> bytes:
    """The raw .BTF section of an ELF file; its absence is an AbiguardError."""
    data = elf_section(path, ".BTF")
    if data is None:
        raise AbiguardError(path, "ELF file has no .BTF section (built without BTF, e.g. missing -g)")
    return data


def _read(path: Path) -> bytes:
    from .elf import MAX_BTF_SIZE

    return read_file(path, MAX_BTF_SIZE, ", too large for BTF")
