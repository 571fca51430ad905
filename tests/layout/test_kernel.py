"""`abiguard layout` on the Linux 6.1 UAPI for several arches (issue #3's per-arch bpf_perf_event_data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli


@pytest.mark.slow
def test_bpf_perf_event_data_per_arch(linux_source: Path) -> None:
    proc = run_cli("layout", "bpf_perf_event_data", f"kernel:{linux_source}",
                   "--arch", "s390x,aarch64,x86_64,i386", "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    by_arch = {d["arch"]: d for d in json.loads(proc.stdout)}
    assert list(by_arch) == ["s390x", "aarch64", "x86_64", "i386"]
    # user_pt_regs per arch in 6.1: s390 psw+gprs+orig_gpr2, arm64 x0-x30+sp+pc+pstate, x86 pt_regs
    regs_size = {"s390x": 152, "aarch64": 272, "x86_64": 168, "i386": 68}
    for arch, data in by_arch.items():
        members = {m["name"]: m for m in data["members"]}
        assert members["regs"]["size"] == regs_size[arch], arch
        assert members["sample_period"]["offset"] == regs_size[arch], arch
        assert data["align_derived"] is False
    # i386 aligns __u64 to 4 inside structs: no padding after the 68-byte regs
    assert (by_arch["i386"]["size"], by_arch["i386"]["align"]) == (84, 4)
    assert (by_arch["x86_64"]["size"], by_arch["x86_64"]["align"]) == (184, 8)


@pytest.mark.slow
def test_users_of_user_pt_regs_on_arm64(linux_source: Path) -> None:
    proc = run_cli("users", "struct user_pt_regs", f"kernel:{linux_source}", "--arch", "aarch64",
                   "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    paths = {u["path"] for u in data["by_value"]}
    assert "bpf_perf_event_data.regs (via typedef bpf_user_pt_regs_t)" in paths
