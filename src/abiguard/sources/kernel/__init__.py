"""`kernel:PATH[@REF]` sources: a kernel tree's UAPI as headers_install exposes it, per arch."""

from __future__ import annotations

import contextlib
import functools
import pickle
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...errors import AbiguardError
from ...fileio import cache_root as default_cache_root
from ...fileio import code_digest
from ...model import Target, TypeGraph
from ...model.target import host_target
from ..libc import LibcHeaders, libc_for
from ..options import SourceOptions
from .cache import UnitCache, digest
from .install import InstalledHeaders, install_headers
from .planning import plan_headers
from .reader import KernelStats, Prepared, parse_installed
from .staging import staged
from .tree import COMMON_PATHS, arch_paths, parse_spec, read_tree

__all__ = ["KernelResult", "KernelStats", "load_kernel", "read_kernel"]


@dataclass
class KernelResult:
    graphs: list[TypeGraph]
    stats: KernelStats


def read_kernel(spec: str, targets: Sequence[Target], options: SourceOptions | None = None) -> list[TypeGraph]:
    """One TypeGraph per target (host target when none) for `kernel:PATH` or `kernel:PATH@REF`."""
    return load_kernel(spec, targets, options).graphs


def load_kernel(
    spec: str,
    targets: Sequence[Target],
    options: SourceOptions | None = None,
    cache_root: Path | None = None,
    keep_units: bool = False,
) -> KernelResult:
    """read_kernel plus what the read did (parsed vs cached TUs); `cache_root` overrides the default;
    `keep_units` also returns every TU's own result (stats.units), e.g. to check each against gcc."""
    opts = options or SourceOptions()
    root, ref = parse_spec(spec)
    targets = list(targets) or [host_target()]
    libcs = {t.name: libc_for(t, opts.libc_include) for t in targets}  # a bad --libc-include fails first
    karches = list(dict.fromkeys(t.kernel_arch for t in targets))
    paths = [*COMMON_PATHS, *(p for k in karches for p in arch_paths(k))]
    tree = read_tree(root, ref, paths)
    where = f"{root}@{ref}" if ref else str(root)
    for karch in karches:
        if not any(p.startswith(f"arch/{karch}/include/uapi/") for p in tree.files):
            raise AbiguardError(where, f"not a kernel tree for {karch}: no arch/{karch}/include/uapi")
    cache_dir = (cache_root or default_cache_root()) if opts.use_cache else None
    cache = UnitCache(cache_dir) if cache_dir is not None else None
    user_dirs = [Path(d).resolve() for d in opts.include_dirs]
    stats = KernelStats(units={} if keep_units else None)
    available = _available(user_dirs)
    with contextlib.ExitStack() as stack:
        prepared: dict[str, Prepared] = {}

        def prepare(karch: str) -> Prepared:
            """headers_install, the parse plan and the staged directory of one kernel arch, made once."""
            if karch not in prepared:
                inst = _install(tree.files, karch, cache)
                # One plan serves every target of the kernel arch (x86_64 and i386): a libc header
                # counts as there when each of their libcs has it.
                found = [libcs[t.name] for t in targets if t.kernel_arch == karch]
                from_libc = None if None in found else _in_every(found)
                alike = [(done[0].headers, done[1]) for done in prepared.values()]
                prepared[karch] = (inst, stack.enter_context(staged(inst.headers, cache, alike)),
                                   plan_headers(inst, available, from_libc))
            return prepared[karch]

        plans = [(t, libcs[t.name], functools.partial(prepare, t.kernel_arch)) for t in targets]
        graphs = parse_installed(plans, opts.defines, user_dirs, cache, tree.label, opts.progress, stats)
    return KernelResult(graphs, stats)


def _install(files: Mapping[str, bytes], karch: str, cache: UnitCache | None) -> InstalledHeaders:
    """install_headers, remembered by the content of the tree files and of the emulation's code."""
    if cache is None:
        return install_headers(files, karch)
    code = code_digest(sys.modules[__name__])
    key = digest("kernel-install", karch, code, *(f"{p}\0" for p in sorted(files)), *(files[p] for p in sorted(files)))
    found = cache.load_pickle(key)
    if isinstance(found, InstalledHeaders):
        return found
    result = install_headers(files, karch)
    cache.put(key, pickle.dumps(result, protocol=5))
    return result


def _in_every(libcs: Sequence[LibcHeaders | None]) -> Callable[[str], bool]:
    """Whether every one of `libcs` provides an include name."""
    return lambda name: all(libc is not None and libc.has(name) for libc in libcs)


def _available(user_dirs: Sequence[Path]) -> Callable[[str], bool]:
    """Whether an include name outside the UAPI is found: our freestanding headers or the user's -I dirs."""
    from ..clang.libclang import BUILTIN_INCLUDE

    dirs = [BUILTIN_INCLUDE, *user_dirs]
    memo: dict[str, bool] = {}

    def available(name: str) -> bool:
        if name not in memo:
            memo[name] = any((d / name).is_file() for d in dirs)
        return memo[name]

    return available
