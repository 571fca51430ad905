"""The content-addressed cache of `abiguard core` under $XDG_CACHE_HOME/abiguard/core.

Entries are pickles written atomically (temp file, then rename), so a run killed while writing leaves
no half entry; an entry that cannot be read is treated as missing and rebuilt. A cache that cannot be
written (read-only, full) is still read, and the run warns once and stores nothing more.
"""

from __future__ import annotations

import hashlib
import pickle
from functools import cache
from pathlib import Path

from ..fileio import CacheWriter, cache_root
from ..fileio import code_digest as package_digest

CACHE_FORMAT = 4


def cache_dir() -> Path:
    return cache_root() / "core"


@cache
def code_digest() -> str:
    """Digest of the checker's, BTF reader's and model's code: results of other code are never reused."""
    from .. import bpf, model
    from ..sources import btf

    return hashlib.sha256(f"{CACHE_FORMAT}:{package_digest(bpf, btf, model)}".encode()).hexdigest()[:16]


class Cache:
    """get/put of picklable values by key; disabled caches hold nothing."""

    def __init__(self, enabled: bool = True, directory: Path | None = None):
        self.enabled = enabled
        self.dir = directory or cache_dir()
        self._writer = CacheWriter(self.dir)

    @property
    def write_error(self) -> str | None:
        """Why writing stopped (read-only, full); entries are still read."""
        return self._writer.write_error

    def get(self, key: str) -> object:
        if not self.enabled:
            return None
        try:
            with (self.dir / key).open("rb") as f:
                value = pickle.load(f)
        except Exception:  # missing, truncated or foreign: rebuild
            return None
        if not isinstance(value, tuple) or len(value) != 2 or value[0] != CACHE_FORMAT:
            return None
        return value[1]

    def put(self, key: str, value: object) -> None:
        """Store `value`; a cache that cannot be written costs only time: one warning, no more writes."""
        if self.enabled and self.write_error is None:
            self._writer.put(key, pickle.dumps((CACHE_FORMAT, value), protocol=pickle.HIGHEST_PROTOCOL))
