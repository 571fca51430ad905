"""Target kernels for `abiguard core`: BTF files, directories, BTFHub `.btf.tar.xz` archives, a cache.

The BTF reader parses lazily (one indexing pass, types decoded on use), so what costs time is getting
at the raw BTF: decompressing BTFHub archives and cutting .BTF out of ELF files. That is cached
content-addressed under $XDG_CACHE_HOME/abiguard/core (archive manifest: member names and digests;
per member: the raw BTF), pickled with a format version, written atomically; unreadable entries are
ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import pickle
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AbiguardError
from .resolve import TargetKernel

if TYPE_CHECKING:
    from ..sources.btf import ParsedBtf

CACHE_FORMAT = 2
DEFAULT_KERNEL = Path("/sys/kernel/btf/vmlinux")
_BTF_MAGICS = (b"\x9f\xeb", b"\xeb\x9f")
_MAX_MEMBER = 1 << 30  # refuse absurd archive members instead of exhausting memory


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "abiguard" / "core"


@dataclass(frozen=True)
class _Blob:
    label: str
    data: bytes


class KernelLoader:
    """Expands --kernel sources and turns each BTF into a TargetKernel, through the cache."""

    def __init__(self, base: Path | None = None, use_cache: bool = True, cache: Path | None = None):
        self.use_cache = use_cache
        self.cache = cache or cache_dir()
        self.base: ParsedBtf | None = None
        if base is not None:
            self.base = self._parse(_btf_bytes(_read(base), str(base)), str(base), None)

    def load(self, sources: list[str]) -> list[TargetKernel]:
        kernels: list[TargetKernel] = []
        for src in sources:
            for blob in self._expand(Path(src)):
                kernels.append(self._kernel(blob))
        if not kernels:
            raise AbiguardError(", ".join(sources), "no kernel BTF found")
        return kernels

    # --- sources --------------------------------------------------------------------------
    def _expand(self, path: Path) -> Iterator[_Blob]:
        if not path.exists():
            raise AbiguardError(path, "no such file or directory")
        if path.is_dir():
            found = False
            for p in sorted(q for q in path.rglob("*") if q.is_file()):
                if _is_archive(p) or _magic(p)[:2] in _BTF_MAGICS or _magic(p) == b"\x7fELF":
                    found = True
                    yield from self._expand(p)
            if not found:
                raise AbiguardError(path, "directory holds no BTF files or .btf.tar.xz archives")
        elif _is_archive(path):
            yield from self._archive(path)
        else:
            yield _Blob(str(path), _read(path))

    def _archive(self, path: Path) -> Iterator[_Blob]:
        data = _read(path)
        digest = hashlib.sha256(data).hexdigest()
        manifest = self._cache_get(f"tar-{digest}-{CACHE_FORMAT}")
        if isinstance(manifest, list) and all(isinstance(m, tuple) and len(m) == 2 for m in manifest):
            # cached run: the member digests are enough to find the parsed kernels
            for name, member_digest in manifest:
                yield _Blob(f"{path}:{name}", b"sha256:" + member_digest.encode())
            return
        members: list[tuple[str, str]] = []
        blobs: list[_Blob] = []
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode=_tar_mode(path)) as tar:
                for m in tar:
                    if not m.isfile():
                        continue
                    if m.size > _MAX_MEMBER:
                        raise AbiguardError(path, f"archive member {m.name} is too large ({m.size} bytes)")
                    f = tar.extractfile(m)
                    if f is None:
                        continue
                    content = f.read()
                    if content[:2] not in _BTF_MAGICS and content[:4] != b"\x7fELF":
                        continue
                    members.append((m.name, hashlib.sha256(content).hexdigest()))
                    blobs.append(_Blob(f"{path}:{m.name}", content))
        except (tarfile.TarError, lzma.LZMAError, EOFError, OSError) as e:
            raise AbiguardError(path, f"cannot read archive: {' '.join(str(e).split())}") from None
        if not blobs:
            raise AbiguardError(path, "archive holds no BTF file")
        for blob, (_, member_digest) in zip(blobs, members, strict=True):
            if blob.data[:2] not in _BTF_MAGICS:
                continue
            self._cache_put(f"btf-{member_digest}", {"format": CACHE_FORMAT, "btf": blob.data})
        self._cache_put(f"tar-{digest}-{CACHE_FORMAT}", members)
        yield from blobs

    # --- parsing and the cache --------------------------------------------------------------
    def _kernel(self, blob: _Blob) -> TargetKernel:
        raw = self._raw_btf(blob)
        parsed = self._parse(raw, blob.label, self.base)
        split = len(self.base.graph) if self.base is not None else 0
        return TargetKernel(blob.label, parsed.graph, parsed.strings, split)

    def _raw_btf(self, blob: _Blob) -> bytes:
        """The blob's raw BTF; archive members and ELF files come from the cache once extracted."""
        if blob.data.startswith(b"sha256:"):
            key = f"btf-{blob.data[7:].decode()}"
        else:
            if blob.data[:2] in _BTF_MAGICS:
                return blob.data  # already raw: caching a copy would gain nothing
            key = f"btf-{hashlib.sha256(blob.data).hexdigest()}"
        entry = self._cache_get(key)
        if isinstance(entry, dict) and entry.get("format") == CACHE_FORMAT and isinstance(entry.get("btf"), bytes):
            return entry["btf"]
        if blob.data.startswith(b"sha256:"):
            raise _StaleManifest(blob.label)  # the manifest outlived its kernels: read the archive afresh
        raw = _btf_bytes(blob.data, blob.label)
        self._cache_put(key, {"format": CACHE_FORMAT, "btf": raw})
        return raw

    def _parse(self, data: bytes, where: str, base: ParsedBtf | None) -> ParsedBtf:
        from ..sources.btf import parse_btf

        return parse_btf(data, where, base, None)

    def _cache_get(self, key: str) -> object:
        if not self.use_cache:
            return None
        try:
            with (self.cache / key).open("rb") as f:
                return pickle.load(f)
        except Exception:  # a missing, truncated or foreign entry is rebuilt, never trusted
            return None

    def _cache_put(self, key: str, value: object) -> None:
        if not self.use_cache:
            return
        try:
            self.cache.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.cache, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.cache / key)
        except OSError:
            pass  # an unwritable cache only costs time


class _StaleManifest(Exception):
    pass


def load_kernels(sources: list[str], base: Path | None = None, use_cache: bool = True) -> list[TargetKernel]:
    """TargetKernels for every --kernel source, in the order given (directories sorted)."""
    loader = KernelLoader(base, use_cache)
    try:
        return loader.load(sources)
    except _StaleManifest:
        return KernelLoader(base, use_cache=False).load(sources)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise AbiguardError(path, e.strerror or str(e)) from None


def _magic(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(4)
    except OSError:
        return b""


def _is_archive(path: Path) -> bool:
    return path.name.endswith((".tar.xz", ".tar", ".tar.gz", ".txz"))


def _tar_mode(path: Path) -> str:
    name = path.name
    return "r:xz" if name.endswith((".tar.xz", ".txz")) else "r:gz" if name.endswith(".tar.gz") else "r:"


def _btf_bytes(data: bytes, where: str) -> bytes:
    """Raw BTF bytes: the data itself, or the .BTF section of an ELF file."""
    if data[:2] in _BTF_MAGICS:
        return data
    if data[:4] != b"\x7fELF":
        raise AbiguardError(where, "not a BTF file or ELF object")
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        sec = ELFFile(io.BytesIO(data)).get_section_by_name(".BTF")
        if sec is None:
            raise AbiguardError(where, "ELF file has no .BTF section")
        off, size = sec["sh_offset"], sec["sh_size"]
    except ELFError as e:
        raise AbiguardError(where, f"malformed ELF: {e}") from None
    if off + size > len(data):
        raise AbiguardError(where, ".BTF section runs past the end of the file")
    return data[off : off + size]
