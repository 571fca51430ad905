"""What reading a kernel BTF has established, cached per kernel content: the record scan (the one parse
cost that grows with the file), the ids the lazy checks have proven sound and the name look-ups answered,
so a new object checked against a known kernel decodes only the types it touches, walks only what no
earlier run walked and searches the string section only for names no earlier run asked for.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING

from .cache import Cache, code_digest

if TYPE_CHECKING:
    from ..model.target import Target
    from ..sources.btf.reader import ParsedBtf

Proven = tuple[bytes, bytes, bytes, bytes, bytes]
Names = dict[str, list[int]]
Entry = tuple[bytes, bytes, Proven, Names, Names]


def parse_indexed(
    cache: Cache, kernel_digest: str, data: bytes, where: str, base: ParsedBtf | None, target: Target | None
) -> tuple[ParsedBtf, Names, Callable[[], None]]:
    """Parse a kernel BTF with what the cache knows of it: (parsed, essential-name look-ups for
    TargetKernel.names, a callable that stores what this run added).

    `kernel_digest` names the bytes and the base they split on (KernelRef.digest); entries of other
    code are never read (the code digest is in the key).
    """
    from ..sources.btf.reader import parse_btf

    key = f"idx-{code_digest()}-{kernel_digest}"
    entry = _entry(cache.get(key))  # trusted only whole: its own checksum must match
    scan = None
    if entry is not None:
        starts, names = array("I"), array("I")
        starts.frombytes(entry[0])
        names.frombytes(entry[1])
        scan = (starts, names)
    parsed = parse_btf(data, where, base, target, scan=scan, proven=entry[2] if entry is not None else None)
    essential: Names = {}
    if entry is not None:
        parsed.btf.names.remember(entry[3])
        essential.update(entry[4])

    def save() -> None:
        now = (parsed.btf.proven(), parsed.btf.names.remembered(), dict(essential))
        if entry is None or now != entry[2:]:
            starts, names = parsed.scan
            fresh: Entry = (starts.tobytes(), names.tobytes(), *now)
            cache.put(key, (*fresh, _checksum(fresh)))

    return parsed, essential, save


def _checksum(entry: Entry) -> str:
    """A digest of the whole entry: a damaged entry (disk, a killed writer of an older format) is rebuilt."""
    h = hashlib.sha256()
    for part in (*entry[:2], *entry[2]):
        h.update(len(part).to_bytes(8, "little") + part)
    h.update(repr((sorted(entry[3].items()), sorted(entry[4].items()))).encode())
    return h.hexdigest()


def _entry(value: object) -> Entry | None:
    if not (isinstance(value, tuple) and len(value) == 6):
        return None
    entry, checksum = value[:5], value[5]
    if (
        isinstance(entry, tuple)
        and len(entry) == 5
        and isinstance(entry[0], bytes)
        and isinstance(entry[1], bytes)
        and len(entry[0]) == len(entry[1])
        and len(entry[0]) % 4 == 0
        and isinstance(entry[2], tuple)
        and len(entry[2]) == 5
        and all(isinstance(v, bytes) for v in entry[2])
        and all(_is_names(v) for v in entry[3:])
        and checksum == _checksum(entry)  # type: ignore[arg-type]
    ):
        return entry  # type: ignore[return-value]
    return None


def _is_names(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(i, int) for i in v) for k, v in value.items()
    )
