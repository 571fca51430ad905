"""Every struct/union of the Linux 6.1 UAPI against gcc for x86_64, i386, aarch64, s390x and arm:
abiguard's kernel: reader must agree with the cross compiler on every size, alignment, member offset,
bitfield and constant, the compiler reading the kernel's own `make headers` output (and, for the
headers that include libc ones, its Debian cross libc where abiguard reads the ziglang wheel's glibc)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from abiguard.model.target import TARGETS
from abiguard.sources.libc import libc_for

from .conftest import kernel_make_headers
from .test_libc import NEEDS_LIBC

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from gcc_layout_oracle import find_gcc
from uapi_accuracy import check_arch


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["x86_64", "i386", "aarch64", "s390x", "arm"])
def test_uapi_layouts_match_gcc(arch: str, linux_source: Path, kernel_cache_dir: Path) -> None:
    target = TARGETS[arch]
    if find_gcc(target) is None:
        pytest.skip(f"no gcc cross compiler for {arch} (scripts/setup.sh installs it)")
    real = kernel_make_headers(linux_source, target.kernel_arch)
    result = check_arch(linux_source, target, real, kernel_cache_dir)
    print(f"\n{arch} ({result.compiler}): {result.records} structs/unions in {result.units} TUs, "
          f"{result.checks} checks + {result.bitfields} bitfields agree with gcc; with libc headers: "
          f"{len(result.libc_roots)} headers in {result.libc_units} TUs, {result.libc_records} structs/unions "
          f"only they hold, {result.libc_checks} checks")
    assert result.problems == []
    # The headers that include libc ones are checked too, against the gcc's own target libc.
    if libc_for(target) is not None:
        assert set(NEEDS_LIBC) <= result.libc_roots
        assert result.libc_records > 150 and result.libc_checks > 5_000
    # Not vacuous: the 6.1 UAPI holds some 3,800 structs/unions per arch, spread over many TUs.
    assert result.records > 3000
    assert result.units >= 10
    assert result.checks > 50_000
