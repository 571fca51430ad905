"""The content-addressed cache of `abiguard core` under $XDG_CACHE_HOME/abiguard/core.

Entries are pickles written atomically (temp file, then rename); an entry that cannot be read is
treated as missing and rebuilt, never trusted half-way.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from functools import cache
from pathlib import Path

CACHE_FORMAT = 3


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "abiguard" / "core"


@cache
def code_digest() -> str:
    """Digest of the resolver's, BTF reader's and model's source: results of other code are never reused."""
    h = hashlib.sha256(str(CACHE_FORMAT).encode())
    pkg = Path(__file__).parent.parent
    files = [*pkg.glob("core/*.py"), *pkg.glob("sources/btf*.py"), *pkg.glob("model/*.py")]
    for p in sorted(files):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


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
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    pickle.dump((CACHE_FORMAT, value), f, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self.dir / key)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass  # an unwritable cache only costs time
