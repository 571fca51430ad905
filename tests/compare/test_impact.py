"""Impact chains: a change followed up by-value embedding, grouped under one root, per arch."""

from __future__ import annotations

from abiguard.compare.findings import Severity

from .conftest import DiffC, only

# The 2022 shape: a per-arch register set, a per-arch typedef of it, and a BPF context embedding it.
PT_REGS = """
#if defined(__s390x__)
typedef struct { unsigned long args[1]; unsigned long psw[2]; unsigned long gprs[16]; %(s390)s } user_pt_regs;
typedef user_pt_regs bpf_user_pt_regs_t;
#elif defined(__aarch64__)
struct user_pt_regs { __u64 regs[31]; __u64 sp; __u64 pc; __u64 pstate; %(arm64)s };
typedef struct user_pt_regs bpf_user_pt_regs_t;
#else
struct pt_regs { unsigned long r[21]; };
typedef struct pt_regs bpf_user_pt_regs_t;
#endif
struct bpf_perf_event_data { bpf_user_pt_regs_t regs; __u64 sample_period; __u64 addr; };
struct ptrace_area { unsigned long len; bpf_user_pt_regs_t *regs; };
"""
BEFORE = PT_REGS % {"s390": "", "arm64": ""}
AFTER = PT_REGS % {"s390": "unsigned long orig_gpr2;", "arm64": "__u64 orig_x0;"}


def test_user_pt_regs_growth_breaks_bpf_perf_event_data_on_s390x_and_aarch64(diff_c: DiffC) -> None:
    result = diff_c(BEFORE, AFTER, arches=("x86_64", "s390x", "aarch64"))
    assert result.arches == ["x86_64", "aarch64", "s390x"]
    assert not [f for f in result.findings if f.arch == "x86_64"]

    s390 = only(result, arch="s390x", type="struct bpf_perf_event_data", member="sample_period")
    assert (s390.kind, s390.old, s390.new, s390.severity) == ("member_offset_changed", 152, 160, Severity.BREAKING)
    assert s390.chain == ("user_pt_regs", "bpf_user_pt_regs_t", "bpf_perf_event_data.regs")
    assert s390.root == "user_pt_regs"
    assert s390.message == ("user_pt_regs grew from 152 to 160 bytes and is held by value in "
                            "bpf_perf_event_data.regs through bpf_user_pt_regs_t, so "
                            "struct bpf_perf_event_data.sample_period moved from offset 152 to 160")
    addr = only(result, arch="s390x", member="addr")
    assert (addr.old, addr.new) == (160, 168)

    arm = only(result, arch="aarch64", type="struct bpf_perf_event_data", member="sample_period")
    assert (arm.old, arm.new, arm.root) == (272, 280, "struct user_pt_regs")
    assert arm.chain == ("user_pt_regs", "bpf_user_pt_regs_t", "bpf_perf_event_data.regs")

    # one root cause per arch: every finding on s390x belongs to the user_pt_regs root
    assert {f.root for f in result.findings if f.arch == "s390x"} == {"user_pt_regs"}
    # the growth itself is breaking because the register set is embedded by value
    assert only(result, arch="s390x", kind="member_added").severity == Severity.BREAKING
    # the pointer-only user is not an effect
    assert not [f for f in result.findings if f.type == "struct ptrace_area"]


def test_fix_by_v2_copy_breaks_nothing(diff_c: DiffC) -> None:
    fixed = BEFORE.replace(
        "typedef user_pt_regs bpf_user_pt_regs_t;",
        "typedef user_pt_regs bpf_user_pt_regs_t;\n"
        "typedef struct { unsigned long args[1]; unsigned long psw[2]; unsigned long gprs[16];"
        " unsigned long orig_gpr2; } user_pt_regs_v2;")
    result = diff_c(BEFORE, fixed, arches=("s390x",))
    assert result.verdict == Severity.COMPATIBLE
    assert only(result, kind="type_added").type == "user_pt_regs_v2"


def test_frozen_typedef_while_the_register_set_grows(diff_c: DiffC) -> None:
    # bpf_user_pt_regs_t gets its own frozen copy; user_pt_regs grows but is reached only by pointer
    frozen = AFTER.replace(
        "typedef user_pt_regs bpf_user_pt_regs_t;",
        "typedef struct { unsigned long args[1]; unsigned long psw[2]; unsigned long gprs[16]; }"
        " bpf_user_pt_regs_t;")
    result = diff_c(BEFORE, frozen, arches=("s390x",))
    assert not [f for f in result.findings if f.type == "struct bpf_perf_event_data"]
    assert only(result, kind="member_added", member="orig_gpr2").severity == Severity.REVIEW
    assert only(result, kind="typedef_retargeted", type="typedef bpf_user_pt_regs_t").severity == Severity.API
    assert result.verdict == Severity.REVIEW


def test_same_size_layout_change_reaches_embedders_through_containment(diff_c: DiffC) -> None:
    old = "struct inner { __u32 a; __u32 b; };\ntypedef struct inner inner_t;\n" \
          "struct mid { __u64 x; inner_t in; };\nstruct top { struct mid m[2]; };\n"
    new = old.replace("__u32 a; __u32 b;", "__u32 b; __u32 a;")
    result = diff_c(old, new)
    effects = {(f.type, f.member): f for f in result.findings if f.kind == "embedded_type_changed"}
    assert set(effects) == {("struct mid", "in"), ("struct top", "m")}
    assert effects[("struct top", "m")].chain == ("inner", "inner_t", "mid.in", "top.m")
    assert all(f.root == "struct inner" and f.severity == Severity.BREAKING for f in effects.values())


def test_effect_two_levels_up_keeps_one_root(diff_c: DiffC) -> None:
    old = "struct leaf { __u32 a; };\nstruct mid { struct leaf l; __u32 after_leaf; };\n" \
          "struct top { __u32 head; struct mid m; __u32 tail; };\n"
    new = old.replace("__u32 a;", "__u32 a; __u32 b;")
    result = diff_c(old, new)
    tail = only(result, type="struct top", member="tail")
    assert tail.chain == ("leaf", "mid.l", "top.m")
    assert tail.root == "struct leaf"
    assert {f.root for f in result.findings} == {"struct leaf"}


def test_own_compatible_change_does_not_claim_an_inherited_growth(diff_c: DiffC) -> None:
    old = "struct leaf { __u32 a; };\nstruct box { __u8 tag; __u32 n; struct leaf l; };\n"
    new = "struct leaf { __u32 a; __u32 b; };\nstruct box { __u8 tag; __u8 flag; __u32 n; struct leaf l; };\n"
    result = diff_c(old, new)
    assert only(result, member="flag").severity == Severity.COMPATIBLE
    grew = only(result, type="struct box", kind="size_changed")
    assert (grew.root, grew.chain, grew.severity) == ("struct leaf", ("leaf", "box.l"), Severity.BREAKING)
