"""Small file primitives every stage shares: reading with clean errors, atomic writes, the cache root."""

from __future__ import annotations

import contextlib
import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .errors import AbiguardError, CacheWarning

BTF_MAGICS = (b"\x9f\xeb", b"\xeb\x9f")  # little- and big-endian
ELF_MAGIC = b"\x7fELF"


def read_file(path: Path, limit: int | None = None, too_large: str = "") -> bytes:
    """The bytes of `path`; unreadable or over `limit` bytes is an AbiguardError naming the file."""
    chunks: list[bytes] = []
    total = 0
    try:
        with path.open("rb") as f:
            # In chunks with a cap: special files (a pipe, /dev/zero) have no size to check first.
            while chunk := f.read(8 << 20):
                total += len(chunk)
                if limit is not None and total > limit:
                    raise AbiguardError(path, f"file is over {limit} bytes{too_large}")
                chunks.append(chunk)
    except OSError as e:
        raise AbiguardError(path, e.strerror or str(e)) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_magic(path: Path, size: int = 4) -> bytes:
    """The first `size` bytes of `path` (fewer for a short file); unreadable is an AbiguardError."""
    try:
        with path.open("rb") as f:
            return f.read(size)
    except OSError as e:
        raise AbiguardError(path, e.strerror or str(e)) from None


def is_btf(data: bytes) -> bool:
    return data[:2] in BTF_MAGICS


def atomic_write(path: Path, data: bytes | str, make_dirs: bool = False) -> None:
    """Write through a temp file in the same directory and a rename: readers see the old file or the new one.

    OSError propagates; the temp file never outlives a failure.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent if str(path.parent) else Path(".")
    if make_dirs:
        directory.mkdir(parents=True, exist_ok=True)
    # O_EXCL with a random name, like mkstemp, but mode 0666 so the umask applies as to any new file
    # (mkstemp's 0600 made reports and indexes private; reading the umask would mean setting it).
    tmp = directory / f".{path.name}.{os.urandom(8).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass
class CacheWriter:
    """Stores entries under one cache directory. The first write that fails (read-only, full) stops
    storing for the rest of the run with one CacheWarning: a cache that cannot be written costs only time."""

    directory: Path
    write_error: str | None = None  # why storing stopped; entries are still read

    def put(self, name: str, blob: bytes) -> None:
        if self.write_error is not None:
            return
        try:
            atomic_write(self.directory / name, blob, make_dirs=True)
        except OSError as e:
            self.write_error = e.strerror or str(e)
            warnings.warn(CacheWarning(f"{self.directory}: cannot write the cache ({self.write_error}); "
                                       "going on without storing to it"), stacklevel=1)


def cache_root() -> Path:
    """$XDG_CACHE_HOME/abiguard, or ~/.cache/abiguard: the one root of every abiguard cache."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "abiguard"


def code_digest(*packages: ModuleType) -> str:
    """sha256 of every Python file of the given packages (recursively): a cache entry made by other code
    is never reused, and a renamed or new module changes the digest too."""
    h = hashlib.sha256()
    for package in packages:
        root = Path(package.__file__ or "").parent
        for path in sorted(root.rglob("*.py")):
            h.update(f"{package.__name__}/{path.relative_to(root).as_posix()}\0".encode())
            h.update(path.read_bytes())
    return h.hexdigest()
