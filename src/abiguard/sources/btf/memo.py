"""What parsing a large BTF blob established, kept per content: the record scan and the link proof.

Every command parses its whole kernel BTF and checks every link before it answers (see table.py); on a
kernel of ~126k types that is most of a `layout` run. A later read of the same bytes by the same code
restores both (`parse_btf(scan=, proven=)`) and checks nothing twice. Entries are pickles written
atomically under $XDG_CACHE_HOME/abiguard/btf, named by the code's and the blob's digests and carrying
their own checksum: a damaged entry is parsed afresh, never trusted in part.
"""

from __future__ import annotations

import hashlib
import pickle
from array import array
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ...fileio import CacheWriter, cache_root
from ...fileio import code_digest as package_digest

FORMAT = 1
# Smaller blobs (objects, modules) parse in milliseconds: an entry would cost more than it saves.
MIN_BYTES = 1 << 20


@cache
def _code() -> str:
    from ... import model
    from .. import btf

    return hashlib.sha256(f"{FORMAT}:{package_digest(btf, model)}".encode()).hexdigest()[:16]


@dataclass
class ParseMemo:
    """Scan and link proof of whole (not split) BTF blobs by content; `directory` None keeps nothing."""

    directory: Path | None = field(default_factory=lambda: cache_root() / "btf")
    _writer: CacheWriter | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._writer = CacheWriter(self.directory) if self.directory is not None else None

    def key(self, data: bytes) -> str | None:
        """The entry name for these bytes, or None when they are not worth one."""
        if self.directory is None or len(data) < MIN_BYTES:
            return None
        return f"{_code()}-{hashlib.sha256(data).hexdigest()}"

    def restore(self, key: str) -> tuple[tuple[array, array], tuple[bytes, ...]] | None:
        """(scan, proven) stored for `key`, or None when there is no whole entry."""
        assert self.directory is not None
        try:
            value = pickle.loads((self.directory / key).read_bytes())
        except Exception:  # missing, truncated or foreign: parse afresh
            return None
        if not (isinstance(value, tuple) and len(value) == 4 and value[0] == FORMAT and value[3] == key):
            return None
        return _entry(value[1], value[2])

    def store(self, key: str, scan: tuple[array, array], proven: tuple[bytes, ...]) -> None:
        """Keep what a parse of these bytes established; a cache that cannot be written warns once."""
        if self._writer is None:
            return
        starts, names = scan
        parts = (starts.tobytes(), names.tobytes(), *proven)
        self._writer.put(key, pickle.dumps((FORMAT, parts, _checksum(parts), key), protocol=pickle.HIGHEST_PROTOCOL))


def _checksum(parts: tuple[bytes, ...]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little") + part)
    return h.hexdigest()


def _entry(parts: object, checksum: object) -> tuple[tuple[array, array], tuple[bytes, ...]] | None:
    if not (isinstance(parts, tuple) and len(parts) == 7 and all(isinstance(p, bytes) for p in parts)):
        return None
    if checksum != _checksum(parts) or len(parts[0]) != len(parts[1]) or len(parts[0]) % 4:
        return None
    starts, names = array("I"), array("I")
    starts.frombytes(parts[0])
    names.frombytes(parts[1])
    return (starts, names), parts[2:]
