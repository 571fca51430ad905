"""The fleet index file: magic, version, checksum, and sections read lazily in compressed chunks.

Layout: MAGIC (8) | u32 version | u64 body length | sha256 of body (32) | body. The body is a list
of sections (4-byte tag, u64 length, payload). Records and postings are chunked so a query inflates
only the chunks holding the types it asks about.
- STRS: every name, sorted, NUL-separated.
- RECS: records as int64 words: kind|weak<<5|kind_flag<<6, name, #ints, #names, #refs, ints, names, refs
  (refs are record index + 1, 0 for void).
- POST: per record, the (kernel, type id) pairs holding it: the per-kernel name tables. Each record's
  words start with its form: 0, then the pairs as deltas from the pair before; or 1, then runs of
  consecutive kernels holding it under one id as (first kernel - last kernel before, id delta, length),
  whichever is shorter (a series of releases keeps most ids for many kernels: a query inflates runs,
  not a pair per kernel).
- NAME: (string, record) pairs sorted, for every named strong record: lookup by name.
- KERN: kernel metadata, JSON.
- MPOS: per record, the (module slot, own index) pairs holding it, in the form of POST: the modules' name
  tables. A slot is one distinct module content (its named types); own index i is type id split_start + i - 1.
- SLOT: per slot, its number of own types.
- KMOD: per kernel, its modules: (name string, slot) pairs in name order.
Version 2 added the modules (MPOS, SLOT, KMOD); version 3 the run form of the postings.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import lzma
import struct
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import AbiguardError
from ...fileio import read_file

MAGIC = b"ABGFLEET"
VERSION = 3
CHUNK = 2048  # records per chunk
_HEAD = struct.Struct("<8sIQ32s")
_SECTION = struct.Struct("<4sQ")
_LZMA_PRESET = 1
_MAX_INDEX = 16 << 30
_I64_WRAP = 1 << 64


class FleetFormatError(Exception):
    """A malformed index; the caller names the file."""


def _pack(words: Iterable[int], code: str = "q") -> bytes:
    return lzma.compress(array(code, words).tobytes(), preset=_LZMA_PRESET)


def _unpack(blob: bytes, code: str = "q") -> array:
    try:
        raw = lzma.decompress(blob)
    except lzma.LZMAError as e:
        raise FleetFormatError(f"compressed data is damaged ({e})") from None
    out = array(code)
    if len(raw) % out.itemsize:
        raise FleetFormatError("compressed data has a partial word")
    out.frombytes(raw)
    return out


def _chunked(blobs: Sequence[bytes]) -> bytes:
    """u32 count, u64 offsets (count + 1), then the blobs."""
    offsets = [0]
    for b in blobs:
        offsets.append(offsets[-1] + len(b))
    return struct.pack(f"<I{len(offsets)}Q", len(blobs), *offsets) + b"".join(blobs)


def _unchunk(payload: bytes) -> list[memoryview]:
    if len(payload) < 4:
        raise FleetFormatError("chunk table is truncated")
    (count,) = struct.unpack_from("<I", payload)
    table = 4 + 8 * (count + 1)
    if len(payload) < table:
        raise FleetFormatError("chunk table is truncated")
    offsets = struct.unpack_from(f"<{count + 1}Q", payload, 4)
    view = memoryview(payload)[table:]
    if offsets[0] != 0 or offsets[-1] != len(view) or any(a > b for a, b in itertools.pairwise(offsets)):
        raise FleetFormatError("chunk offsets do not fit the section")
    return [view[offsets[i] : offsets[i + 1]] for i in range(count)]


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as the file holds it: names are string indexes, refs are record index + 1 (0 = void)."""

    kind: int
    weak: bool
    kind_flag: bool
    name: int
    ints: tuple[int, ...]
    names: tuple[int, ...]
    refs: tuple[int, ...]


@dataclass
class FleetData:
    """Everything an index holds, decoded eagerly (for building and updating)."""

    strings: list[str]
    records: list[StoredRecord]
    postings: list[Sequence[int]]  # per record: kernel index, type id, kernel index, ... ascending kernel
    kernels: list[dict[str, object]]
    module_postings: list[Sequence[int]]  # per record: slot, own index, slot, ... ascending slot
    slot_types: list[int]  # per slot: its own type count
    kernel_modules: list[list[tuple[int, int]]]  # per kernel: (module name string, slot), in name order


def _indexed(items: list[list[int]]) -> list[int]:
    """Words of one chunk: item count, item start offsets (count + 1), then the items' words."""
    offsets = [0]
    for item in items:
        offsets.append(offsets[-1] + len(item))
    return [len(items), *offsets, *(w for item in items for w in item)]


def _record_words(r: StoredRecord) -> list[int]:
    head = [r.kind | r.weak << 5 | r.kind_flag << 6, r.name, len(r.ints), len(r.names), len(r.refs)]
    return head + [v - _I64_WRAP if v >= 1 << 63 else v for v in r.ints] + list(r.names) + list(r.refs)


_PAIRS, _RUNS = 0, 1  # the two forms of a record's postings


def _posting_words(flat: Sequence[int]) -> list[int]:
    """(kernel, id) pairs, flat and ascending by kernel, as the shorter of the two forms (none: no words)."""
    if not flat:
        return []
    pairs = list(flat)
    for i in range(len(pairs) - 1, 1, -1):
        pairs[i] -= pairs[i - 2]
    runs: list[int] = []
    last_kernel = last_id = 0
    for j in range(0, len(flat), 2):
        kernel, tid = flat[j], flat[j + 1]
        if runs and kernel == last_kernel + 1 and tid == last_id:
            runs[-1] += 1
        else:
            runs += (kernel - last_kernel, tid - last_id, 1)
        last_kernel, last_id = kernel, tid
    return [_RUNS, *runs] if len(runs) < len(pairs) else [_PAIRS, *pairs]


def encode(data: FleetData) -> bytes:
    """Deterministic bytes for an index."""
    recs = data.records
    rec_chunks, post_chunks, mod_chunks = [], [], []
    for start in range(0, len(recs), CHUNK):
        stop = min(start + CHUNK, len(recs))
        rec_chunks.append(_pack(_indexed([_record_words(recs[i]) for i in range(start, stop)])))
        post_chunks.append(_pack(_indexed([_posting_words(data.postings[i]) for i in range(start, stop)]), "i"))
        mod_chunks.append(_pack(_indexed([_posting_words(data.module_postings[i]) for i in range(start, stop)]), "i"))
    # Every enum has postings, named or not: load checks look up anonymous UAPI flag enums by enumerator;
    # anonymous ones are indexed under the empty name.
    triples = sorted(
        (r.name, i, r.kind)
        for i, r in enumerate(recs)
        if (r.name or r.kind in (6, 19)) and not r.weak and (data.postings[i] or data.module_postings[i])
    )
    names = _chunked([_pack((t[c] for t in triples), "I") for c in range(3)])
    strs = lzma.compress("\0".join(data.strings).encode("utf-8", "surrogateescape"), preset=_LZMA_PRESET)
    meta = json.dumps(data.kernels, sort_keys=True, separators=(",", ":")).encode()
    sections = [
        (b"STRS", strs),
        (b"RECS", _chunked(rec_chunks)),
        (b"POST", _chunked(post_chunks)),
        (b"NAME", names),
        (b"KERN", lzma.compress(meta, preset=_LZMA_PRESET)),
        (b"MPOS", _chunked(mod_chunks)),
        (b"SLOT", _pack(data.slot_types, "I")),
        (b"KMOD", _pack(_indexed([[w for pair in mods for w in pair] for mods in data.kernel_modules]), "i")),
    ]
    body = b"".join(_SECTION.pack(tag, len(p)) + p for tag, p in sections)
    return _HEAD.pack(MAGIC, VERSION, len(body), hashlib.sha256(body).digest()) + body


class _Chunk:
    """One inflated chunk: items decoded on demand from their offsets."""

    def __init__(self, words: array) -> None:
        if not words or words[0] < 0 or len(words) < words[0] + 2:
            raise FleetFormatError("chunk header is truncated")
        n = words[0]
        self.count = n
        self.offsets = words[1 : n + 2]
        self.base = n + 2
        self.words = words
        if self.offsets[0] != 0 or self.offsets[-1] != len(words) - self.base:
            raise FleetFormatError("chunk offsets do not fit the chunk")

    def item(self, i: int) -> array:
        start, stop = self.offsets[i], self.offsets[i + 1]
        if not 0 <= start <= stop:
            raise FleetFormatError("chunk offsets are out of order")
        return self.words[self.base + start : self.base + stop]


@dataclass
class FleetFile:
    """An opened index: header and checksum verified, sections inflated on first use."""

    path: Path
    sections: dict[bytes, bytes]
    size: int
    _strings: list[str] | None = None
    _kernels: list[dict[str, object]] | None = None
    _rec_chunks: list[memoryview] | None = None
    _post_chunks: list[memoryview] | None = None
    _mod_chunks: list[memoryview] | None = None
    _chunk_cache: dict[tuple[bytes, int], _Chunk] = field(default_factory=dict)
    _rec_cache: dict[int, StoredRecord] = field(default_factory=dict)
    _post_cache: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)
    _names: tuple[array, array, array] | None = None
    _mpost_cache: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    _slot_types: array | None = None
    _kernel_modules: _Chunk | None = None

    def fail(self, message: str) -> AbiguardError:
        return AbiguardError(self.path, f"corrupt fleet index: {message}")

    @property
    def strings(self) -> list[str]:
        if self._strings is None:
            try:
                raw = lzma.decompress(self.sections[b"STRS"])
            except lzma.LZMAError as e:
                raise self.fail(f"string section is damaged ({e})") from None
            self._strings = raw.decode("utf-8", "surrogateescape").split("\0")
        return self._strings

    @property
    def kernels(self) -> list[dict[str, object]]:
        if self._kernels is None:
            try:
                value = json.loads(lzma.decompress(self.sections[b"KERN"]))
            except (lzma.LZMAError, ValueError) as e:
                raise self.fail(f"kernel table is damaged ({e})") from None
            if not isinstance(value, list) or not all(isinstance(k, dict) and "name" in k for k in value):
                raise self.fail("kernel table is not a list of kernels")
            self._kernels = value
        return self._kernels

    def _blobs(self, tag: bytes) -> list[memoryview]:
        if tag == b"RECS" and self._rec_chunks is not None:
            return self._rec_chunks
        if tag == b"POST" and self._post_chunks is not None:
            return self._post_chunks
        if tag == b"MPOS" and self._mod_chunks is not None:
            return self._mod_chunks
        try:
            blobs = _unchunk(self.sections[tag])
        except FleetFormatError as e:
            raise self.fail(f"{tag.decode()} section: {e}") from None
        if tag == b"RECS":
            self._rec_chunks = blobs
        elif tag == b"POST":
            self._post_chunks = blobs
        elif tag == b"MPOS":
            self._mod_chunks = blobs
        return blobs

    def _chunk(self, tag: bytes, chunk: int) -> _Chunk:
        got = self._chunk_cache.get((tag, chunk))
        if got is None:
            blobs = self._blobs(tag)
            if not 0 <= chunk < len(blobs):
                raise self.fail(f"{tag.decode()} chunk {chunk} is out of range")
            try:
                got = _Chunk(_unpack(bytes(blobs[chunk]), "q" if tag == b"RECS" else "i"))
            except FleetFormatError as e:
                raise self.fail(f"{tag.decode()} chunk {chunk}: {e}") from None
            self._chunk_cache[(tag, chunk)] = got
        return got

    @property
    def record_count(self) -> int:
        blobs = self._blobs(b"RECS")
        return (len(blobs) - 1) * CHUNK + self._chunk(b"RECS", len(blobs) - 1).count if blobs else 0

    def _item(self, tag: bytes, index: int) -> array:
        chunk, at = divmod(index, CHUNK)
        c = self._chunk(tag, chunk)
        if not 0 <= at < c.count:
            raise self.fail(f"{tag.decode()} item {index} is out of range")
        try:
            return c.item(at)
        except FleetFormatError as e:
            raise self.fail(f"{tag.decode()} chunk {chunk}: {e}") from None

    def record(self, index: int) -> StoredRecord:
        got = self._rec_cache.get(index)
        if got is None:
            try:
                got = _decode_record(self._item(b"RECS", index), len(self.strings), index)
            except FleetFormatError as e:
                raise self.fail(f"record {index}: {e}") from None
            self._rec_cache[index] = got
        return got

    def postings(self, index: int) -> list[tuple[int, int]]:
        """(kernel index, type id) of every kernel holding record `index` as a named type (or any enum)."""
        return list(zip(*self.posting_columns(index), strict=True))

    def posting_columns(self, index: int) -> tuple[list[int], list[int]]:
        """The postings of record `index` as two columns: kernel indexes (ascending) and their type ids."""
        got = self._post_cache.get(index)
        if got is None:
            try:
                got = _decode_posting_columns(self._item(b"POST", index), len(self.kernels))
            except FleetFormatError as e:
                raise self.fail(f"postings of record {index}: {e}") from None
            self._post_cache[index] = got
        return got

    def module_postings(self, index: int) -> list[tuple[int, int]]:
        """(slot, own index) of every module content holding record `index` as a named type (or any enum)."""
        got = self._mpost_cache.get(index)
        if got is None:
            try:
                got = _decode_postings(self._item(b"MPOS", index), len(self.slot_types))
            except FleetFormatError as e:
                raise self.fail(f"module postings of record {index}: {e}") from None
            for slot, own in got:
                if own > self.slot_types[slot]:
                    raise self.fail(f"module postings of record {index}: type {own} is past its module's end")
            self._mpost_cache[index] = got
        return got

    @property
    def slot_types(self) -> array:
        """Per module slot: its number of own types."""
        if self._slot_types is None:
            try:
                self._slot_types = _unpack(self.sections[b"SLOT"], "I")
            except FleetFormatError as e:
                raise self.fail(f"module slots: {e}") from None
        return self._slot_types

    def kernel_modules(self, kernel: int) -> list[tuple[int, int]]:
        """(module name string, slot) of each module of a kernel, in name order (none for a bare BTF)."""
        if self._kernel_modules is None:
            try:
                chunk = _Chunk(_unpack(self.sections[b"KMOD"], "i"))
            except FleetFormatError as e:
                raise self.fail(f"module table: {e}") from None
            if chunk.count != len(self.kernels):
                raise self.fail("module table does not list every kernel")
            self._kernel_modules = chunk
        try:
            words = self._kernel_modules.item(kernel)
        except FleetFormatError as e:
            raise self.fail(f"module table: {e}") from None
        pairs = list(zip(words[::2], words[1::2], strict=False))
        n_strings, n_slots = len(self.strings), len(self.slot_types)
        if len(words) % 2 or any(not (0 <= n < n_strings and 0 <= s < n_slots) for n, s in pairs):
            raise self.fail(f"module table of kernel {kernel} names a string or slot out of range")
        return pairs

    def records_named(self, string: int) -> list[tuple[int, int]]:
        """(record, kind) of the strong records carrying the name with this string index."""
        if self._names is None:
            chunks = self._blobs(b"NAME")
            if len(chunks) != 3:
                raise self.fail("name index has the wrong shape")
            try:
                cols = tuple(_unpack(bytes(c), "I") for c in chunks)
            except FleetFormatError as e:
                raise self.fail(f"name index: {e}") from None
            if len({len(c) for c in cols}) != 1:
                raise self.fail("name index columns differ in length")
            self._names = cols  # type: ignore[assignment]
        from bisect import bisect_left, bisect_right

        keys, recs, kinds = self._names  # type: ignore[misc]
        lo, hi = bisect_left(keys, string), bisect_right(keys, string)
        return list(zip(recs[lo:hi], kinds[lo:hi], strict=True))

    def load_all(self) -> FleetData:
        """Every record and posting, for updating the index."""
        n = self.record_count
        return FleetData(
            strings=list(self.strings),
            records=[self.record(i) for i in range(n)],
            postings=[array("I", (v for pair in self.postings(i) for v in pair)) for i in range(n)],
            kernels=[dict(k) for k in self.kernels],
            module_postings=[array("I", (v for pair in self.module_postings(i) for v in pair)) for i in range(n)],
            slot_types=list(self.slot_types),
            kernel_modules=[self.kernel_modules(k) for k in range(len(self.kernels))],
        )


def _decode_record(words: array, n_strings: int, index: int) -> StoredRecord:
    if len(words) < 5:
        raise FleetFormatError("record header is truncated")
    head, name, n_ints, n_names, n_refs = words[:5]
    end = 5 + n_ints + n_names + n_refs
    if min(n_ints, n_names, n_refs) < 0 or end != len(words):
        raise FleetFormatError("record does not fit its extent")
    kind = head & 0x1F
    ints = tuple(words[5 : 5 + n_ints])
    if kind == 19 and not head >> 6 & 1:  # unsigned ENUM64 values were wrapped into int64
        ints = (*ints[:2], *(v + _I64_WRAP if v < 0 else v for v in ints[2:]))
    names = tuple(words[5 + n_ints : 5 + n_ints + n_names])
    refs = tuple(words[5 + n_ints + n_names : end])
    if not 0 <= name < n_strings or any(not 0 <= s < n_strings for s in names):
        raise FleetFormatError("string index out of range")
    if any(not 0 <= r <= index for r in refs):
        raise FleetFormatError("reference to a record not stored before it")
    return StoredRecord(kind, bool(head >> 5 & 1), bool(head >> 6 & 1), name, ints, names, refs)


def _decode_postings(words: array, n_kernels: int) -> list[tuple[int, int]]:
    """(kernel, id) pairs from the delta words."""
    return list(zip(*_decode_posting_columns(words, n_kernels), strict=True))


def _decode_posting_columns(words: array, n_kernels: int) -> tuple[list[int], list[int]]:
    """Kernel and id columns from a record's posting words (either form)."""
    if not words:
        return [], []
    form, body = words[0], words[1:]
    if form == _PAIRS:
        if len(body) % 2:
            raise FleetFormatError("postings have a partial pair")
        # Running sums of the two interleaved delta streams, in C.
        kernels = list(itertools.accumulate(body[0::2]))
        ids = list(itertools.accumulate(body[1::2]))
    elif form == _RUNS:
        if len(body) % 3:
            raise FleetFormatError("postings have a partial run")
        kernels, ids = [], []
        kernel = tid = 0
        for step, id_step, length in zip(body[0::3], body[1::3], body[2::3], strict=True):
            kernel += step
            tid += id_step
            if length < 1 or not 0 <= kernel <= n_kernels - length:  # checked before the run is spelled out
                raise FleetFormatError("posting run names a kernel out of range")
            kernels.extend(range(kernel, kernel + length))
            ids.extend(itertools.repeat(tid, length))
            kernel += length - 1
    else:
        raise FleetFormatError(f"postings have unknown form {form}")
    if not kernels or min(kernels) < 0 or max(kernels) >= n_kernels or min(ids) <= 0:
        raise FleetFormatError("posting names a kernel or type id out of range")
    return kernels, ids


def open_fleet(path: Path) -> FleetFile:
    """Read and verify an index; anything but a whole, current-version index is an AbiguardError."""
    data = read_file(path, _MAX_INDEX, ", too large for a fleet index")
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise AbiguardError(path, "not an abiguard fleet index (bad magic)")
    if len(data) < _HEAD.size:
        raise AbiguardError(path, f"corrupt fleet index: truncated header ({len(data)} bytes)")
    _, version, body_len, digest = _HEAD.unpack_from(data)
    if version != VERSION:
        raise AbiguardError(path, f"fleet index format version {version}; this abiguard reads version {VERSION}")
    body = memoryview(data)[_HEAD.size :]
    if len(body) != body_len:
        raise AbiguardError(path, f"corrupt fleet index: {len(body)} body bytes, the header says {body_len}")
    if hashlib.sha256(body).digest() != digest:
        raise AbiguardError(path, "corrupt fleet index: checksum mismatch")
    sections: dict[bytes, bytes] = {}
    at = 0
    while at < len(body):
        if at + _SECTION.size > len(body):
            raise AbiguardError(path, "corrupt fleet index: truncated section header")
        tag, length = _SECTION.unpack_from(body, at)
        at += _SECTION.size
        if at + length > len(body):
            raise AbiguardError(path, f"corrupt fleet index: section {tag!r} runs past the end")
        sections[bytes(tag)] = bytes(body[at : at + length])
        at += length
    missing = [t.decode() for t in (b"STRS", b"RECS", b"POST", b"NAME", b"KERN", b"MPOS", b"SLOT", b"KMOD")
               if t not in sections]
    if missing:
        raise AbiguardError(path, f"corrupt fleet index: missing section(s) {', '.join(missing)}")
    return FleetFile(path, sections, len(data))


def check_path(path: Path) -> None:
    """Refuse an output path that is a directory before any work is done."""
    if path.is_dir():
        raise AbiguardError(path, "is a directory")
