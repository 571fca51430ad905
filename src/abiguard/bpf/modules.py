"""A kernel's modules (split BTF on its vmlinux), fetched and parsed only when a check needs one.

libbpf looks in module BTF only when vmlinux has no match (CO-RE candidates, kfuncs, attach
targets); so do the checks here, through `ModuleSet.holding(name)`: the modules whose own types carry
the name. A byte search of each module's raw BTF picks the few that can, and only those are parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .candidates import TargetKernel, ids_with_essential_name
from .compat import essential_name

if TYPE_CHECKING:
    from ..model.target import Target
    from ..sources.btf.reader import ParsedBtf


@dataclass
class ModuleSet:
    """The modules of one kernel: name -> split BTF bytes from `fetch` (called once, on first need)."""

    kernel_name: str
    base: ParsedBtf
    target: Target
    fetch: Callable[[], dict[str, bytes]]
    complete: bool = True  # every module of the kernel (a package); False: only those loaded now (/sys)
    _raw: dict[str, bytes] | None = field(default=None, repr=False)
    _parsed: dict[str, TargetKernel] = field(default_factory=dict, repr=False)

    def names(self) -> list[str]:
        """Module names, sorted."""
        return sorted(self._modules())

    def blobs(self) -> dict[str, bytes]:
        """Module name -> its raw split BTF (for indexing every module)."""
        return self._modules()

    def kernel(self, module: str) -> TargetKernel | None:
        """vmlinux plus one module as a split-BTF kernel (ids of vmlinux first), or None when no such module."""
        found = self._parsed.get(module)
        if found is None:
            raw = self._modules().get(module)
            if raw is None:
                return None
            from ..sources.btf.reader import parse_btf

            parsed = parse_btf(raw, f"{self.kernel_name}:{module}", self.base, self.target)
            found = TargetKernel(f"{self.kernel_name}:{module}", parsed.graph, parsed.strings, len(self.base.graph))
            self._parsed[module] = found
        return found

    def holding(self, name: str) -> list[tuple[str, TargetKernel]]:
        """(module, its split kernel) for every module whose own types carry `name` or `name___...`, in
        module-name order. Split BTF names a type by a string of vmlinux when vmlinux has that string, so a
        module is picked by its own strings or by the offset of such a vmlinux string, then checked."""
        key = name.encode("utf-8", "surrogateescape")
        in_base = self._base_offsets(name)
        out = []
        for module, raw in sorted(self._modules().items()):
            if b"\0" + key + b"\0" in raw or b"\0" + key + b"___" in raw or any(off in raw for off in in_base):
                kernel = self.kernel(module)
                if kernel is not None and defines(kernel, name):
                    out.append((module, kernel))
        return out

    def _base_offsets(self, name: str) -> list[bytes]:
        """The offsets, as a module's BTF words would hold them, of vmlinux strings with essential name `name`."""
        strings = self.base.strings
        order = "little" if self.base.btf.header.endian == "little" else "big"
        key = b"\0" + name.encode("utf-8", "surrogateescape")
        out = []
        pos = strings.find(key)
        while pos >= 0:
            end = strings.find(b"\0", pos + 1)
            full = strings[pos + 1 : end if end >= 0 else len(strings)].decode("utf-8", "surrogateescape")
            if essential_name(full) == name:
                out.append((pos + 1).to_bytes(4, order))
            pos = strings.find(key, pos + 1)
        return out

    def _modules(self) -> dict[str, bytes]:
        if self._raw is None:
            self._raw = self.fetch()
        return self._raw


def defines(kernel: TargetKernel, name: str) -> bool:
    """Does a module's own BTF (past vmlinux's ids) hold a type whose essential name is `name`?"""
    return any(i >= kernel.split_start for i in ids_with_essential_name(kernel, name))
