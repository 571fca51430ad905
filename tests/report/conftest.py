"""A DiffResult shaped like the 2022 user_pt_regs break, for renderer tests."""

from __future__ import annotations

import pytest

from abiguard.compare.findings import DiffResult, Finding, Severity

ARCHES = ["x86_64", "i386", "aarch64", "arm", "s390x"]
CHAIN = ("user_pt_regs", "bpf_user_pt_regs_t", "bpf_perf_event_data.regs")


def user_pt_regs_findings() -> list[Finding]:
    """Per-arch findings as the comparer emits them: the root change and its by-value effects."""
    out: list[Finding] = []
    for arch, size in (("s390x", 152), ("aarch64", 272)):
        root = "struct user_pt_regs"
        out.append(Finding(arch, Severity.BREAKING, "size_changed", root, None, size, size + 8,
                           f"user_pt_regs grew {size} -> {size + 8} bytes", root, ("user_pt_regs",),
                           f"arch/{arch}/ptrace.h:10"))
        for member, off in (("sample_period", size), ("addr", size + 8)):
            out.append(Finding(arch, Severity.BREAKING, "member_offset_changed", "struct bpf_perf_event_data",
                               member, off, off + 8, f"{member} moved {off} -> {off + 8}", root, CHAIN,
                               "include/uapi/linux/bpf_perf_event.h:12"))
    # The same change on every arch: must be printed once with "all arches".
    for arch in ARCHES:
        out.append(Finding(arch, Severity.COMPATIBLE, "type_added", "struct bpf_new", None, None, None,
                           "new type", "struct bpf_new", (), "include/uapi/linux/new.h:3"))
    # An arch-only change: a `long` member retyped, which breaks only the 32-bit arches.
    for arch in ("i386", "arm"):
        out.append(Finding(arch, Severity.BREAKING, "member_offset_changed", "struct sysinfo", "totalram",
                           4, 8, "totalram moved 4 -> 8", "struct sysinfo", ("sysinfo",), ""))
    return out


@pytest.fixture
def result() -> DiffResult:
    return DiffResult(list(ARCHES), user_pt_regs_findings(), ["include/bad.h:1: error: unknown type name 'x'"])
