"""Target kernels for `abiguard core`: BTF files, directories, BTFHub `.btf.tar.xz` archives, split BTF.

A kernel is known first by its content digest and parsed only when some object's results are not
cached. The BTF reader parses lazily (one indexing pass, types decoded on use); what the cache saves
is decompressing archives (it keeps each archive's manifest and each member's raw BTF) and, through
check.py, resolving an unchanged object against an unchanged kernel again.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AbiguardError
from ..fileio import BTF_MAGICS, ELF_MAGIC, read_file
from ..model.target import TARGETS, Target, host_target
from ..sources.shipped import (
    ShippedBtf,
    is_module_file,
    is_shipped,
    module_btf,
    package_module_btfs,
    read_shipped,
)
from ..sources.shipped.deb import is_deb
from ..sources.shipped.ident import KernelIdentity, arch_name, from_file_name, from_release
from .cache import Cache
from .candidates import TargetKernel
from .kernel_index import parse_indexed
from .modules import ModuleSet

if TYPE_CHECKING:
    from ..sources.btf.reader import ParsedBtf

DEFAULT_KERNEL = Path("/sys/kernel/btf/vmlinux")
_MAX_MEMBER = 1 << 30  # refuse absurd archive members instead of exhausting memory


@dataclass
class KernelRef:
    """A kernel known by name (where it came from) and content digest; `load()` parses it on first use.

    `identity` says which kernel it is (release, arch, flavour, package version) where the file name,
    the package or the image's version string tells; reports show it beside the name.
    """

    name: str
    digest: str
    _loader: Callable[[], tuple[TargetKernel, Callable[[], None]]]
    _loaded: TargetKernel | None = field(default=None, repr=False)
    identity: KernelIdentity = field(default_factory=KernelIdentity)
    _remember: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def release(self) -> str:
        return self.identity.release

    @property
    def arch(self) -> str:
        return self.identity.arch

    @property
    def flavour(self) -> str:
        return self.identity.flavour

    @property
    def version(self) -> str:
        return self.identity.version

    def load(self) -> TargetKernel:
        if self._loaded is None:
            self._loaded, self._remember = self._loader()
        return self._loaded

    def unload(self) -> None:
        """Cache what this run established about the kernel, then drop it: a hundred kernels must not
        all stay in memory."""
        if self._remember is not None:
            self._remember()
        self._loaded = self._remember = None


class KernelLoader:
    """Expands --kernel sources into KernelRefs, going through the cache for archives."""

    def __init__(self, base: Path | None, cache: Cache):
        self.cache = cache
        self.base: ParsedBtf | None = None
        self.base_digest = ""
        if base is not None:
            data = read_file(base)
            self.base_digest = hashlib.sha256(data).hexdigest()
            if is_shipped(data):
                shipped = read_shipped(base, data)
                self.base = _parse(shipped.btf, str(base), None, shipped.target)
            else:
                self.base = _parse(_btf_bytes(data, str(base)), str(base), None)

    def refs(self, sources: list[str]) -> list[KernelRef]:
        refs = [ref for src in sources for ref in self._expand(Path(src))]
        if not refs:
            raise AbiguardError(", ".join(sources), "no kernel BTF found")
        return refs

    def _ref(
        self,
        name: str,
        digest: str,
        raw: Callable[[], bytes],
        identity: KernelIdentity | None = None,
        target: Callable[[], Target | None] = lambda: None,
        modules: Callable[[], dict[str, bytes]] | None = None,
    ) -> KernelRef:
        key = hashlib.sha256(f"{digest}:{self.base_digest}".encode()).hexdigest()

        def load() -> tuple[TargetKernel, Callable[[], None]]:
            parsed, essential, remember = parse_indexed(self.cache, key, raw(), name, self.base, target())
            split = len(self.base.graph) if self.base is not None else 0
            kernel = TargetKernel(name, parsed.graph, parsed.strings, split, essential)
            if modules is not None and self.base is None:
                complete = Path(name) != DEFAULT_KERNEL  # the running kernel shows only loaded modules
                kernel.modules = ModuleSet(name, parsed, parsed.graph.target, modules, complete)
            return kernel, remember

        return KernelRef(name, key, load, identity=identity or KernelIdentity())

    def _expand(self, path: Path) -> Iterator[KernelRef]:
        if not path.exists():
            raise AbiguardError(path, "no such file or directory")
        if path.is_dir():
            found = False
            for p in sorted(q for q in path.rglob("*") if q.is_file()):
                if is_kernel_file(p):
                    found = True
                    yield from self._expand(p)
            if not found:
                raise AbiguardError(path, "directory holds no BTF files, kernel images or packages, or BTFHub archives")
        elif _is_archive(path):
            yield from self._archive(path)
        else:
            data = read_file(path)
            digest = hashlib.sha256(data).hexdigest()
            if is_module_file(path.name):
                yield self._module(path, data, digest)
            elif is_shipped(data):
                package = is_deb(data)
                del data  # a hundred packages must not stay in memory: the loader reads the file again
                yield self._shipped(path, digest, package)
            elif path == DEFAULT_KERNEL:
                modules = running_modules()
                digest = hashlib.sha256(f"{digest}:{sorted(modules.items())}".encode()).hexdigest()
                yield self._ref(
                    str(path), digest, lambda: data, file_identity(path), modules=lambda: _read_modules(modules)
                )
            else:
                yield self._ref(str(path), digest, lambda: _btf_bytes(data, str(path)), file_identity(path))

    def _module(self, path: Path, data: bytes, digest: str) -> KernelRef:
        """A module file: its split BTF on --base."""
        if self.base is None:
            raise AbiguardError(
                path, "a kernel module's BTF is split BTF: give its kernel with --base (BTF, vmlinuz or .deb)"
            )
        return self._ref(str(path), digest, lambda: module_btf(data, str(path)), file_identity(path))

    def _shipped(self, path: Path, digest: str, package: bool) -> KernelRef:
        """A package or image: its vmlinux BTF is extracted on first load and cached by the file's digest;
        a package's modules only when a check needs one."""
        entry_key = f"img-{digest}"
        entry = _shipped_entry(self.cache.get(entry_key))
        found: list[ShippedBtf] = []

        def extract() -> ShippedBtf:
            if not found:
                found.append(read_shipped(path, read_file(path)))
                shipped = found[0]
                btf_digest = hashlib.sha256(shipped.btf).hexdigest()
                self.cache.put(f"btf-{btf_digest}", shipped.btf)
                target = shipped.target.name if shipped.target else ""
                self.cache.put(entry_key, (btf_digest, target, astuple(shipped.identity)))
                ref.identity = ref.identity.merged(shipped.identity)
            return found[0]

        def raw() -> bytes:
            if entry is not None:
                cached = self.cache.get(f"btf-{entry[0]}")
                if isinstance(cached, bytes):
                    return cached
            return extract().btf

        def target() -> Target | None:
            if entry is not None:
                return TARGETS.get(entry[1])
            return extract().target

        def modules() -> dict[str, bytes]:
            key = f"mods-{digest}"
            cached = self.cache.get(key)
            if isinstance(cached, dict) and all(isinstance(k, str) and isinstance(v, bytes) for k, v in cached.items()):
                return cached
            found_modules = package_module_btfs(path, read_file(path))
            self.cache.put(key, found_modules)
            return found_modules

        identity = file_identity(path) if entry is None else KernelIdentity(*entry[2]).merged(file_identity(path))
        ref = self._ref(str(path), digest, raw, identity, target, modules if package else None)
        return ref

    def _archive(self, path: Path) -> Iterator[KernelRef]:
        data = read_file(path)
        key = f"tar-{hashlib.sha256(data).hexdigest()}"
        manifest = self.cache.get(key)
        if not (isinstance(manifest, list) and all(isinstance(m, tuple) and len(m) == 2 for m in manifest)):
            members = _extract(path, data)
            manifest = [(name, hashlib.sha256(content).hexdigest()) for name, content in members]
            for (_, content), (_, digest) in zip(members, manifest, strict=True):
                if content[:2] in BTF_MAGICS:
                    self.cache.put(f"btf-{digest}", content)
            self.cache.put(key, manifest)
        for name, digest in manifest:
            identity = file_identity(path.parent / Path(name).name)
            loader = self._member_loader(path, data, name, digest)
            yield self._ref(f"{path}:{name}", digest, loader, identity)

    def _member_loader(self, path: Path, data: bytes, name: str, digest: str) -> Callable[[], bytes]:
        def raw() -> bytes:
            cached = self.cache.get(f"btf-{digest}")
            if isinstance(cached, bytes):
                return cached
            for member, content in _extract(path, data):  # the cache lost it: read the archive again
                if member == name:
                    return _btf_bytes(content, f"{path}:{name}")
            raise AbiguardError(path, f"archive member {name} is gone")

        return raw


def load_kernels(sources: list[str], base: Path | None = None, cache: Cache | None = None) -> list[KernelRef]:
    """KernelRefs for every --kernel source, in the order given (directories sorted)."""
    return KernelLoader(base, cache or Cache()).refs(sources)


def file_identity(path: Path) -> KernelIdentity:
    """Identity from a kernel file's name (BTFHub: `<distro>/<release>/<arch>/<uname -r>.btf.tar.xz`);
    the running kernel's for /sys/kernel/btf/vmlinux."""
    if path == DEFAULT_KERNEL:
        import os

        return from_release(os.uname().release, host_target().name)
    named = from_file_name(path.name)
    return named.merged(KernelIdentity(arch=arch_name(path.parent.name)))


def running_modules() -> dict[str, int]:
    """Module name -> BTF size of the running kernel's loaded modules (/sys/kernel/btf/<module>)."""
    try:
        return {p.name: p.stat().st_size for p in sorted(DEFAULT_KERNEL.parent.iterdir()) if p.name != "vmlinux"}
    except OSError:
        return {}


def _read_modules(names: dict[str, int]) -> dict[str, bytes]:
    out = {}
    for name in names:
        try:
            out[name] = (DEFAULT_KERNEL.parent / name).read_bytes()
        except OSError:
            continue  # unloaded since: a module that is gone has nothing to offer
    return out


def _parse(data: bytes, where: str, base: ParsedBtf | None, target: Target | None = None) -> ParsedBtf:
    from ..sources.btf.reader import parse_btf

    return parse_btf(data, where, base, target)


def _shipped_entry(value: object) -> tuple[str, str, tuple[str, ...]] | None:
    """A cached (BTF digest, target name, identity fields) of a package or image, if well-formed."""
    if (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], str)
        and isinstance(value[1], str)
        and isinstance(value[2], tuple)
        and len(value[2]) == len(fields(KernelIdentity))
        and all(isinstance(v, str) for v in value[2])
    ):
        return value  # type: ignore[return-value]
    return None


def _is_kernel_file(path: Path) -> bool:
    """Worth expanding inside a directory: BTF, ELF, a package, a kernel image or a module."""
    magic = read_head(path)
    return magic[:2] in BTF_MAGICS or magic[:4] == ELF_MAGIC or is_shipped(magic) or is_module_file(path.name)


def _extract(path: Path, data: bytes) -> list[tuple[str, bytes]]:
    """(member name, content) of every BTF or ELF file in the archive."""
    out: list[tuple[str, bytes]] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode=_tar_mode(path)) as tar:
            for m in tar:
                if not m.isfile():
                    continue
                if m.size > _MAX_MEMBER:
                    raise AbiguardError(path, f"archive member {m.name} is too large ({m.size} bytes)")
                f = tar.extractfile(m)
                content = f.read() if f is not None else b""
                if content[:2] in BTF_MAGICS or content[:4] == ELF_MAGIC:
                    out.append((m.name, content))
    except (tarfile.TarError, lzma.LZMAError, EOFError, OSError) as e:
        raise AbiguardError(path, f"cannot read archive: {' '.join(str(e).split())}") from None
    if not out:
        raise AbiguardError(path, "archive holds no BTF file")
    return out


def read_head(path: Path) -> bytes:
    """The first bytes of a file, enough for every magic a kernel file can start with."""
    try:
        with path.open("rb") as f:
            return f.read(1024)
    except OSError:
        return b""


def _is_archive(path: Path) -> bool:
    return path.name.endswith((".tar.xz", ".tar", ".tar.gz", ".txz"))


def _tar_mode(path: Path) -> str:
    name = path.name
    return "r:xz" if name.endswith((".tar.xz", ".txz")) else "r:gz" if name.endswith(".tar.gz") else "r:"


def _btf_bytes(data: bytes, where: str) -> bytes:
    """Raw BTF bytes: the data itself, or the .BTF section of an ELF file."""
    if data[:2] in BTF_MAGICS:
        return data
    if data[:4] != ELF_MAGIC:
        raise AbiguardError(where, "not a BTF file or ELF object")
    from ..sources.btf.elf import read_elf_bytes

    sec = read_elf_bytes(data, where, (".BTF",)).sections.get(".BTF")
    if sec is None:
        raise AbiguardError(where, "ELF file has no .BTF section")
    return sec.data


def is_kernel_file(path: Path) -> bool:
    """Would a directory --kernel source take this file (BTF, ELF, kernel image or package, module, archive)?"""
    return _is_archive(path) or _is_kernel_file(path)
