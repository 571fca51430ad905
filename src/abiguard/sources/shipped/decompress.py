"""Bounded decompression of the formats kernels ship in: gzip, xz, lzma, bzip2, zstd, lz4 (legacy and frame).

Every decompressor stops at `limit` output bytes, so a corrupt or hostile stream cannot exhaust
memory; a stream that ends early is an error, bytes after the end of the stream (the kernel build
appends the uncompressed size) are ignored.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from collections.abc import Callable

from ...errors import AbiguardError

DEFAULT_LIMIT = 1 << 30  # far above a whole vmlinux (~60-300 MB), far below what would hurt

LZ4_LEGACY_MAGIC = b"\x02\x21\x4c\x18"
_LZ4_LEGACY_BLOCK = 8 << 20  # the legacy format's fixed uncompressed block size

# magic -> format name; the order matters where one magic is a prefix of another's
MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (LZ4_LEGACY_MAGIC, "lz4"),
    (b"\x04\x22\x4d\x18", "lz4-frame"),
    (b"\x5d\x00\x00", "lzma"),
    (b"\x89LZO\x00\r\n\x1a\n", "lzo"),
)


def compression_of(data: bytes | memoryview) -> str | None:
    """The compression format `data` starts with, or None."""
    head = bytes(data[:9])
    for magic, name in MAGICS:
        if head.startswith(magic):
            return name
    return None


def decompress(data: bytes | memoryview, where: str, limit: int = DEFAULT_LIMIT, fmt: str | None = None) -> bytes:
    """The decompressed bytes of one stream in a kernel compression format (detected unless `fmt` is given)."""
    fmt = fmt or compression_of(data)
    if fmt is None:
        raise AbiguardError(where, "not a compressed stream abiguard knows (gzip, xz, lzma, bzip2, zstd, lz4)")
    if fmt == "lzo":
        raise AbiguardError(where, "LZO-compressed payload: not supported (gzip, xz, lzma, bzip2, zstd, lz4 are)")
    try:
        return _DECODERS[fmt](data, limit, where)
    except AbiguardError:
        raise
    except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError, RuntimeError) as e:
        raise AbiguardError(where, f"corrupt {fmt} data: {' '.join(str(e).split()) or type(e).__name__}") from None
    except Exception as e:  # the zstandard and lz4 wheels raise their own error types
        raise AbiguardError(where, f"corrupt {fmt} data: {type(e).__name__}: {e}") from None


def _too_large(where: str, fmt: str, limit: int) -> AbiguardError:
    return AbiguardError(where, f"{fmt} data decompresses to over {limit} bytes; refused")


def _truncated(where: str, fmt: str) -> AbiguardError:
    return AbiguardError(where, f"{fmt} data is truncated (the stream ends before its end marker)")


def _stdlib(make: Callable[[], object], fmt: str) -> Callable[[bytes | memoryview, int, str], bytes]:
    """A decoder over a stdlib decompressor object with max_length (lzma, bz2) or zlib's."""

    def run(data: bytes | memoryview, limit: int, where: str) -> bytes:
        dec = make()
        out = dec.decompress(data, limit + 1)  # type: ignore[attr-defined]
        if len(out) > limit:
            raise _too_large(where, fmt, limit)
        if not dec.eof:  # type: ignore[attr-defined]
            raise _truncated(where, fmt)
        return out

    return run


def _gzip(data: bytes | memoryview, limit: int, where: str) -> bytes:
    dec = zlib.decompressobj(wbits=31)
    out = dec.decompress(data, limit + 1)
    if len(out) > limit:
        raise _too_large(where, "gzip", limit)
    if not dec.eof:
        raise _truncated(where, "gzip")
    return out


def _zstd(data: bytes | memoryview, limit: int, where: str) -> bytes:
    import zstandard

    dec = zstandard.ZstdDecompressor().decompressobj()
    out = bytearray()
    view = memoryview(data)
    # Fed in small slices: the output of one step (at most ~32 KB per input byte) stays far below the limit.
    for start in range(0, len(view), 4096):
        out += dec.decompress(view[start : start + 4096])
        if len(out) > limit:
            raise _too_large(where, "zstd", limit)
        if dec.eof:
            break
    if not dec.eof:
        raise _truncated(where, "zstd")
    return bytes(out)


def _lz4_legacy(data: bytes | memoryview, limit: int, where: str) -> bytes:
    """The kernel's lz4 format (lz4 -l): magic, then blocks of <u32 compressed size, data> of 8 MB each."""
    import lz4.block

    view = memoryview(data)
    pos, parts, total = 4, [], 0
    while pos + 4 <= len(view):
        (size,) = struct.unpack_from("<I", view, pos)
        if bytes(view[pos : pos + 4]) == LZ4_LEGACY_MAGIC:  # concatenated streams
            pos += 4
            continue
        if size > len(view) - pos - 4:
            if parts and len(view) - pos <= 4:
                break  # the uncompressed size the kernel build appends after the stream
            raise _truncated(where, "lz4")
        block = lz4.block.decompress(view[pos + 4 : pos + 4 + size], uncompressed_size=_LZ4_LEGACY_BLOCK)
        total += len(block)
        if total > limit:
            raise _too_large(where, "lz4", limit)
        parts.append(block)
        pos += 4 + size
        if len(block) < _LZ4_LEGACY_BLOCK:
            break  # only the last block is short
    if not parts:
        raise _truncated(where, "lz4")
    return b"".join(parts)


def _lz4_frame(data: bytes | memoryview, limit: int, where: str) -> bytes:
    import lz4.frame

    dec = lz4.frame.LZ4FrameDecompressor()
    out = dec.decompress(bytes(data), max_length=limit + 1)
    if len(out) > limit:
        raise _too_large(where, "lz4", limit)
    if not dec.eof:
        raise _truncated(where, "lz4")
    return out


_DECODERS: dict[str, Callable[[bytes | memoryview, int, str], bytes]] = {
    "gzip": _gzip,
    "xz": _stdlib(lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ), "xz"),
    "lzma": _stdlib(lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE), "lzma"),
    "bzip2": _stdlib(bz2.BZ2Decompressor, "bzip2"),
    "zstd": _zstd,
    "lz4": _lz4_legacy,
    "lz4-frame": _lz4_frame,
}
