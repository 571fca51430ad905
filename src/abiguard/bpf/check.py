"""Check BPF objects against kernels: every relocation resolved (poisoned ones tested for reachability) and
every load check run."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .btf_ext import ExtSection
from .cache import Cache, code_digest
from .findings import LoadFinding, Outcome
from .insn import Code
from .load import load_findings, ref_names
from .objfile import BpfObject
from .reach import patched_code, reachable
from .resolve import ReloResult, ResolveContext, Status, resolve_relo

if TYPE_CHECKING:  # the kernel readers load only where kernels are read, not for a fleet query
    from .kernels import KernelRef


@dataclass
class Verdict:
    """One object on one kernel."""

    obj: str
    kernel: str
    results: list[ReloResult] = field(default_factory=list)
    load: list[LoadFinding] = field(default_factory=list)
    names: dict[tuple[str, int], str] = field(default_factory=dict)  # this kernel's names for numbered refs
    load_checked: bool = False  # False where only relocations were resolved (a fleet index holds no more)

    @property
    def relocates(self) -> bool:
        return not any(r.failed for r in self.results)

    @property
    def ok(self) -> bool:
        """Nothing proves the object cannot load on this kernel (it may still be 'unknown')."""
        return self.relocates and not any(f.outcome == Outcome.FAILS for f in self.load)

    @property
    def status(self) -> str:
        """loads / fails / unknown, or `relocates` when only the relocations were checked."""
        if not self.ok:
            return "fails"
        if not self.load_checked:
            return "relocates"
        return "unknown" if self.load else "loads"

    @property
    def failures(self) -> list[ReloResult]:
        return [r for r in self.results if r.failed]


def check_object(obj: BpfObject, kernel: KernelRef, cache: Cache | None = None, load_checks: bool = True) -> Verdict:
    """Results of `obj` on `kernel`: from the cache when this code already resolved these exact inputs.

    Without `load_checks` only the CO-RE relocations are resolved (status `relocates` where they all do).
    """
    cache = cache or Cache(enabled=False)
    if not load_checks:
        return _relocations_only(obj, kernel, cache)
    key = "res-" + hashlib.sha256(f"{code_digest()}:{obj.digest}:{kernel.digest}".encode()).hexdigest()
    cached = cache.get(key)
    if (
        isinstance(cached, tuple)
        and len(cached) == 3
        and all(isinstance(r, ReloResult) for r in cached[0])
        and all(isinstance(f, LoadFinding) for f in cached[1])
        and isinstance(cached[2], dict)
    ):
        return Verdict(str(obj.path), kernel.name, list(cached[0]), list(cached[1]), dict(cached[2]), True)
    verdict = resolve_object(obj, kernel)
    verdict.load = load_findings(obj, kernel.load())
    verdict.names = ref_names(obj, kernel.load())
    verdict.load_checked = True
    cache.put(key, (verdict.results, verdict.load, verdict.names))
    return verdict


def _relocations_only(obj: BpfObject, kernel: KernelRef, cache: Cache) -> Verdict:
    key = "relo-" + hashlib.sha256(f"{code_digest()}:{obj.digest}:{kernel.digest}".encode()).hexdigest()
    cached = cache.get(key)
    if isinstance(cached, list) and all(isinstance(r, ReloResult) for r in cached):
        return Verdict(str(obj.path), kernel.name, cached)
    verdict = resolve_object(obj, kernel)
    cache.put(key, verdict.results)
    return verdict


def resolve_object(obj: BpfObject, ref: KernelRef) -> Verdict:
    """Resolve every relocation of `obj` in libbpf's order, sharing one candidate cache per object."""
    kernel = ref.load()
    ctx = ResolveContext(obj.btf, kernel)
    verdict = Verdict(str(obj.path), ref.name)
    for sec in obj.ext.relo_sections():
        code = obj.code[sec.name]
        results = [
            resolve_relo(ctx, sec.name, obj.func_at(sec, r.insn_off), r, code, obj.line_at(sec, r.insn_off))
            for r in sec.core_relos
        ]
        live = live_poisoned(sec, code, results)
        for r in results:
            if r.status == Status.POISONED:
                r.reachable = r.relo.insn_off // 8 in live
        verdict.results.extend(results)
    return verdict


def live_poisoned(sec: ExtSection, code: Code, results: Sequence[ReloResult],
                  memo: dict[tuple[object, ...], set[int]] | None = None) -> set[int]:
    """Indexes of the section's poisoned instructions the verifier can still reach once every other
    relocation is patched in; `memo` shares the answer between kernels that patch alike."""
    poisoned = {r.relo.insn_off // 8 for r in results if r.status == Status.POISONED}
    if not poisoned:
        return set()
    values = {r.relo.insn_off // 8: r.new_val for r in results
              if r.new_val is not None and r.status in (Status.OK, Status.ZERO)}
    key = (sec.name, tuple(sorted(values.items())), tuple(sorted(poisoned)))
    live = memo.get(key) if memo is not None else None
    if live is None:
        entries = sorted({fi.insn_off // 8 for fi in sec.func_info}) or [0]
        live = reachable(patched_code(code, values), entries, poisoned)
        if memo is not None:
            memo[key] = live
    return live
