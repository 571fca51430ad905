"""`abiguard core` on real clang-compiled BPF programs against kernel-like BTFs (old/new, LE/BE).

Value oracle: a program compiled directly against a kernel's own definitions carries clang's values
for that layout; relocating a program built against other definitions must produce the same values.
"""

from __future__ import annotations

import pytest

from .conftest import core_json, relos, run_core

# s390-like kernels before and after `orig_gpr2` reached pt_regs and the `_v2` type appeared.
S390_OLD = """
typedef struct { unsigned long mask; unsigned long addr; } psw_t;
struct user_pt_regs { unsigned long args[1]; psw_t psw; unsigned long gprs[16]; };
typedef struct user_pt_regs bpf_user_pt_regs_t;
struct bpf_perf_event_data { bpf_user_pt_regs_t regs; unsigned long long sample_period; unsigned long long addr; };
struct pt_regs { unsigned long args[1]; psw_t psw; unsigned long gprs[16]; unsigned int int_code; };
"""
S390_NEW = """
typedef struct { unsigned long mask; unsigned long addr; } psw_t;
struct user_pt_regs { unsigned long args[1]; psw_t psw; unsigned long gprs[16]; };
struct user_pt_regs_v2 { unsigned long args[1]; psw_t psw; unsigned long gprs[16]; unsigned long orig_gpr2; };
typedef struct user_pt_regs bpf_user_pt_regs_t;
struct bpf_perf_event_data { bpf_user_pt_regs_t regs; unsigned long long sample_period; unsigned long long addr; };
struct pt_regs { unsigned long args[1]; psw_t psw; unsigned long gprs[16]; unsigned long orig_gpr2;
                 unsigned int int_code; };
"""
S390_USES = ["struct bpf_perf_event_data", "struct pt_regs", "struct user_pt_regs"]
S390_NEW_USES = [*S390_USES, "struct user_pt_regs_v2"]

# arm64-like kernel: orig_x0 sits after an anonymous union, as in arch/arm64/include/asm/ptrace.h.
ARM64 = """
typedef unsigned long long u64;
struct user_pt_regs { u64 regs[31]; u64 sp; u64 pc; u64 pstate; };
struct pt_regs {
    union { struct user_pt_regs user_regs; struct { u64 regs[31]; u64 sp; u64 pc; u64 pstate; }; };
    u64 orig_x0;
    int syscallno;
};
typedef struct user_pt_regs bpf_user_pt_regs_t;
struct bpf_perf_event_data { bpf_user_pt_regs_t regs; u64 sample_period; u64 addr; };
"""
ARM64_USES = ["struct bpf_perf_event_data", "struct pt_regs"]

PERF_PROG = """
struct user_pt_regs { unsigned long gprs[16]; } __attribute__((preserve_access_index));
struct bpf_perf_event_data { struct user_pt_regs regs; __u64 sample_period; }
    __attribute__((preserve_access_index));
SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
    __u64 period = ctx->sample_period;
    bpf_printk("%llu", period);
    return 0;
}
"""

FLAVOR_PROG = """
struct pt_regs___s390 { unsigned long orig_gpr2; } __attribute__((preserve_access_index));
struct pt_regs___arm64 { unsigned long orig_x0; } __attribute__((preserve_access_index));
struct pt_regs;
SEC("kprobe/do_sys_open")
int read_arg(struct pt_regs *regs)
{
    unsigned long arg = 0;
    %s
    bpf_printk("%%lu", arg);
    return 0;
}
"""
UNGUARDED_S390 = "arg = BPF_CORE_READ((struct pt_regs___s390 *)regs, orig_gpr2);"
GUARDED_S390 = """
    if (bpf_core_field_exists(((struct pt_regs___s390 *)regs)->orig_gpr2))
        arg = BPF_CORE_READ((struct pt_regs___s390 *)regs, orig_gpr2);
"""
BOTH_ARCHES = """
    if (bpf_core_field_exists(((struct pt_regs___s390 *)regs)->orig_gpr2))
        arg = BPF_CORE_READ((struct pt_regs___s390 *)regs, orig_gpr2);
    else if (bpf_core_field_exists(((struct pt_regs___arm64 *)regs)->orig_x0))
        arg = BPF_CORE_READ((struct pt_regs___arm64 *)regs, orig_x0);
"""

V2_PROG = """
struct user_pt_regs_v2 { unsigned long orig_gpr2; } __attribute__((preserve_access_index));
SEC("perf_event")
int use_v2(struct user_pt_regs_v2 *regs)
{
    unsigned long v = regs->orig_gpr2;
    bpf_printk("%lu", v);
    return 0;
}
"""


def _pai(defs: str) -> str:
    """Definitions with preserve_access_index on every struct/union, as vmlinux.h applies it."""
    return (
        "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
        + defs
        + "\n#pragma clang attribute pop\n"
    )


def _self_values(bpf_prog, kernel_btf, defs: str, body: str, uses: list[str], target: str = "bpf") -> list[int]:
    """clang's own values for `body` compiled against `defs` with preserve_access_index."""
    obj = bpf_prog(_pai(defs) + body, target=target, name="self")
    kern = kernel_btf(defs, uses, target=target, name="selfkern")
    _, doc = core_json(obj, "--kernel", kern, "--no-cache")
    return [r["orig_value"] for r in relos(doc)]


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
def test_perf_event_sample_period(bpf_prog, kernel_btf, target):
    obj = bpf_prog(PERF_PROG, target=target)
    old = kernel_btf(S390_OLD, S390_USES, target=target, name="old")
    arm = kernel_btf(ARM64, ARM64_USES, target=target, name="arm64")
    rc, doc = core_json(obj, "--kernel", old, "--kernel", arm, "--no-cache")
    assert rc == 0
    body = 'SEC("perf_event") int f(struct bpf_perf_event_data *ctx) { return ctx->sample_period; }'
    for kern, defs, uses in ((old, S390_OLD, S390_USES), (arm, ARM64, ARM64_USES)):
        (r,) = relos(doc, str(kern))
        assert r["kind"] == "FIELD_BYTE_OFFSET" and r["status"] == "ok"
        assert r["path"] == "ctx->sample_period"  # named as the source line spells it
        assert [r["value"]] == _self_values(bpf_prog, kernel_btf, defs, body, uses, target)


def test_perf_event_on_running_kernel(bpf_prog, vmlinux_btf):
    rc, out, err = run_core(bpf_prog(PERF_PROG), "--kernel", vmlinux_btf)
    assert rc == 0, out + err
    assert "loads on 1 of 1 kernel" in out


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
def test_flavor_read_unguarded_fails_on_old_kernel(bpf_prog, kernel_btf, target):
    obj = bpf_prog(FLAVOR_PROG % UNGUARDED_S390, target=target)
    old = kernel_btf(S390_OLD, S390_USES, target=target, name="old")
    new = kernel_btf(S390_NEW, S390_NEW_USES, target=target, name="new")
    rc, doc = core_json(obj, "--kernel", old, "--kernel", new, "--no-cache")
    assert rc == 1
    ok = {c["kernel"]: c["ok"] for c in doc["matrix"]}
    assert ok == {str(old): False, str(new): True}
    (bad,) = [r for r in relos(doc, str(old)) if r["failed"]]
    assert bad["status"] == "poisoned" and bad["reachable"]
    assert bad["reason"] == "member missing: struct pt_regs has no member 'orig_gpr2'"
    assert bad["member"] == "struct pt_regs___s390 member orig_gpr2"
    assert bad["source"]["line"] > 0
    (good,) = relos(doc, str(new))
    body = 'SEC("kprobe/x") int f(struct pt_regs *r) { return r->orig_gpr2; }'
    assert [good["value"]] == _self_values(bpf_prog, kernel_btf, S390_NEW, body, S390_NEW_USES, target)
    # the text report explains it in C terms
    rc, out, _ = run_core(obj, "--kernel", old, "--no-cache")
    assert rc == 1
    assert "p->orig_gpr2" in out and "member missing" in out and "poisoned and reachable" in out


def test_flavor_read_guarded_is_ok_everywhere(bpf_prog, kernel_btf):
    obj = bpf_prog(FLAVOR_PROG % BOTH_ARCHES)
    old = kernel_btf(S390_OLD, S390_USES, name="old")
    new = kernel_btf(S390_NEW, S390_NEW_USES, name="new")
    arm = kernel_btf(ARM64, ARM64_USES, name="arm64")
    rc, doc = core_json(obj, "--kernel", old, "--kernel", new, "--kernel", arm, "--no-cache")
    assert rc == 0, doc
    arm_relos = relos(doc, str(arm))
    exists = {r["path"]: r["value"] for r in arm_relos if r["kind"] == "FIELD_EXISTS"}
    assert exists == {"p->orig_gpr2": 0, "p->orig_x0": 1}
    poisoned = [r for r in arm_relos if r["status"] == "poisoned"]
    assert poisoned and all(not r["reachable"] for r in poisoned)
    # orig_x0 lies behind an anonymous union: the offset must be clang's
    (read,) = [r for r in arm_relos if r["kind"] == "FIELD_BYTE_OFFSET" and r["status"] == "ok"]
    body = 'SEC("kprobe/x") int f(struct pt_regs *r) { return r->orig_x0; }'
    assert [read["value"]] == _self_values(bpf_prog, kernel_btf, ARM64, body, ARM64_USES)


def test_v2_type_missing_on_old_kernel(bpf_prog, kernel_btf):
    obj = bpf_prog(V2_PROG)
    old = kernel_btf(S390_OLD, S390_USES, name="old")
    new = kernel_btf(S390_NEW, S390_NEW_USES, name="new")
    rc, doc = core_json(obj, "--kernel", old, "--kernel", new, "--no-cache")
    assert rc == 1
    (bad,) = relos(doc, str(old))
    assert bad["reason"] == "type missing: the kernel has no struct named 'user_pt_regs_v2'"
    assert bad["candidates"] == [] and bad["failed"]
    (good,) = relos(doc, str(new))
    assert good["status"] == "ok" and good["target"].startswith("struct user_pt_regs_v2.orig_gpr2")


def test_markdown_and_text_formats(bpf_prog, kernel_btf):
    obj = bpf_prog(V2_PROG)
    old = kernel_btf(S390_OLD, S390_USES, name="old")
    rc, md, _ = run_core(obj, "--kernel", old, "--format", "markdown", "--no-cache")
    assert rc == 1
    assert "| object | kernels | verdict | why |" in md and "**fails**" in md and "type missing" in md
    rc, text, _ = run_core(obj, "--kernel", old, "--no-cache")
    assert rc == 1 and "FAILS" in text and "source" in text


BITFIELD_OLD = """
struct flags { unsigned int a:3; unsigned int b:5; int c:7; unsigned long long wide:40; };
"""
BITFIELD_NEW = """
struct flags { unsigned int x:5; unsigned int a:3; unsigned int b:9; int c:7;
               unsigned long long wide:33; unsigned char tail; };
"""
BITFIELD_BODY = """
SEC("kprobe/x")
int f(struct flags *s)
{
    __u64 v = BPF_CORE_READ_BITFIELD_PROBED(s, a);
    v += BPF_CORE_READ_BITFIELD_PROBED(s, b);
    v += BPF_CORE_READ_BITFIELD_PROBED(s, c);
    v += BPF_CORE_READ_BITFIELD_PROBED(s, wide);
    v += __builtin_preserve_field_info(s->c, BPF_FIELD_SIGNED);
    v += __builtin_preserve_field_info(s->b, BPF_FIELD_SIGNED);
    bpf_printk("%llu", v);
    return 0;
}
"""


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
def test_bitfields_match_clang_on_both_endiannesses(bpf_prog, kernel_btf, target):
    obj = bpf_prog(_pai(BITFIELD_OLD) + BITFIELD_BODY, target=target)
    new = kernel_btf(BITFIELD_NEW, ["struct flags"], target=target, name="new")
    rc, doc = core_json(obj, "--kernel", new, "--no-cache")
    assert rc == 0
    got = [(r["kind"], r["path"], r["value"]) for r in relos(doc)]
    kinds = {k for k, _, _ in got}
    assert {"FIELD_BYTE_OFFSET", "FIELD_BYTE_SIZE", "FIELD_LSHIFT_U64", "FIELD_RSHIFT_U64", "FIELD_SIGNED"} <= kinds
    want = _self_values(bpf_prog, kernel_btf, BITFIELD_NEW, BITFIELD_BODY, ["struct flags"], target)
    assert [v for _, _, v in got] == want


ENUM_KERNEL = """
enum state { ST_IDLE = 1, ST_RUN = 7, ST_NEW = -3 };
"""
ENUM_PROG = """
enum state { ST_IDLE = 0, ST_RUN = 1, ST_NEW = 2, ST_GONE = 3 };
SEC("kprobe/x")
int f(void *ctx)
{
    __u64 v = 0;
    if (bpf_core_enum_value_exists(enum state, ST_RUN))
        v += bpf_core_enum_value(enum state, ST_RUN);
    v += bpf_core_enum_value(enum state, ST_NEW);
    v += bpf_core_enum_value_exists(enum state, ST_GONE);
    if (bpf_core_enum_value_exists(enum state, ST_GONE))
        v += bpf_core_enum_value(enum state, ST_GONE);
    bpf_printk("%llu", v);
    return 0;
}
"""


def test_enum_values_and_enum64(bpf_prog, kernel_btf):
    obj = bpf_prog(ENUM_PROG)
    kern = kernel_btf(ENUM_KERNEL, ["enum state"], name="enums")
    rc, doc = core_json(obj, "--kernel", kern, "--no-cache")
    assert rc == 0, doc
    got = {(r["kind"], r["path"]): (r["status"], r["value"]) for r in relos(doc)}
    # the kernel's enumerator values, as clang compiles them against the kernel's own enum
    body = """SEC("kprobe/x") int f(void *c) { return bpf_core_enum_value(enum state, ST_RUN)
        + bpf_core_enum_value(enum state, ST_NEW); }"""
    run, new = _self_values(bpf_prog, kernel_btf, ENUM_KERNEL, body, ["enum state"])
    assert got[("ENUMVAL_VALUE", "ST_RUN")] == ("ok", run)
    assert got[("ENUMVAL_VALUE", "ST_NEW")] == ("ok", new)
    assert got[("ENUMVAL_EXISTS", "ST_GONE")] == ("zero", 0)
    assert got[("ENUMVAL_VALUE", "ST_GONE")][0] == "poisoned"


ENUM64_PROG = """
enum perf_callchain_context { PERF_CONTEXT_HV = 1, PERF_CONTEXT_KERNEL = 2 };
SEC("kprobe/x")
int f(void *ctx)
{
    bpf_printk("%llu", bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_KERNEL));
    return 0;
}
"""


def test_enum64_target_on_running_kernel(bpf_prog, vmlinux_btf):
    import subprocess

    from .conftest import require_tool

    dump = subprocess.run(
        [require_tool("bpftool"), "btf", "dump", "file", str(vmlinux_btf), "format", "raw"],
        capture_output=True, text=True, check=True,
    ).stdout
    lines = dump.splitlines()
    head = next((i for i, ln in enumerate(lines) if "'perf_callchain_context'" in ln and "ENUM" in ln), None)
    if head is None:
        pytest.skip("this kernel has no enum perf_callchain_context")
    want = next(ln for ln in lines[head + 1 :] if "'PERF_CONTEXT_KERNEL'" in ln)
    value = int(want.split("val=")[1].rstrip("UL")) & ((1 << 64) - 1)
    rc, doc = core_json(bpf_prog(ENUM64_PROG), "--kernel", vmlinux_btf)
    assert rc == 0, doc
    (r,) = relos(doc)
    assert r["kind"] == "ENUMVAL_VALUE" and r["value"] == value


TYPES_KERNEL = """
struct task { int pid; long state; };
struct renamed { int x; };
typedef unsigned int kuid_t;
struct strict { int a; unsigned short b; };
"""
TYPES_PROG = """
struct task { int pid; } __attribute__((preserve_access_index));
struct gone { int y; };
struct strict___loose { int a; int b; };
struct strict___exact { int a; unsigned short b; };
typedef unsigned int kuid_t;
SEC("kprobe/x")
int f(struct task *t)
{
    __u64 v = 0;
    v += bpf_core_type_exists(struct task);
    v += bpf_core_type_exists(struct gone);
    v += bpf_core_type_size(struct task);
    v += bpf_core_type_size(kuid_t);
    v += bpf_core_type_exists(struct strict___loose);  /* retagged TYPE_MATCHES below */
    v += bpf_core_type_exists(struct strict___exact);
    v += bpf_core_type_id_local(struct task);
    v += bpf_core_type_id_kernel(struct task);
    v += bpf_core_type_id_kernel(struct gone);
    bpf_printk("%llu", v);
    return 0;
}
"""


def retag(obj, names: set[str], kind: int) -> None:
    """Rewrite the kind of the relocations on the named local types (clang 14 cannot emit TYPE_MATCHES)."""
    from abiguard.bpf.objfile import read_object

    parsed = read_object(obj)
    data = bytearray(obj.read_bytes())
    order = "big" if parsed.big_endian else "little"
    hits = 0
    for sec in parsed.ext.relo_sections():
        for r in sec.core_relos:
            if parsed.btf.describe(r.type_id).split(" ", 1)[-1] in names:
                data[r.where + 12 : r.where + 16] = kind.to_bytes(4, order)
                hits += 1
    assert hits == len(names)
    obj.write_bytes(bytes(data))


def test_type_relocations(bpf_prog, kernel_btf):
    obj = bpf_prog(TYPES_PROG)
    retag(obj, {"strict___loose", "strict___exact"}, 12)
    kern = kernel_btf(TYPES_KERNEL, ["struct task", "struct renamed", "kuid_t", "struct strict"], name="types")
    rc, doc = core_json(obj, "--kernel", kern, "--no-cache")
    assert rc == 0, doc
    got = [(r["kind"], r["local_type"], r["status"], r["value"]) for r in relos(doc)]
    by = {(k, t): (s, v) for k, t, s, v in got}
    assert by[("TYPE_EXISTS", "struct task")] == ("ok", 1)
    assert by[("TYPE_EXISTS", "struct gone")] == ("zero", 0)
    size_body = 'SEC("kprobe/x") int f(void *c) { return bpf_core_type_size(struct task); }'
    assert [by[("TYPE_SIZE", "struct task")][1]] == _self_values(
        bpf_prog, kernel_btf, TYPES_KERNEL, size_body, ["struct task"])
    assert by[("TYPE_SIZE", "typedef kuid_t")] == ("ok", 4)
    assert by[("TYPE_MATCHES", "struct strict___loose")] == ("zero", 0)  # int b vs unsigned short b
    assert by[("TYPE_MATCHES", "struct strict___exact")] == ("ok", 1)
    local = [r for r in relos(doc) if r["kind"] == "TYPE_ID_LOCAL"]
    assert local and local[0]["value"] == local[0]["local_type_id"]
    assert by[("TYPE_ID_TARGET", "struct gone")] == ("zero", 0)
    target_id = by[("TYPE_ID_TARGET", "struct task")][1]
    assert target_id == _bpftool_type_id(kern, "STRUCT", "task")


def _bpftool_type_id(path, kind: str, name: str) -> int:
    import subprocess

    from .conftest import require_tool

    out = subprocess.run(
        [require_tool("bpftool"), "btf", "dump", "file", str(path), "format", "raw"],
        capture_output=True, text=True, check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("[") and f"{kind} '{name}'" in line:
            return int(line[1 : line.index("]")])
    raise AssertionError(f"{kind} {name} not in {path}")


AMBIG_KERNEL = """
struct conf___a { int flags; long val; };
struct conf___b { long pad; int flags; long val; };
struct far { char pad[40000]; int deep; };
"""
AMBIG_PROG = """
struct conf { long val; } __attribute__((preserve_access_index));
struct far { int deep; } __attribute__((preserve_access_index));
SEC("kprobe/x")
int f(struct conf *c)
{
    bpf_printk("%ld", c->val);
    return 0;
}
SEC("kprobe/y")
int g(struct far *p)
{
    bpf_printk("%d", p->deep);
    return 0;
}
"""


def test_ambiguity_and_offset_out_of_range(bpf_prog, kernel_btf):
    obj = bpf_prog(AMBIG_PROG)
    kern = kernel_btf(AMBIG_KERNEL, ["struct conf___a", "struct conf___b", "struct far"], name="ambig")
    rc, doc = core_json(obj, "--kernel", kern, "--no-cache")
    assert rc == 1
    got = {r["local_type"]: r for r in relos(doc)}
    assert got["struct conf"]["status"] == "error"
    assert got["struct conf"]["reason"].startswith("ambiguous candidates")
    assert len(got["struct conf"]["candidates"]) == 2
    assert got["struct far"]["status"] == "error"
    assert got["struct far"]["reason"].startswith("offset out of range")


PRUNE_KERNEL = """
struct conf___a { int flags; long val; int only_a; };
struct conf___b { long pad; int flags; long val; };
"""
PRUNE_FIRST = """
SEC("kprobe/first")
int first(struct conf *c)
{
    bpf_printk("%d", c->only_a);
    return 0;
}
"""
PRUNE_SECOND = """
SEC("kprobe/second")
int second(struct conf *c)
{
    bpf_printk("%ld", c->val);
    return 0;
}
"""
PRUNE_LOCAL = "struct conf { int only_a; long val; } __attribute__((preserve_access_index));\n"


@pytest.mark.parametrize("order", ["prunes_first", "ambiguous_first"])
def test_candidate_pruning_order(bpf_prog, kernel_btf, order):
    """libbpf keeps only the candidates that matched earlier relocations of the same local type."""
    body = PRUNE_LOCAL + (PRUNE_FIRST + PRUNE_SECOND if order == "prunes_first" else PRUNE_SECOND + PRUNE_FIRST)
    obj = bpf_prog(body)
    kern = kernel_btf(PRUNE_KERNEL, ["struct conf___a", "struct conf___b"], name="prune")
    rc, doc = core_json(obj, "--kernel", kern, "--no-cache")
    rs = {r["path"]: r for r in relos(doc)}
    if order == "prunes_first":
        assert rc == 0
        assert len(rs["c->only_a"]["candidates"]) == 2  # both flavors looked at first...
        assert len(rs["c->val"]["candidates"]) == 1  # ...then only the one that matched is left
        assert "conf___a" in rs["c->val"]["target"]
    else:
        assert rc == 1
        assert rs["c->val"]["status"] == "error" and rs["c->val"]["reason"].startswith("ambiguous candidates")


ARRAYS_KERNEL = """
struct arrs { long pad; int arr[4]; int wide[10]; int flex_len; int data[]; };
struct kind_change { struct { int a; } x; long y; };
"""
ARRAYS_PROG = """
struct arrs { int arr[8]; int wide[8]; int data[]; } __attribute__((preserve_access_index));
struct kind_change { int x; long y; } __attribute__((preserve_access_index));
SEC("kprobe/x")
int f(struct arrs *a)
{
    bpf_printk("%d %d %d", a->arr[5], a->wide[7], a->data[3]);
    return 0;
}
SEC("kprobe/y")
int g(struct kind_change *k)
{
    bpf_printk("%d %ld", k->x, k->y);
    return 0;
}
"""


def test_arrays_flex_arrays_and_kind_changes(bpf_prog, kernel_btf):
    obj = bpf_prog(ARRAYS_PROG)
    kern = kernel_btf(ARRAYS_KERNEL, ["struct arrs", "struct kind_change"], name="arrays")
    rc, doc = core_json(obj, "--kernel", kern, "--no-cache")
    assert rc == 1
    rs = {r["path"]: r for r in relos(doc)}
    assert rs["a->arr[5]"]["status"] == "poisoned"
    assert rs["a->arr[5]"]["reason"].startswith("offset out of range: index 5")
    assert rs["k->x"]["reason"].startswith("incompatible member type: member 'x' of struct kind_change")
    body = """SEC("kprobe/x") int f(struct arrs *a) { return a->wide[7] + a->data[3]; }
        SEC("kprobe/y") int g(struct kind_change *k) { return k->y; }"""
    want = _self_values(bpf_prog, kernel_btf, ARRAYS_KERNEL, body, ["struct arrs", "struct kind_change"])
    assert [rs["a->wide[7]"]["value"], rs["a->data[3]"]["value"], rs["k->y"]["value"]] == want
