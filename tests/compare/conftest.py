"""Fixtures for the comparer: old/new C header variants parsed by libclang for real targets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from abiguard.compare import DiffResult, Waivers, run_diff
from abiguard.compare.findings import Finding, Severity
from abiguard.model import TypeGraph, get_target
from abiguard.sources import SourceOptions
from abiguard.sources.clang.headers import read_headers

# Fixed-width types as the kernel's UAPI spells them, so test headers need no system headers.
PRELUDE = """
typedef signed char __s8; typedef unsigned char __u8;
typedef short __s16; typedef unsigned short __u16;
typedef int __s32; typedef unsigned int __u32;
typedef long long __s64; typedef unsigned long long __u64;
typedef long __kernel_long_t; typedef unsigned long __kernel_ulong_t;
"""


def parse(tmp: Path, name: str, text: str, arches: Sequence[str]) -> list[TypeGraph]:
    """Parse one header variant for each arch through libclang."""
    d = tmp / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "abi.h").write_text(PRELUDE + text)
    # one target per call keeps libclang in this process (several would start a worker pool each time)
    opts = SourceOptions(use_cache=False)
    return [g for a in arches for g in read_headers([d / "abi.h"], [get_target(a)], opts)]


DiffC = Callable[..., DiffResult]


@pytest.fixture
def diff_c(tmp_path: Path) -> DiffC:
    """diff_c(old_text, new_text, arches=("x86_64",), roots=(), waivers=None) -> DiffResult."""
    count = [0]

    def run(old: str, new: str, arches: Sequence[str] = ("x86_64",), roots: Sequence[str] = (),
            waivers: Waivers | None = None) -> DiffResult:
        count[0] += 1
        base = tmp_path / f"case{count[0]}"
        return run_diff(parse(base, "old", old, arches), parse(base, "new", new, arches), roots, waivers)

    return run


def only(result: DiffResult, **match: object) -> Finding:
    """The single finding whose attributes equal `match` (fails listing all findings otherwise)."""
    hits = [f for f in result.findings if all(getattr(f, k) == v for k, v in match.items())]
    listing = "\n".join(f"{f.arch} {f.severity.label} {f.kind} {f.type} {f.member} {f.message}"
                        for f in result.findings)
    assert len(hits) == 1, f"expected one finding with {match}, got {len(hits)}:\n{listing}"
    return hits[0]


def severities(result: DiffResult) -> dict[tuple[str, str, str | None], Severity]:
    """(kind, type, member) -> severity, for compact assertions."""
    return {(f.kind, f.type, f.member): f.severity for f in result.findings}
