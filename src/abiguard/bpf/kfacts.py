"""What one kernel's BTF says about BPF itself: UAPI enums, functions, kfunc tags; each looked up once."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import ENUM_KINDS, Kind
from .candidates import TargetKernel
from .compat import essential_name

KFUNC_TAG = "bpf_kfunc"


@dataclass
class KernelFacts:
    """Look-ups on one parsed kernel, memoized for the checks of every object on it."""

    kernel: TargetKernel
    _enums: dict[str, dict[str, int] | None] = field(default_factory=dict)
    _anon: dict[str, dict[str, int] | None] = field(default_factory=dict)
    _kfuncs: set[int] | None = None
    _kfuncs_read: bool = False
    _modules: dict[str, KernelFacts] = field(default_factory=dict)

    @property
    def graph(self):
        return self.kernel.graph

    def enum(self, name: str) -> dict[str, int] | None:
        """Enumerators of the named enum (`bpf_func_id`), or None when the BTF has no such enum."""
        if name not in self._enums:
            g = self.graph
            ids = [i for i in g.ids_named(name) if g[i].kind in ENUM_KINDS]
            self._enums[name] = {e.name: e.value for e in g[ids[0]].enumerators} if ids else None
        return self._enums[name]

    def enum_holding(self, enumerator: str) -> dict[str, int] | None:
        """Enumerators of the anonymous enum that defines `enumerator` (UAPI flag sets), or None."""
        if enumerator not in self._anon:
            self._anon[enumerator] = self._find_anon(enumerator)
        return self._anon[enumerator]

    def _find_anon(self, enumerator: str) -> dict[str, int] | None:
        g = self.graph
        types = g.types
        # A kernel BTF finds the enums naming it by a string search, a fleet index lists its anonymous
        # enums; other graphs decode every type.
        naming = getattr(types, "enums_naming", None)
        listed = getattr(types, "anonymous_enum_ids", None)
        ids = naming(enumerator) if naming is not None else listed() if listed is not None else g.ids()
        for tid in ids:
            t = g[tid]
            if t.kind in ENUM_KINDS and not t.name and any(e.name == enumerator for e in t.enumerators):
                return {e.name: e.value for e in t.enumerators}
        return None

    def named(self, name: str, kind: Kind) -> list[int]:
        """Ids of `kind` types called `name`."""
        g = self.graph
        return [i for i in g.ids_named(name) if g[i].kind == kind]

    def funcs_for(self, name: str) -> list[int]:
        """Kernel FUNCs a ksym `name` (or `name___flavor`) can bind to, vmlinux before modules."""
        ids = self.named(essential_name(name), Kind.FUNC)
        split = self.kernel.split_start
        if split:
            base = [i for i in ids if i < split]
            return base or ids
        return ids

    def module(self, module: str) -> KernelFacts | None:
        """Facts of vmlinux plus one module (split BTF), when the kernel's modules are known and it has it."""
        if module not in self._modules:
            modules = self.kernel.modules
            kernel = modules.kernel(module) if modules is not None else None
            if kernel is None:
                return None
            self._modules[module] = KernelFacts(kernel)
        return self._modules[module]

    def module_facts(self, name: str) -> list[KernelFacts]:
        """Facts of each module that may define `name` (what libbpf searches when vmlinux has no match)."""
        modules = self.kernel.modules
        if modules is None:
            return []
        out = []
        for module, _ in modules.holding(essential_name(name)):
            facts = self.module(module)
            if facts is not None:
                out.append(facts)
        return out

    @property
    def has_modules(self) -> bool:
        """Are this kernel's modules known (a package, the running kernel), so absence there is proven?"""
        return self.kernel.modules is not None

    def kfunc_ids(self) -> set[int] | None:
        """FUNCs the kernel tags `bpf_kfunc`; None when this kernel tags none (before the tags existed)."""
        if not self._kfuncs_read:
            g = self.graph
            tagged = {g[t].ref for t in self.named(KFUNC_TAG, Kind.DECL_TAG) if g[t].component_idx == -1}
            self._kfuncs = tagged or None
            self._kfuncs_read = True
        return self._kfuncs


def facts_for(kernel: TargetKernel) -> KernelFacts:
    """The kernel's facts, shared by every object checked while it is loaded."""
    facts = kernel.memo.get("facts")
    if not isinstance(facts, KernelFacts):
        facts = kernel.memo["facts"] = KernelFacts(kernel)
    return facts
