"""Load checks on small clang-compiled programs against small clang-compiled kernel BTFs, one check at a time.

Each kernel here is a C file declaring what a real kernel's BTF would hold (enums, FUNCs, typedefs,
decl tags); the expected verdict follows from what that file declares.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from abiguard.bpf.run import check_core
from abiguard.report.bpf import render_json

from .conftest import run_core

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_pt_regs-2022"


def _enum(name: str, values: list[str]) -> str:
    return f"enum {name} {{ {', '.join(values)} }};\n"


FUNC_IDS_OLD = _enum("bpf_func_id", ["BPF_FUNC_unspec", "BPF_FUNC_map_lookup_elem", "BPF_FUNC_map_update_elem",
                                     "__BPF_FUNC_MAX_ID"])
FUNC_IDS_NEW = _enum("bpf_func_id", ["BPF_FUNC_unspec", "BPF_FUNC_map_lookup_elem", "BPF_FUNC_map_update_elem",
                                     "BPF_FUNC_map_delete_elem", "BPF_FUNC_probe_read", "BPF_FUNC_ktime_get_ns",
                                     "__BPF_FUNC_MAX_ID"])
HELPER_PROG = """
SEC("socket")
int prog(void *ctx)
{
    return bpf_ktime_get_ns() & 1;
}
"""


def core_json(*args: str | Path) -> tuple[int, dict]:
    """`abiguard core OBJ... --kernel K... --format json` in this process (the CLI itself is tested once below)."""
    words = [str(a) for a in args if str(a) != "--no-cache"]
    kernels = [words[i + 1] for i, w in enumerate(words) if w == "--kernel"]
    objects = [w for i, w in enumerate(words) if w != "--kernel" and (i == 0 or words[i - 1] != "--kernel")]
    result = check_core(objects, kernels, use_cache=False)
    return (0 if result.ok else 1), json.loads(render_json(result))


def _load(doc: dict, kernel: str) -> tuple[str, list[dict]]:
    (cell,) = [c for c in doc["matrix"] if kernel in c["kernel"]]
    return cell["status"], cell["load"]


def test_helper_missing_is_named_from_the_newer_kernel(bpf_prog, kernel_btf):
    obj = bpf_prog(HELPER_PROG)
    old = kernel_btf(FUNC_IDS_OLD, ["enum bpf_func_id"], name="old")
    new = kernel_btf(FUNC_IDS_NEW, ["enum bpf_func_id"], name="new")
    rc, doc = core_json(obj, "--kernel", old, "--kernel", new, "--no-cache")
    assert rc == 1
    status, load = _load(doc, "old")
    assert status == "fails"
    (f,) = [f for f in load if f["check"] == "helper"]
    # bpf_ktime_get_ns is helper 5; the old kernel knows 0..2, the new one names it
    assert f["subject"] == "bpf_ktime_get_ns (#5)" and f["outcome"] == "fails"
    assert f["insn"] is not None and "bpf_ktime_get_ns()" in f["source"]["text"]
    assert _load(doc, "new")[0] in ("loads", "unknown")
    assert not [f for f in _load(doc, "new")[1] if f["check"] == "helper"]


def test_helper_without_enum_is_unknown(bpf_prog, kernel_btf):
    obj = bpf_prog(HELPER_PROG)
    bare = kernel_btf("struct nothing { int x; };", ["struct nothing"], name="bare")
    rc, doc = core_json(obj, "--kernel", bare, "--no-cache")
    assert rc == 0
    status, load = _load(doc, "bare")
    assert status == "unknown" and any(f["check"] == "helper" and f["outcome"] == "unknown" for f in load)


KFUNC_PROG = """
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
SEC("socket")
int prog(void *ctx)
{
    bpf_rcu_read_lock();
    bpf_rcu_read_unlock();
    return 0;
}
"""
TAG = '__attribute__((btf_decl_tag("bpf_kfunc")))'


@pytest.mark.parametrize(
    ("kernel", "expected"),
    [
        ("int other(void) { return 0; }", {"bpf_rcu_read_lock": "fails", "bpf_rcu_read_unlock": "fails"}),
        # FUNCs present, but this kernel marks no kfuncs: BTF cannot say whether BPF may call them
        ("void bpf_rcu_read_lock(void) {} void bpf_rcu_read_unlock(void) {}",
         {"bpf_rcu_read_lock": "unknown", "bpf_rcu_read_unlock": "unknown"}),
        (f"{TAG} void bpf_rcu_read_lock(void) {{}} {TAG} void bpf_rcu_read_unlock(void) {{}}", {}),
        # tags exist, one function lacks its tag: not a kfunc there
        (f"{TAG} void bpf_rcu_read_lock(void) {{}} void bpf_rcu_read_unlock(void) {{}}",
         {"bpf_rcu_read_unlock": "fails"}),
        # an incompatible prototype (libbpf: arg counts differ)
        (f"{TAG} void bpf_rcu_read_lock(int x) {{}} {TAG} void bpf_rcu_read_unlock(void) {{}}",
         {"bpf_rcu_read_lock": "fails"}),
    ],
)
def test_kfuncs(bpf_prog, compile_c, kernel, expected):
    obj = bpf_prog(KFUNC_PROG)
    kern = compile_c(kernel, name="kern", cflags=["-O0"])
    _rc, doc = core_json(obj, "--kernel", kern, "--no-cache")
    _, load = _load(doc, "kern")
    got = {f["subject"]: f["outcome"] for f in load if f["check"] == "kfunc"}
    assert got == expected
    for f in load:
        if f["check"] == "kfunc":
            assert f["source"]["text"].strip().startswith(f["subject"])


PROG_TYPES_OLD = _enum("bpf_prog_type", ["BPF_PROG_TYPE_UNSPEC", "BPF_PROG_TYPE_SOCKET_FILTER",
                                         "BPF_PROG_TYPE_KPROBE"])
PROG_TYPES_NEW = _enum("bpf_prog_type", ["BPF_PROG_TYPE_UNSPEC", "BPF_PROG_TYPE_SOCKET_FILTER",
                                         "BPF_PROG_TYPE_KPROBE", "BPF_PROG_TYPE_NETFILTER"])
ATTACH_NEW = _enum("bpf_attach_type", ["BPF_CGROUP_INET_INGRESS", "BPF_NETFILTER"])
ATTACH_OLD = _enum("bpf_attach_type", ["BPF_CGROUP_INET_INGRESS"])


def test_program_and_attach_types(bpf_prog, kernel_btf):
    obj = bpf_prog('SEC("netfilter")\nint nf(void *ctx) { return 1; }\n')
    uses = ["enum bpf_prog_type", "enum bpf_attach_type"]
    old = kernel_btf(PROG_TYPES_OLD + ATTACH_OLD, uses, name="old")
    new = kernel_btf(PROG_TYPES_NEW + ATTACH_NEW, uses, name="new")
    rc, doc = core_json(obj, "--kernel", old, "--kernel", new, "--no-cache")
    assert rc == 1
    status, load = _load(doc, "old")
    assert status == "fails"
    assert {(f["subject"], f["outcome"]) for f in load} == {
        ("BPF_PROG_TYPE_NETFILTER", "fails"), ("BPF_NETFILTER", "fails")}
    assert _load(doc, "new") == ("loads", [])


def test_unknown_section_name_is_unknown(bpf_prog, kernel_btf):
    obj = bpf_prog('SEC("my_custom_thing")\nint p(void *ctx) { return 1; }\n')
    kern = kernel_btf(PROG_TYPES_NEW, ["enum bpf_prog_type"], name="k")
    rc, doc = core_json(obj, "--kernel", kern, "--no-cache")
    assert rc == 0 and _load(doc, "k")[0] == "unknown"


ATTACH_KERNEL = """
struct task_struct { int pid; };
int do_work(struct task_struct *t, int flags) { return flags; }
typedef void (*btf_trace_sched_switch)(void *, int preempt, struct task_struct *prev);
int bpf_lsm_file_open(void *file) { return 0; }
"""


@pytest.mark.parametrize(
    ("section", "reads", "expected"),
    [
        ("fentry/do_work", 1, None),
        ("fentry/do_work", 2, "fails"),  # reads a third argument do_work does not have
        ("fexit/do_work", 2, None),  # fexit reads the return value after the arguments
        ("fentry/no_such_function", 0, "fails"),
        ("tp_btf/sched_switch", 1, None),
        ("tp_btf/sched_wakeup", 0, "fails"),
        ("lsm/file_open", 0, None),
        ("lsm/no_such_hook", 0, "fails"),
        ("kprobe/do_work", 0, None),
        ("kprobe/inlined_away", 0, "unknown"),  # kprobes use kallsyms: BTF cannot prove absence
        ("tp/sched/sched_switch", 0, None),
        ("tp/syscalls/sys_enter_openat", 0, "unknown"),
    ],
)
def test_attach_targets(bpf_prog, kernel_btf, section, reads, expected):
    body = f"""
SEC("{section}")
int prog(unsigned long long *ctx)
{{
    return (int)ctx[{reads}];
}}
"""
    obj = bpf_prog(body)
    kern = kernel_btf(ATTACH_KERNEL, ["struct task_struct", "btf_trace_sched_switch"], name="k")
    _rc, doc = core_json(obj, "--kernel", kern, "--no-cache")
    got = [f["outcome"] for f in _load(doc, "k")[1] if f["check"] == "attach target"]
    assert got == ([] if expected is None else [expected])


MAP_KERNEL_OLD = _enum("bpf_map_type", ["BPF_MAP_TYPE_UNSPEC", "BPF_MAP_TYPE_HASH", "BPF_MAP_TYPE_ARRAY"]) + """
enum { BPF_F_NO_PREALLOC = 1, BPF_F_NO_COMMON_LRU = 2 } map_flags;
"""
MAP_KERNEL_NEW = _enum("bpf_map_type", ["BPF_MAP_TYPE_UNSPEC", "BPF_MAP_TYPE_HASH", "BPF_MAP_TYPE_ARRAY",
                                        "BPF_MAP_TYPE_PROG_ARRAY"]) + """
enum { BPF_F_NO_PREALLOC = 1, BPF_F_NO_COMMON_LRU = 2, BPF_F_NUMA_NODE = 4, BPF_F_RDONLY_PROG = 128 } map_flags;
"""
MAP_PROG = """
struct { __uint(type, 3); __uint(map_flags, 4); __uint(max_entries, 4); __type(key, int); __type(value, int); }
    jumps SEC(".maps");
struct { __uint(type, 1); __uint(max_entries, 4); __type(key, int); __type(value, int); } plain SEC(".maps");
const volatile int knob = 3;
SEC("socket")
int prog(void *ctx)
{
    int k = 0;
    return (bpf_map_lookup_elem(&plain, &k) != 0) + knob;
}
"""


def test_maps_and_global_data(bpf_prog, kernel_btf):
    obj = bpf_prog(MAP_PROG)
    old = kernel_btf(MAP_KERNEL_OLD, ["enum bpf_map_type"], name="old")
    new = kernel_btf(MAP_KERNEL_NEW, ["enum bpf_map_type"], name="new")
    rc, doc = core_json(obj, "--kernel", old, "--kernel", new, "--no-cache")
    assert rc == 1
    _, load = _load(doc, "old")
    got = sorted((f["check"], f["subject"], f["message"]) for f in load if f["check"] in ("map", "global data"))
    assert got == [
        ("global data", ".rodata", "the kernel has no BPF_F_RDONLY_PROG: no global data maps"),
        ("map", "jumps", "map flag bits 0x4 are not in this kernel's BPF_F_* map flags"),
        # named from the new kernel's enum, as the old one cannot
        ("map", "jumps", "map type BPF_MAP_TYPE_PROG_ARRAY (#3) is not in this kernel's enum bpf_map_type"),
    ]
    assert not [f for f in _load(doc, "new")[1] if f["check"] in ("map", "global data")]


def _perf_object(compile_c, layout: str) -> Path:
    """A perf_event program built with the example's `layout` headers, as for s390x (bpf target, 64-bit longs)."""
    src = """
#include <linux/bpf_perf_event.h>
__attribute__((section("perf_event"), used))
int on_sample(struct bpf_perf_event_data *ctx)
{
    return (int)(ctx->sample_period + ctx->regs.gprs[2]);
}
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
"""
    return compile_c(src, name=f"perf_{layout}", cflags=["-D__s390x__", "-I", str(EXAMPLE / layout)])


def _perf_kernel(compile_c, layout: str) -> Path:
    src = "#include <linux/bpf_perf_event.h>\nstruct bpf_perf_event_data *keep;\n"
    return compile_c(src, name=f"kernel_{layout}", cflags=["-D__s390x__", "-I", str(EXAMPLE / layout), "-O0"])


@pytest.mark.parametrize(
    ("built", "runs", "message"),
    [
        ("after", "before", "reads `addr` where it meant `sample_period` (offset 160, 8 bytes)"),
        ("before", "after", "reads `regs.orig_gpr2` where it meant `sample_period` (offset 152, 8 bytes)"),
    ],
)
def test_context_layout_the_2022_case(compile_c, built, runs, message):
    obj = _perf_object(compile_c, built)
    kern = _perf_kernel(compile_c, runs)
    same = _perf_kernel(compile_c, built)
    rc, doc = core_json(obj, "--kernel", kern, "--kernel", same, "--no-cache")
    assert rc == 1
    status, load = _load(doc, f"kernel_{runs}")
    assert status == "fails"
    (f,) = [f for f in load if f["outcome"] == "fails"]  # regs.gprs[2] is the same bytes on both layouts
    assert f["check"] == "context layout" and f["message"] == message
    assert "sample_period" in f["source"]["text"]
    assert not [f for f in _load(doc, f"kernel_{built}")[1] if f["outcome"] == "fails"]
    rc, text, _ = run_core(obj, "--kernel", kern, "--no-cache")
    assert rc == 1 and message in text


def test_context_walk_follows_copies_and_spills(bpf_prog, compile_c):
    """Through a copy of r1 spilled and reloaded around a helper call, the read still counts."""
    obj = bpf_prog("""
struct bpf_perf_event_data { unsigned long long regs[19]; __u64 sample_period; __u64 addr; };
SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
    struct bpf_perf_event_data *volatile keep = ctx;
    bpf_ktime_get_ns();
    return (int)keep->addr;
}
""")
    kern = compile_c("struct bpf_perf_event_data { unsigned long long regs[18]; unsigned long long sample_period;"
                     " unsigned long long addr; } *keep;", name="kern", cflags=["-O0"])
    _rc, doc = core_json(obj, "--kernel", kern, "--no-cache")
    (f,) = [f for f in _load(doc, "kern")[1] if f["check"] == "context layout"]
    assert f["message"] == (
        "reads bytes 160..167 of struct bpf_perf_event_data (meant `addr`): no member there on this kernel"
    )


WEAK_PROG = """
extern void bpf_rcu_read_lock(void) __ksym __weak;
extern void bpf_rcu_read_unlock(void) __ksym __weak;
extern const int no_such_counter __ksym __weak;
SEC("socket")
int prog(void *ctx)
{
    if (%s) {
        bpf_rcu_read_lock();
        bpf_rcu_read_unlock();
    }
    return &no_such_counter != 0;
}
"""


@pytest.mark.parametrize(
    ("guard", "expected"),
    [
        ("!!bpf_rcu_read_lock", set()),  # bpf_ksym_exists(): the poisoned calls are dead code
        ("bpf_get_prandom_u32() & 1", {"bpf_rcu_read_lock", "bpf_rcu_read_unlock"}),
    ],
)
def test_weak_kfuncs_fail_only_where_reachable(bpf_prog, compile_c, guard, expected):
    obj = bpf_prog(WEAK_PROG % guard)
    kern = compile_c("int other(void) { return 0; }", name="kern", cflags=["-O0"])
    _rc, doc = core_json(obj, "--kernel", kern)
    load = _load(doc, "kern")[1]
    assert {f["subject"] for f in load if f["outcome"] == "fails"} == expected
    # an unresolved weak variable reads as NULL: never a finding
    assert not [f for f in load if f["subject"] == "no_such_counter"]


def test_kconfig_externs(bpf_prog, kernel_btf):
    obj = bpf_prog("""
extern int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig;
extern int CONFIG_MAYBE __kconfig __weak;
SEC("socket")
int prog(void *ctx)
{
    return LINUX_KERNEL_VERSION + CONFIG_HZ + CONFIG_MAYBE;
}
""")
    kern = kernel_btf(PROG_TYPES_NEW, ["enum bpf_prog_type"], name="k")
    rc, doc = core_json(obj, "--kernel", kern)
    assert rc == 0
    status, load = _load(doc, "k")
    # only the strong CONFIG_ extern needs the kernel's config; libbpf fills the rest itself
    assert status == "unknown" and [(f["check"], f["subject"]) for f in load] == [("kconfig", "CONFIG_HZ")]
