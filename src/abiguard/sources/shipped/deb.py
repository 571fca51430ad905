"""Debian kernel packages (`linux-image-*.deb`): an ar archive whose data.tar.{xz,zst,gz,bz2} holds
boot/vmlinuz-<release> and lib/modules/<release>/kernel/**/*.ko[.xz|.zst|.gz].

The tar is read as a stream with bounded members: the image comes first in Debian's packages, so
finding it decompresses only the head of the archive; modules are read only when asked for.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO

from ...errors import AbiguardError
from .decompress import decompress

AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60
_MAX_IMAGE = 512 << 20  # a vmlinuz is 10-60 MB
_MAX_MODULE = 256 << 20  # the largest modules are a few tens of MB
_IMAGE = re.compile(r"^(?:\./)?boot/(?:vmlinuz|vmlinux|Image|bzImage)-[^/]+$")
_MODULE = re.compile(r"^(?:\./)?(?:usr/)?lib/modules/[^/]+/(?:kernel|updates|extra)/.*/([^/]+)\.ko(\.xz|\.zst|\.gz)?$")


def is_deb(data: bytes) -> bool:
    return data[:8] == AR_MAGIC


def ar_members(data: bytes, where: str) -> Iterator[tuple[str, memoryview]]:
    """(name, content) of each member of an ar archive; a damaged archive is an AbiguardError."""
    if not is_deb(data):
        raise AbiguardError(where, "not an ar archive (.deb)")
    view = memoryview(data)
    pos = len(AR_MAGIC)
    while pos < len(data):
        if pos + _AR_HEADER > len(data):
            raise AbiguardError(where, f"ar archive is truncated (member header at byte {pos})")
        header = data[pos : pos + _AR_HEADER]
        size_field = header[48:58].strip()
        if header[58:60] != b"`\n" or not size_field.isdigit():
            raise AbiguardError(where, f"ar archive is damaged (bad member header at byte {pos})")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(size_field)
        start = pos + _AR_HEADER
        if start + size > len(data):
            raise AbiguardError(where, f"ar archive is truncated (member {name} needs {size} bytes at byte {start})")
        yield name, view[start : start + size]
        pos = start + size + (size & 1)  # members are 2-aligned


def _data_stream(data: bytes, where: str) -> IO[bytes]:
    """The decompressing stream of the package's data.tar.*."""
    for name, content in ar_members(data, where):
        if not name.startswith("data.tar"):
            continue
        raw = io.BytesIO(content)
        suffix = name[len("data.tar") :]
        if suffix == ".xz":
            return lzma.LZMAFile(raw)
        if suffix == ".gz":
            return gzip.GzipFile(fileobj=raw)
        if suffix == ".bz2":
            return bz2.BZ2File(raw)
        if suffix == ".zst":
            import zstandard

            return zstandard.ZstdDecompressor().stream_reader(raw)
        if suffix == "":
            return raw
        raise AbiguardError(where, f"package member {name}: unknown compression")
    raise AbiguardError(where, "package has no data.tar member (not a Debian binary package?)")


def package_files(
    data: bytes, where: str, want: Callable[[str], int | None]
) -> Iterator[tuple[str, bytes]]:
    """(path, content) of the package's regular files for which want(path) gives a size limit (None: skip).

    A corrupt or truncated package, or a member over its limit, is an AbiguardError.
    """
    try:
        with _data_stream(data, where) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                limit = want(member.name)
                if limit is None:
                    continue
                if member.size > limit:
                    raise AbiguardError(where, f"package file {member.name} is {member.size} bytes, over {limit}")
                f = tar.extractfile(member)
                content = f.read() if f is not None else b""
                if len(content) != member.size:
                    raise AbiguardError(where, f"package is truncated inside {member.name}")
                yield member.name, content
    except AbiguardError:
        raise
    except (tarfile.TarError, lzma.LZMAError, zlib.error, EOFError, OSError) as e:
        raise AbiguardError(where, f"corrupt or truncated package: {' '.join(str(e).split())}") from None
    except Exception as e:  # zstandard's own error type
        raise AbiguardError(where, f"corrupt or truncated package: {type(e).__name__}: {e}") from None


def kernel_image(data: bytes, where: str) -> tuple[str, bytes]:
    """(path, bytes) of the package's kernel image (boot/vmlinuz-*); a package without one is an error."""
    files = package_files(data, where, lambda name: _MAX_IMAGE if _IMAGE.match(name) else None)
    try:
        for name, content in files:
            return name.removeprefix("./"), content
    finally:
        files.close()  # the image comes first: stop decompressing there
    raise AbiguardError(where, "package holds no kernel image (boot/vmlinuz-*); not a linux-image package?")


def module_name(path: str) -> str | None:
    """The module name the kernel uses for a packaged module file (dashes become underscores), or None."""
    m = _MODULE.match(path)
    return m[1].replace("-", "_") if m else None


def kernel_modules(data: bytes, where: str) -> Iterator[tuple[str, bytes]]:
    """(module name, uncompressed .ko bytes) of every module in the package, in package order."""
    for path, content in package_files(data, where, lambda name: _MAX_MODULE if _MODULE.match(name) else None):
        m = _MODULE.match(path)
        assert m is not None
        name = m[1].replace("-", "_")
        if m[2]:
            content = decompress(content, f"{where}:{path.removeprefix('./')}", _MAX_MODULE)
        yield name, content
