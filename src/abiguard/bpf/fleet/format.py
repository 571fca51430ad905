"""The fleet index file: magic, version, checksum, and sections read lazily in compressed chunks.

Layout: MAGIC (8) | u32 version | u64 body length | sha256 of body (32) | body. The body is a list
of sections (4-byte tag, u64 length, payload). Records and postings are chunked so a query inflates
only the chunks holding the types it asks about.
- STRS: every name, sorted, NUL-separated.
- RECS: records as int64 words: kind|weak<<5|kind_flag<<6, name, #ints, #names, #refs, ints, names, refs
  (refs are record index + 1, 0 for void).
- POST: per record, the (kernel, type id) pairs holding it, as deltas: the per-kernel name tables.
- NAME: (string, record) pairs sorted, for every named strong record: lookup by name.
- KERN: kernel metadata, JSON.
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
VERSION = 1
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
    postings: list[list[tuple[int, int]]]  # per record: (kernel index, type id), ascending kernel
    kernels: list[dict[str, object]]


def encode(data: FleetData) -> bytes:
    """Deterministic bytes for an index."""
    recs = data.records
    rec_chunks, post_chunks = [], []
    for start in range(0, len(recs), CHUNK):
        words: list[int] = []
        posts: list[int] = []
        for i in range(start, min(start + CHUNK, len(recs))):
            r = recs[i]
            words += (r.kind | r.weak << 5 | r.kind_flag << 6, r.name, len(r.ints), len(r.names), len(r.refs))
            words += (v - _I64_WRAP if v >= 1 << 63 else v for v in r.ints)
            words += r.names
            words += r.refs
            plist = data.postings[i]
            posts.append(len(plist))
            last_k = last_id = 0
            for k, tid in plist:
                posts += (k - last_k, tid - last_id)
                last_k, last_id = k, tid
        rec_chunks.append(_pack(words))
        post_chunks.append(_pack(posts, "i"))
    pairs = sorted((r.name, i) for i, r in enumerate(recs) if r.name and not r.weak and data.postings[i])
    names = _chunked([_pack((s for s, _ in pairs), "I"), _pack((i for _, i in pairs), "I")])
    strs = lzma.compress("\0".join(data.strings).encode("utf-8", "surrogateescape"), preset=_LZMA_PRESET)
    meta = json.dumps(data.kernels, sort_keys=True, separators=(",", ":")).encode()
    sections = [
        (b"STRS", strs),
        (b"RECS", _chunked(rec_chunks)),
        (b"POST", _chunked(post_chunks)),
        (b"NAME", names),
        (b"KERN", lzma.compress(meta, preset=_LZMA_PRESET)),
    ]
    body = b"".join(_SECTION.pack(tag, len(p)) + p for tag, p in sections)
    return _HEAD.pack(MAGIC, VERSION, len(body), hashlib.sha256(body).digest()) + body


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
    _rec_cache: dict[int, list[StoredRecord]] = field(default_factory=dict)
    _post_cache: dict[int, list[list[tuple[int, int]]]] = field(default_factory=dict)
    _names: tuple[array, array] | None = None

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

    def _chunks(self, tag: bytes) -> list[memoryview]:
        try:
            return _unchunk(self.sections[tag])
        except FleetFormatError as e:
            raise self.fail(f"{tag.decode()} section: {e}") from None

    @property
    def record_count(self) -> int:
        if self._rec_chunks is None:
            self._rec_chunks = self._chunks(b"RECS")
        if not self._rec_chunks:
            return 0
        return (len(self._rec_chunks) - 1) * CHUNK + len(self._records_of(len(self._rec_chunks) - 1))

    def record(self, index: int) -> StoredRecord:
        if self._rec_chunks is None:
            self._rec_chunks = self._chunks(b"RECS")
        chunk, at = divmod(index, CHUNK)
        if not 0 <= chunk < len(self._rec_chunks):
            raise self.fail(f"record {index} is out of range")
        recs = self._records_of(chunk)
        if at >= len(recs):
            raise self.fail(f"record {index} is out of range")
        return recs[at]

    def _records_of(self, chunk: int) -> list[StoredRecord]:
        cached = self._rec_cache.get(chunk)
        if cached is not None:
            return cached
        assert self._rec_chunks is not None
        try:
            words = _unpack(bytes(self._rec_chunks[chunk]))
            recs = _decode_records(words, len(self.strings), chunk * CHUNK)
        except (FleetFormatError, IndexError) as e:
            raise self.fail(f"record chunk {chunk}: {e or 'truncated'}") from None
        self._rec_cache[chunk] = recs
        return recs

    def postings(self, index: int) -> list[tuple[int, int]]:
        """(kernel index, type id) of every kernel holding record `index` as a named type."""
        if self._post_chunks is None:
            self._post_chunks = self._chunks(b"POST")
        chunk, at = divmod(index, CHUNK)
        cached = self._post_cache.get(chunk)
        if cached is None:
            if not 0 <= chunk < len(self._post_chunks):
                raise self.fail(f"postings of record {index} are out of range")
            try:
                cached = _decode_postings(_unpack(bytes(self._post_chunks[chunk]), "i"), len(self.kernels))
            except (FleetFormatError, IndexError) as e:
                raise self.fail(f"postings chunk {chunk}: {e or 'truncated'}") from None
            self._post_cache[chunk] = cached
        if at >= len(cached):
            raise self.fail(f"postings of record {index} are out of range")
        return cached[at]

    def records_named(self, string: int) -> list[int]:
        """Strong records carrying the name with this string index."""
        if self._names is None:
            chunks = self._chunks(b"NAME")
            if len(chunks) != 2:
                raise self.fail("name index has the wrong shape")
            try:
                keys, values = _unpack(bytes(chunks[0]), "I"), _unpack(bytes(chunks[1]), "I")
            except FleetFormatError as e:
                raise self.fail(f"name index: {e}") from None
            if len(keys) != len(values):
                raise self.fail("name index columns differ in length")
            self._names = (keys, values)
        from bisect import bisect_left, bisect_right

        keys, values = self._names
        return list(values[bisect_left(keys, string) : bisect_right(keys, string)])

    def load_all(self) -> FleetData:
        """Every record and posting, for updating the index."""
        n = self.record_count
        return FleetData(
            strings=list(self.strings),
            records=[self.record(i) for i in range(n)],
            postings=[self.postings(i) for i in range(n)],
            kernels=[dict(k) for k in self.kernels],
        )


def _decode_records(words: array, n_strings: int, first: int) -> list[StoredRecord]:
    out: list[StoredRecord] = []
    i, n = 0, len(words)
    while i < n:
        if i + 5 > n:
            raise FleetFormatError("record header is truncated")
        head, name, n_ints, n_names, n_refs = words[i : i + 5]
        i += 5
        end = i + n_ints + n_names + n_refs
        if min(n_ints, n_names, n_refs) < 0 or end > n:
            raise FleetFormatError("record runs past its chunk")
        kind = head & 0x1F
        ints = tuple(words[i : i + n_ints])
        if kind == 19 and not head >> 6 & 1:  # unsigned ENUM64 values were wrapped into int64
            ints = (*ints[:2], *(v + _I64_WRAP if v < 0 else v for v in ints[2:]))
        names = tuple(words[i + n_ints : i + n_ints + n_names])
        refs = tuple(words[i + n_ints + n_names : end])
        i = end
        if not 0 <= name < n_strings or any(not 0 <= s < n_strings for s in names):
            raise FleetFormatError("string index out of range")
        if any(not 0 <= r <= first + len(out) for r in refs):
            raise FleetFormatError("reference to a record not stored before it")
        out.append(StoredRecord(kind, bool(head >> 5 & 1), bool(head >> 6 & 1), name, ints, names, refs))
    return out


def _decode_postings(words: array, n_kernels: int) -> list[list[tuple[int, int]]]:
    out: list[list[tuple[int, int]]] = []
    i, n = 0, len(words)
    while i < n:
        count = words[i]
        i += 1
        if count < 0 or i + 2 * count > n:
            raise FleetFormatError("postings run past their chunk")
        plist = []
        k = tid = 0
        for j in range(i, i + 2 * count, 2):
            k += words[j]
            tid += words[j + 1]
            if not 0 <= k < n_kernels or tid <= 0:
                raise FleetFormatError("posting names a kernel or type id out of range")
            plist.append((k, tid))
        out.append(plist)
        i += 2 * count
    return out


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
    missing = [t.decode() for t in (b"STRS", b"RECS", b"POST", b"NAME", b"KERN") if t not in sections]
    if missing:
        raise AbiguardError(path, f"corrupt fleet index: missing section(s) {', '.join(missing)}")
    return FleetFile(path, sections, len(data))


def check_path(path: Path) -> None:
    """Refuse an output path that is a directory before any work is done."""
    if path.is_dir():
        raise AbiguardError(path, "is a directory")
