"""Building a fleet index: kernels hashed one at a time, merged in input order into one store.

Records are numbered by first appearance (kernels in input order, each kernel's records in post-order),
so merging partial indexes of consecutive kernel runs, in order, gives the bytes a serial build gives,
and `--update` gives the bytes of building all kernels at once.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import AbiguardError
from ...fileio import atomic_write
from ..modules import ModuleSet
from .format import FleetData, StoredRecord, encode
from .records import VOID_HASH, Hash, KernelRows, ModuleRows, Record, TypeHasher, record_hash, slot_key

if TYPE_CHECKING:
    from ..kernels import KernelRef


@dataclass
class Builder:
    """A growing index: distinct records by hash, per-record postings, kernel metadata."""

    index: dict[Hash, int] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    # per record: kernel, type id, kernel, type id ... in a flat u32 array (a BTFHub-sized fleet has
    # hundreds of millions of them: tuples would not fit in memory)
    postings: list[array] = field(default_factory=list)
    kernels: list[dict[str, object]] = field(default_factory=list)
    # Modules: each distinct module content is a slot (its own types' named hashes, by own index + 1);
    # each kernel lists (module name, slot), in name order.
    slots: dict[Hash, int] = field(default_factory=dict)
    slot_named: list[list[tuple[int, Hash]]] = field(default_factory=list)
    slot_types: list[int] = field(default_factory=list)
    kernel_modules: list[list[tuple[str, int]]] = field(default_factory=list)

    def add(self, rows: KernelRows) -> None:
        """Append one kernel."""
        k = len(self.kernels)
        self.kernels.append({**rows.meta, "types": rows.type_count - 1})
        self._add_records(rows.records)
        for tid, h in rows.named:
            self.postings[self.index[h]].extend((k, tid))
        self.kernel_modules.append(
            [(m.name, self._slot(slot_key(m.named, m.types), m.named, m.types)) for m in rows.modules]
        )

    def _slot(self, key: Hash, named: list[tuple[int, Hash]], types: int) -> int:
        slot = self.slots.get(key)
        if slot is None:
            slot = self.slots[key] = len(self.slot_named)
            self.slot_named.append(named)
            self.slot_types.append(types)
        return slot

    def _add_records(self, records: Iterable[tuple[Hash, Record]]) -> None:
        for h, rec in records:
            if h not in self.index:
                self.index[h] = len(self.records)
                self.records.append(rec)
                self.postings.append(array("I"))

    def merge(self, part: Builder) -> None:
        """Append a partial index of the kernels that follow this one's."""
        offset = len(self.kernels)
        self.kernels.extend(part.kernels)
        hashes = list(part.index)  # insertion order == record order
        self._add_records(zip(hashes, part.records, strict=True))
        for h, plist in zip(hashes, part.postings, strict=True):
            if plist:
                shifted = array("I", plist)
                shifted[::2] = array("I", (k + offset for k in plist[::2]))
                self.postings[self.index[h]].extend(shifted)
        keys = list(part.slots)  # insertion order == slot order
        to_slot = [self._slot(key, part.slot_named[i], part.slot_types[i]) for i, key in enumerate(keys)]
        self.kernel_modules.extend([[(name, to_slot[s]) for name, s in mods] for mods in part.kernel_modules])

    def names(self) -> set[str]:
        return {kernel_name(k) for k in self.kernels}

    def to_data(self) -> FleetData:
        module_names = {name for mods in self.kernel_modules for name, _ in mods}
        strings = sorted({s for r in self.records for s in (r.name, *r.names)} | module_names | {""})
        sidx = {s: i for i, s in enumerate(strings)}
        hidx = self.index
        module_postings = [array("I") for _ in self.records]
        for slot, named in enumerate(self.slot_named):
            for own, h in named:
                module_postings[hidx[h]].extend((slot, own))
        stored = [
            StoredRecord(
                r.kind,
                r.weak,
                r.kind_flag,
                sidx[r.name],
                r.ints,
                tuple(sidx[s] for s in r.names),
                tuple(hidx[h] + 1 if h else 0 for h in r.refs),
            )
            for r in self.records
        ]
        return FleetData(
            strings, stored, self.postings, self.kernels, module_postings, list(self.slot_types),
            [[(sidx[name], slot) for name, slot in mods] for mods in self.kernel_modules],
        )


def builder_from(data: FleetData) -> Builder:
    """A Builder holding an existing index (hashes recomputed: they are a function of the records)."""
    b = Builder(kernels=[dict(k) for k in data.kernels])
    s = data.strings
    hashes: list[Hash] = []
    for r, plist in zip(data.records, data.postings, strict=True):
        refs = tuple(hashes[x - 1] if x else VOID_HASH for x in r.refs)
        rec = Record(r.kind, r.weak, r.kind_flag, s[r.name], r.ints, tuple(s[i] for i in r.names), refs)
        h = record_hash(rec.kind, rec.weak, rec.kind_flag, rec.name, rec.ints, rec.names, rec.refs)
        b.index[h] = len(b.records)
        hashes.append(h)
        b.records.append(rec)
        b.postings.append(array("I", plist))
    named: list[list[tuple[int, Hash]]] = [[] for _ in data.slot_types]
    for rec, plist in enumerate(data.module_postings):
        for i in range(0, len(plist), 2):
            named[plist[i]].append((plist[i + 1], hashes[rec]))
    for slot, types in enumerate(data.slot_types):
        own = sorted(named[slot])
        b._slot(slot_key(own, types), own, types)
    b.kernel_modules = [[(s[name], slot) for name, slot in mods] for mods in data.kernel_modules]
    return b


def kernel_name(meta: dict[str, object]) -> str:
    return str(meta["name"])


# --- inputs ----------------------------------------------------------------------------------


def input_files(sources: Iterable[str]) -> list[Path]:
    """The files behind --kernel sources, in the order `core --kernel` reads them (directories sorted)."""
    from ..kernels import is_kernel_file

    out: list[Path] = []
    for src in sources:
        path = Path(src)
        if not path.exists():
            raise AbiguardError(path, "no such file or directory")
        if path.is_dir():
            found = [p for p in sorted(q for q in path.rglob("*") if q.is_file()) if is_kernel_file(p)]
            if not found:
                raise AbiguardError(path, "directory holds no kernel BTF, archive or package")
            out.extend(found)
        else:
            out.append(path)
    return out


def rows_of_file(path: Path) -> list[KernelRows]:
    """Every kernel a file holds, hashed; the parsed kernels are dropped as soon as they are hashed."""
    from ..cache import Cache
    from ..kernels import load_kernels

    out = []
    for ref in load_kernels([str(path)], None, Cache(enabled=False)):
        kernel = ref.load()
        graph = kernel.graph
        types = graph.types
        validate = getattr(types, "validate_all", None)
        if validate is not None:
            validate()  # one bulk pass instead of a check per first access
        header = getattr(types, "header", None)
        raw_size = max(s.end for s in (header.types, header.strings, header.layout) if s is not None) if header else 0
        meta = {"name": ref.name, "digest": ref.digest, "btf_bytes": raw_size, "target": graph.target.name}
        meta.update(identity_of(ref, graph.target.name))
        hasher = TypeHasher(graph)
        rows = hasher.kernel(meta)
        modules = kernel.modules
        if isinstance(modules, ModuleSet):
            rows.modules = module_rows(hasher, modules, rows.records)
            meta["modules"] = "all" if modules.complete else "loaded"
            meta["module_btf_bytes"] = sum(m.btf_bytes for m in rows.modules)
            meta["module_count"] = len(rows.modules)
            meta["module_types"] = sum(m.types for m in rows.modules)
        out.append(rows)
        del kernel, graph, types, hasher
    return out


def module_rows(hasher: TypeHasher, modules: ModuleSet, out: list[tuple[Hash, Record]]) -> list[ModuleRows]:
    """Every module of a kernel, in name order, hashed on the kernel's types; new records go to `out`."""
    from ...sources.btf.reader import parse_btf

    rows = []
    for name, raw in sorted(modules.blobs().items()):
        parsed = parse_btf(raw, f"{modules.kernel_name}:{name}", modules.base, modules.target)
        parsed.validate_all()
        rows.append(hasher.module(name, parsed.graph, len(raw), out))
    return rows


def identity_of(ref: KernelRef, target: str) -> dict[str, str]:
    """What --select matches: the kernel's identity as `core --kernel` reports it, the distro from a
    BTFHub path (<distro>/<distro release>/<arch>/<uname -r>.btf.tar.xz), the arch from BTF when unnamed."""
    ident = ref.identity
    parts = Path(ref.name.split(":")[0]).parts
    distro = f"{parts[-4]} {parts[-3]}" if len(parts) >= 4 and ident.arch and parts[-2] == ident.arch else ""
    if len(parts) >= 4 and not distro and parts[-2] in ("x86_64", "arm64", "aarch64", "s390x", "ppc64le"):
        distro = f"{parts[-4]} {parts[-3]}"
    return {
        "release": ident.release,
        "arch": ident.arch or target,
        "flavour": ident.flavour,
        "version": ident.version,
        "distro": distro,
        "identity": [ident.release, ident.arch, ident.flavour, ident.version],  # type: ignore[dict-item]
    }


# --- serial build ----------------------------------------------------------------------------


def build_serial(
    files: list[Path], base: Builder | None = None, progress: Callable[[int], None] | None = None
) -> Builder:
    """Hash and merge every kernel of `files` in order, in this process."""
    b = base or Builder()
    for path in files:
        for rows in rows_of_file(path):
            _refuse_duplicate(b, rows.meta)
            b.add(rows)
        if progress is not None:
            progress(1)
    return b


def partial(files: list[Path]) -> Builder:
    """A partial index of a run of consecutive input files (the unit of work on a cluster)."""
    b = Builder()
    for path in files:
        for rows in rows_of_file(path):
            b.add(rows)
    return b


def _refuse_duplicate(b: Builder, meta: dict[str, object]) -> None:
    name = kernel_name(meta)
    for k in b.kernels:
        if kernel_name(k) == name:
            raise AbiguardError(name, "kernel is already in the fleet index")


def merge_checked(b: Builder, part: Builder) -> None:
    """Merge, refusing a kernel name that is already in the index."""
    have = b.names()
    for meta in part.kernels:
        if kernel_name(meta) in have:
            raise AbiguardError(kernel_name(meta), "kernel is already in the fleet index")
    b.merge(part)


def write_index(b: Builder, out: Path) -> int:
    """Encode and write atomically; the number of bytes written."""
    blob = encode(b.to_data())
    try:
        atomic_write(out, blob)
    except OSError as e:
        raise AbiguardError(out, e.strerror or str(e)) from None
    return len(blob)


def chunks(files: list[Path], size: int) -> Iterator[list[Path]]:
    for i in range(0, len(files), size):
        yield files[i : i + size]
