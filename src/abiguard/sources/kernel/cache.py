"""Content cache for parsed translation units: a re-run, or the other ref of a diff, skips unchanged work.

Layout under the cache root ($XDG_CACHE_HOME/abiguard, default ~/.cache/abiguard):
  units-v<N>/idx/<ab>/<prekey>.json   candidates for one TU: [(files read: [[path, sha256]...], key)]
  units-v<N>/res/<ab>/<key>.bin       MAGIC, format, sha256(payload), payload = pickle of the result
`prekey` hashes what is known before parsing (target, the reader's code, defines, TU text); the files a TU
read are only known after, so `key` adds their hashes. Results are pickles because they are the header
reader's own UnitResult objects (pickled anyway to cross process boundaries) and load fastest; the
checksum and format number make a corrupt or foreign entry a miss, never a wrong answer. The payload
is codec.py's compact form (model records as tuples), several times faster to load than plain pickle. Writes go to a
temp file renamed into place, so concurrent runs never see half a file, nor does a run killed while writing; a lost
index update between two concurrent runs only costs a later miss. A cache that cannot be written (read-only, full)
is still read; the run stores nothing more and warns once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...errors import CacheWarning
from ...fileio import atomic_write
from . import codec

FORMAT = 3  # 3: constants carry refs, measures and flag_union
MAGIC = b"ABGUNIT\0"
_MAX_CANDIDATES = 8  # per TU: enough for a few refs of a bisect or a diff without unbounded growth


def digest(*parts: str | bytes) -> str:
    """sha256 over length-prefixed parts, so no two part lists collide by concatenation."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode("utf-8", "surrogateescape") if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


class UnitCache:
    """Parse results keyed by TU text plus the content of every file the parse read."""

    def __init__(self, root: Path, warn: bool = True) -> None:
        """`warn`: say so (once) when writing fails; workers report the failure to their parent instead."""
        self.root = root
        self.dir = root / f"units-v{FORMAT}"
        self.corrupt = 0
        self.warn = warn
        self.write_error: str | None = None  # why writing stopped (read-only, full); entries are still read

    @property
    def writable(self) -> bool:
        return self.write_error is None

    def stop_writing(self, why: OSError | str) -> None:
        """Store nothing more in this run; the first failure says why. The same warning twice (two sources
        on one cache) is shown once: Python's warnings registry keys on text and line, and the line is this one."""
        if self.write_error is None:
            self.write_error = why if isinstance(why, str) else (why.strerror or str(why))
            if self.warn:
                warnings.warn(CacheWarning(f"{self.root}: cannot write the cache ({self.write_error}); "
                                           "going on without storing to it"), stacklevel=1)

    def _idx(self, prekey: str) -> Path:
        return self.dir / "idx" / prekey[:2] / f"{prekey}.json"

    def _res(self, key: str) -> Path:
        return self.dir / "res" / key[:2] / f"{key}.bin"

    def _candidates(self, prekey: str) -> list[tuple[list[tuple[str, str]], str, bool, list[str] | None]]:
        try:
            raw = json.loads(self._idx(prekey).read_text())
            return [
                ([(str(p), str(h)) for p, h in files], str(key), bool(ok), [str(x) for x in note] if note else None)
                for files, key, ok, note in raw
            ]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError):
            self.corrupt += 1
            return []

    def find(
        self, prekey: str, file_hash: Callable[[str], str | None]
    ) -> tuple[str, bool, tuple[str, ...], list[str] | None] | None:
        """(result key, ok flag, files read, note) of the stored result whose read files all still hash
        the same; the note is what store() was given (a failed TU's summary), so it needs no load."""
        for files, key, ok, note in self._candidates(prekey):
            if all(file_hash(p) == h for p, h in files) and self._res(key).is_file():
                return key, ok, tuple(p for p, _ in files), note
        return None

    def load(self, key: str) -> Any | None:
        """The codec value stored under `key`, or None when absent or damaged (a damaged entry is removed)."""
        return self._load(key, codec.load)

    def load_pickle(self, key: str) -> Any | None:
        """Like load, for an entry written as a plain pickle."""
        return self._load(key, pickle.loads)

    def _load(self, key: str, decode: Callable[[bytes], Any]) -> Any | None:
        path = self._res(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        head = len(MAGIC) + 4 + 32
        ok = (
            len(data) >= head
            and data[: len(MAGIC)] == MAGIC
            and int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "little") == FORMAT
            and hashlib.sha256(data[head:]).digest() == data[len(MAGIC) + 4 : head]
        )
        if ok:
            try:
                return decode(data[head:])
            except Exception:  # a checksummed payload that still fails: classes changed shape
                ok = False
        self.corrupt += 1
        with contextlib.suppress(OSError):
            path.unlink()
        return None

    def put(self, key: str, payload: bytes) -> None:
        """Store codec bytes under `key` (checksummed, atomically); a write that fails stops writing."""
        if self.write_error is not None:
            return
        blob = MAGIC + FORMAT.to_bytes(4, "little") + hashlib.sha256(payload).digest() + payload
        try:
            atomic_write(self._res(key), blob, make_dirs=True)
        except OSError as e:
            self.stop_writing(e)

    def store(
        self, prekey: str, files: Mapping[str, str], payload: bytes, ok: bool, note: list[str] | None = None
    ) -> str | None:
        """Record codec bytes for this TU and these (path -> sha256) inputs; returns its key, or None when
        nothing could be written (see write_error)."""
        flist = sorted(files.items())
        key = digest(prekey, *(f"{p}\0{h}" for p, h in flist))
        self.put(key, payload)
        if self.write_error is not None:
            return None
        candidates = [c for c in self._candidates(prekey) if c[1] != key]
        candidates.insert(0, ([list(x) for x in flist], key, ok, note))  # type: ignore[arg-type]
        try:
            atomic_write(self._idx(prekey), json.dumps(candidates[:_MAX_CANDIDATES]).encode(), make_dirs=True)
        except OSError as e:
            self.stop_writing(e)
            return None
        return key

