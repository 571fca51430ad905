"""The content-addressed cache of `abiguard core` under $XDG_CACHE_HOME/abiguard/core.

Entries are pickles written atomically (temp file, then rename); an entry that cannot be read is
treated as missing and rebuilt, never trusted half-way.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
from functools import cache
from pathlib import Path

from ..fileio import atomic_write, cache_root
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
        if not self.enabled:
            return
        blob = pickle.dumps((CACHE_FORMAT, value), protocol=pickle.HIGHEST_PROTOCOL)
        with contextlib.suppress(OSError):  # an unwritable cache only costs time
            atomic_write(self.dir / key, blob, make_dirs=True)
