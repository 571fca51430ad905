"""The 2022 user_pt_regs break on the real Linux 6.1 UAPI, and the three fixes from the list thread.

A scratch git repo holds the 6.1 UAPI; each version is a commit, read with `kernel:REPO@COMMIT` by the
real CLI over every arch. See shared/docs/seed-thread.txt for the story.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .kernel_repo import Scenario, build_scenario

pytestmark = pytest.mark.slow

ABIGUARD = Path(sys.executable).with_name("abiguard")
CHAIN = ["user_pt_regs", "bpf_user_pt_regs_t", "bpf_perf_event_data.regs"]
CHANGED = {"s390x", "aarch64"}
# Where bpf_perf_event_data's members sat in 6.1 (regs is 152 bytes on s390x, 272 on aarch64).
OFFSETS = {"s390x": {"sample_period": 152, "addr": 160}, "aarch64": {"sample_period": 272, "addr": 280}}

Diff = Callable[[str, str], tuple[int, dict[str, Any]]]


@pytest.fixture(scope="module")
def scenario(linux_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(linux_source, tmp_path_factory.mktemp("linux-2022"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ABIGUARD), *args], capture_output=True, text=True, timeout=3600)


@pytest.fixture(scope="module")
def diff(scenario: Scenario) -> Diff:
    """`abiguard diff kernel:REPO@OLD kernel:REPO@NEW --arch all --format json`: (exit code, report)."""
    done: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}

    def run(old: str, new: str) -> tuple[int, dict[str, Any]]:
        if (old, new) not in done:
            proc = _run("diff", scenario.spec(old), scenario.spec(new), "--arch", "all", "--format", "json")
            assert proc.returncode in (0, 1), proc.stderr[-3000:]
            done[old, new] = (proc.returncode, json.loads(proc.stdout))
        return done[old, new]

    return run


def _find(report: dict[str, Any], **want: Any) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if all(f.get(k) == v for k, v in want.items())]


def _new_errors(report: dict[str, Any]) -> set[str]:
    """Reader notes NEW has and OLD has not: the edits must not make any header fail. (The 6.1 tree has
    headers that need libc or are marked not userspace-compilable on both sides; those stay.)"""
    sides: dict[str, set[str]] = {"OLD ": set(), "NEW ": set()}
    for e in report["errors"]:
        # Notes the same on both sides come unprefixed; ones naming the ref differ only by the commit.
        if e[:4] in sides:
            sides[e[:4]].add(re.sub(r"@[0-9a-f]{40}", "@REF", e[4:]))
    return sides["NEW "] - sides["OLD "]


def _breaking(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["severity"] == "breaking"]


def test_the_break_is_breaking_on_s390x_and_aarch64_only(scenario: Scenario, diff: Diff) -> None:
    rc, report = diff(scenario.original, scenario.broken)
    assert rc == 1 and report["verdict"] == "breaking"
    assert len(report["arches"]) == 15 and _new_errors(report) == set()
    assert {f["arch"] for f in _breaking(report)} == CHANGED
    # The patches touch only s390 and arm64 headers: the other 13 arches see no change at all.
    assert {f["arch"] for f in report["findings"]} == CHANGED
    for arch, offsets in OFFSETS.items():
        for member, offset in offsets.items():
            (moved,) = _find(report, arch=arch, type="struct bpf_perf_event_data", member=member,
                             kind="member_offset_changed")
            assert moved["severity"] == "breaking"
            assert moved["chain"] == CHAIN
            assert (moved["old"], moved["new"]) == (offset, offset + 8)


def test_every_by_value_user_in_the_tree_is_reported(scenario: Scenario, diff: Diff) -> None:
    """`abiguard users` lists who embeds user_pt_regs in 6.1; the diff must report each as breaking."""
    proc = _run("users", "user_pt_regs", scenario.spec(scenario.original), "--arch", "s390x,aarch64",
                "--format", "json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    users = {entry["arch"]: entry for entry in json.loads(proc.stdout)}
    embedders = {arch: {(u["kind"], u["name"]) for u in users[arch]["by_value"] if u["kind"] in ("struct", "union")}
                 for arch in CHANGED}
    # What Linux 6.1 has: BPF's perf-event context on both; on arm64 also KVM's register set
    # (struct kvm_regs { struct user_pt_regs regs; ... }), the other user Ilya feared he had missed.
    assert embedders == {"s390x": {("struct", "bpf_perf_event_data")},
                         "aarch64": {("struct", "bpf_perf_event_data"), ("struct", "kvm_regs")}}
    _, report = diff(scenario.original, scenario.broken)
    for arch, found in embedders.items():
        for kind, name in found:
            hits = [f for f in _breaking(report) if f["arch"] == arch and f["type"] == f"{kind} {name}"]
            assert hits, f"{kind} {name} not reported on {arch}"
            assert all(f["chain"][0] == "user_pt_regs" for f in hits)
    (kvm,) = _find(report, arch="aarch64", type="struct kvm_regs", kind="member_offset_changed", member="sp_el1")
    assert kvm["chain"] == ["user_pt_regs", "kvm_regs.regs"] and (kvm["old"], kvm["new"]) == (272, 280)
    # kvm_regs keeps its size (864: the padding before the 16-aligned fp_regs absorbs 8 bytes), so the
    # KVM_GET_REGS/KVM_SET_REGS ioctl numbers, which encode it, do not change; its members do move.
    assert _find(report, arch="aarch64", type="struct kvm_regs", kind="size_changed") == []
    assert [f for f in report["findings"] if f["type"].startswith("#define KVM_")] == []


def test_fix_a_v2_copy_breaks_nothing(scenario: Scenario, diff: Diff) -> None:
    rc, report = diff(scenario.original, scenario.v2)
    assert rc == 0 and _breaking(report) == []
    assert report["verdict"] == "compatible"
    added = {(f["arch"], f["type"]) for f in report["findings"] if f["kind"] == "type_added"}
    for arch, regs_v2 in (("s390x", "user_pt_regs_v2"), ("aarch64", "struct user_pt_regs_v2")):
        assert (arch, regs_v2) in added
        assert (arch, "struct bpf_perf_event_data_v2") in added
    assert {f["arch"] for f in report["findings"]} == CHANGED
    assert all(f["severity"] == "compatible" for f in report["findings"])


def test_fix_b_frozen_typedef(scenario: Scenario, diff: Diff) -> None:
    """bpf_user_pt_regs_t names its own struct with the old layout; user_pt_regs still grows.

    bpf_perf_event_data no longer moves anywhere. The typedef now names a layout-identical type: api
    (binaries agree, `user_pt_regs *p = &ctx->regs` no longer compiles cleanly). What the growth of
    user_pt_regs itself is depends on who else holds it: on s390x nothing embeds it any more and no
    size is negotiated, so the growth rule says review; on aarch64 struct kvm_regs still embeds it
    by value, so there it stays breaking — this fix alone would still have broken KVM_GET_REGS users.
    """
    rc, report = diff(scenario.original, scenario.frozen)
    assert [f for f in report["findings"] if "bpf_perf_event_data" in f["type"]] == []
    for arch in CHANGED:
        (retarget,) = _find(report, arch=arch, kind="typedef_retargeted", type="typedef bpf_user_pt_regs_t")
        assert retarget["severity"] == "api"
        (frozen,) = _find(report, arch=arch, kind="type_added", type="struct bpf_user_pt_regs")
        assert frozen["severity"] == "compatible"
    s390_growth = _find(report, arch="s390x", type="user_pt_regs")
    assert {f["kind"] for f in s390_growth} >= {"size_changed"}
    assert {f["severity"] for f in s390_growth} == {"review"}
    assert [f for f in _breaking(report) if f["arch"] != "aarch64"] == []
    arm_breaks = [f for f in _breaking(report) if f["arch"] == "aarch64"]
    assert arm_breaks and {f["root"] for f in arm_breaks} == {"struct user_pt_regs"}
    assert {f["type"] for f in arm_breaks} >= {"struct user_pt_regs", "struct kvm_regs"}
    assert rc == 1 and report["verdict"] == "breaking"
    assert {f["arch"] for f in report["findings"]} == CHANGED


def test_fix_c_original_tree_is_identical(scenario: Scenario, diff: Diff) -> None:
    rc, report = diff(scenario.original, scenario.reverted)
    assert rc == 0
    assert report["verdict"] == "identical" and report["findings"] == [] and _new_errors(report) == set()


def test_text_report_prints_the_chain_once_per_root(scenario: Scenario) -> None:
    proc = _run("diff", scenario.spec(scenario.original), scenario.spec(scenario.broken), "--arch", "s390x,x86_64")
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    roots = [i for i, line in enumerate(lines) if line.startswith("BREAKING")]
    assert len(roots) == 1 and lines[roots[0]].split()[1] == "user_pt_regs"  # root cause first
    assert lines[roots[0] + 1].startswith("  [only on: s390x]")
    assert "chain: user_pt_regs -> bpf_user_pt_regs_t -> bpf_perf_event_data.regs" in proc.stdout
