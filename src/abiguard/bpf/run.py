"""Check BPF objects against kernels: the loop over kernels, one parsed kernel alive at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import AbiguardError
from ..sources.shipped.ident import KernelIdentity
from .cache import Cache
from .check import Verdict, check_object
from .objfile import read_object


@dataclass(frozen=True)
class CoreResult:
    """Verdicts object-major (every kernel of the first object, then the next object's)."""

    verdicts: tuple[Verdict, ...]
    objects: tuple[str, ...]
    kernels: tuple[str, ...]
    identities: tuple[KernelIdentity, ...] = ()  # release/arch/flavour/version of each of `kernels`, same order

    @property
    def ok(self) -> bool:
        """Does nothing prove that some object fails on some kernel?"""
        return all(v.ok for v in self.verdicts)


def check_core(
    objects: Sequence[str | Path],
    kernels: Sequence[str | Path] = (),
    base: Path | None = None,
    use_cache: bool = True,
    load_checks: bool = True,
) -> CoreResult:
    """Check every object on every kernel (the running kernel when none given): CO-RE relocations and,
    with `load_checks`, everything else that decides whether it loads."""
    from .kernels import DEFAULT_KERNEL, load_kernels  # not at the top: reports and fleet queries import CoreResult

    sources = [str(k) for k in kernels]
    if not sources:
        if not DEFAULT_KERNEL.exists():
            raise AbiguardError(DEFAULT_KERNEL, "no kernel given and this kernel exposes no BTF")
        sources = [str(DEFAULT_KERNEL)]
    objs = [read_object(Path(o)) for o in objects]
    cache = Cache(enabled=use_cache)
    targets = load_kernels(sources, base, cache)
    by_kernel = []
    for k in targets:
        by_kernel.append([check_object(obj, k, cache, load_checks) for obj in objs])
        k.unload()
    verdicts = tuple(by_kernel[ki][oi] for oi in range(len(objs)) for ki in range(len(targets)))
    name_refs(verdicts)
    named = {k.name: k.identity for k in targets}
    return CoreResult(
        verdicts=verdicts,
        objects=tuple(str(o.path) for o in objs),
        kernels=tuple(named),
        identities=tuple(named.values()),
    )


def name_refs(verdicts: Sequence[Verdict]) -> None:
    """Name helpers and map types a kernel lacks (so cannot name) from the other kernels of the run."""
    book: dict[tuple[str, int], str] = {}
    for v in verdicts:
        book.update(v.names)
    for v in verdicts:
        v.load = [
            f.named(book[(f.ref.enum, f.ref.value)])
            if f.ref is not None and (f.ref.enum, f.ref.value) in book and f.ref.unnamed in f.summary
            and f.ref.label(book[(f.ref.enum, f.ref.value)]) not in f.summary
            else f
            for f in v.load
        ]
