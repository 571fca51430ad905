"""A fleet kernel's modules as the checks ask for them: what `modules.ModuleSet` gives for a package.

Each module is vmlinux plus the module's own types, seen through the index: the kernel's ids below
`split_start`, the module slot's own types from there on (own index i is id split_start + i - 1).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from ...model import ENUM_KINDS, Type, TypeGraph
from ..candidates import TargetKernel
from ..compat import essential_name
from .format import FleetFile


class KernelView(Protocol):
    """The fleet's view of one kernel's (or kernel-plus-module's) types (query.VirtualTypes)."""

    def ids_named(self, name: str) -> list[int]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Type: ...


# (first virtual id, the module's own types) -> a view of vmlinux plus that module
MakeView = Callable[[int, "OwnTypes"], KernelView]


class OwnTypes:
    """One module slot's own types: the ids a record has there, and the records a look-up finds there."""

    def __init__(self, fleet: FleetFile, slot: int, split: int) -> None:
        self.fleet = fleet
        self.slot = slot
        self.split = split

    def ids_of(self, rec: int) -> list[int]:
        return [self.split + own - 1 for slot, own in self.fleet.module_postings(rec) if slot == self.slot]

    def records(self, query: tuple[str, str]) -> tuple[int, ...]:
        """The records `("name", x)` or `("anon", "")` finds among the module's own types, in id order."""
        what, name = query
        fleet = self.fleet
        if what == "anon":
            found = [r for r, kind in fleet.records_named(0) if kind in ENUM_KINDS]
        else:
            i = string_index(fleet.strings, name)
            found = [r for r, _ in fleet.records_named(i)] if i is not None else []
        posted = sorted((own, r) for r in found for slot, own in fleet.module_postings(r) if slot == self.slot)
        return tuple(r for _, r in posted)


def string_index(strings: Sequence[str], name: str) -> int | None:
    """Index of a non-empty string in the index's sorted string table, or None."""
    i = bisect_left(strings, name)
    return i if name and i < len(strings) and strings[i] == name else None


def strings_with_essential(strings: Sequence[str], ess: str) -> Iterator[int]:
    """String indexes of `ess` and every `ess___flavor` (the strings are sorted)."""
    i = string_index(strings, ess)
    if i is not None:
        yield i
    prefix = ess + "___"
    i = bisect_left(strings, prefix)
    while i < len(strings) and strings[i].startswith(prefix):
        if essential_name(strings[i]) == ess:
            yield i
        i += 1


class FleetModules:
    """The modules of one kernel of an index (modules.KernelModules). `used` tells whether a check asked."""

    def __init__(self, fleet: FleetFile, kernel: int, base: TypeGraph, make_view: MakeView) -> None:
        meta = fleet.kernels[kernel]
        self.fleet = fleet
        self.kernel_index = kernel
        self.name = str(meta["name"])
        self.complete = meta.get("modules") == "all"  # a package lists every module; /sys only loaded ones
        self.split = int(meta.get("types", 0)) + 1  # type: ignore[call-overload]
        self.base = base
        self.make_view = make_view
        self.used = False
        self._table: dict[str, int] | None = None
        self._kernels: dict[str, TargetKernel] = {}
        self._strings: bytes | None = None

    def table(self) -> dict[str, int]:
        """Module name -> slot."""
        if self._table is None:
            strings = self.fleet.strings
            self._table = {strings[n]: slot for n, slot in self.fleet.kernel_modules(self.kernel_index)}
        return self._table

    def kernel(self, module: str) -> TargetKernel | None:
        """vmlinux plus one module as a split kernel, or None when the kernel has no such module."""
        self.used = True
        found = self._kernels.get(module)
        if found is None:
            slot = self.table().get(module)
            if slot is None:
                return None
            view = self.make_view(self.split + self.fleet.slot_types[slot], OwnTypes(self.fleet, slot, self.split))
            name = f"{self.name}:{module}"
            graph = TypeGraph(target=self.base.target, types=view, source=name, name_lookup=view.ids_named)
            found = self._kernels[module] = TargetKernel(name, graph, self._all_strings(), self.split)
        return found

    def holding(self, name: str) -> list[tuple[str, TargetKernel]]:
        """(module, its split kernel) of every module whose own types carry `name` or `name___...`, by name."""
        self.used = True
        fleet = self.fleet
        slots = {
            slot
            for s in strings_with_essential(fleet.strings, name)
            for rec, _ in fleet.records_named(s)
            for slot, _ in fleet.module_postings(rec)
        }
        out = []
        for module, slot in sorted(self.table().items()):
            if slot in slots:
                kernel = self.kernel(module)
                if kernel is not None:
                    out.append((module, kernel))
        return out

    def _all_strings(self) -> bytes:
        """Every name of the index, NUL-separated: where a candidate search finds `name___flavor` spellings
        (a superset of the kernel's names; ids are then looked up per kernel)."""
        if self._strings is None:
            self._strings = "\0".join(self.fleet.strings).encode("utf-8", "surrogateescape") + b"\0"
        return self._strings
