"""Diffs of real distro kernels as shipped: the comparer must hold on every struct two releases apart."""

from __future__ import annotations

from pathlib import Path

import pytest

import abiguard
from abiguard.compare.findings import Severity


def _package(packages: list[Path], release: str, arch: str) -> Path:
    for p in packages:
        if p.name.startswith(f"linux-image-{release}") and p.name.endswith(f"_{arch}.deb"):
            return p
    pytest.skip(f"no linux-image-{release}*_{arch}.deb cached (run scripts/kernels.sh)")


@pytest.mark.slow
def test_debian_6_1_to_6_12_vmlinux(kernel_packages: list[Path]) -> None:
    """6.1 -> 6.12 renames struct folio's __head in place beside new members: a rename, not a crash."""
    old = _package(kernel_packages, "6.1.", "amd64")
    new = _package(kernel_packages, "6.12.", "amd64")
    report = abiguard.diff(old, new)
    assert report.verdict == Severity.BREAKING
    folio = [f for f in report.findings if f.type == "struct folio" and f.member == "_head_1"]
    assert [(f.kind, f.severity) for f in folio] == [("member_renamed", Severity.API)]
