"""Six small objects of issue #13 on real kernels: this machine's and a Debian 6.1 package's.

Oracle: the kernel's own BTF as bpftool prints it (`format raw`): the enumerator, FUNC or decl tag each
object needs is there or not, and the verdict must follow.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from abiguard.bpf.run import check_core

from .conftest import require_tool

SIX = {
    "helper": (
        """
SEC("kprobe/do_nanosleep")
int probe(void *ctx)
{
    return bpf_cgrp_storage_get(0, 0, 0, 0) != 0;
}
""",
        ["'BPF_FUNC_cgrp_storage_get' val=210"],
    ),
    "kfunc": (
        """
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
SEC("tp_btf/sched_switch")
int on_switch(unsigned long long *ctx)
{
    bpf_rcu_read_lock();
    bpf_rcu_read_unlock();
    return 0;
}
""",
        ["FUNC 'bpf_rcu_read_lock'", "FUNC 'bpf_rcu_read_unlock'", "KFUNC_TAG bpf_rcu_read_lock",
         "KFUNC_TAG bpf_rcu_read_unlock"],
    ),
    "cgrp_map": (
        """
struct { __uint(type, 32); __uint(map_flags, 1); __type(key, int); __type(value, long); } cgrp_map SEC(".maps");
SEC("kprobe/do_nanosleep")
int probe(void *ctx)
{
    int k = 0;
    return bpf_map_lookup_elem(&cgrp_map, &k) != 0;
}
""",
        ["'BPF_MAP_TYPE_CGRP_STORAGE' val=32"],
    ),
    "netfilter": ('SEC("netfilter")\nint nf(void *ctx) { return 1; }\n',
                  ["'BPF_PROG_TYPE_NETFILTER'", "'BPF_NETFILTER'"]),
    "listmount": ('SEC("fentry/__x64_sys_listmount")\nint on_listmount(unsigned long long *ctx) { return 0; }\n',
                  ["FUNC '__x64_sys_listmount'"]),
    "plain": (
        """
struct task_struct { int pid; } __attribute__((preserve_access_index));
SEC("kprobe/do_nanosleep")
int probe(void *ctx)
{
    struct task_struct *t = (void *)bpf_get_current_task();
    return BPF_CORE_READ(t, pid);
}
""",
        ["FUNC 'do_nanosleep'", "'pid' type_id="],
    ),
}


@cache
def _facts(btf: Path) -> str:
    """bpftool's raw dump, plus one `KFUNC_TAG <func>` line per bpf_kfunc decl tag."""
    raw = subprocess.run([require_tool("bpftool"), "btf", "dump", "file", str(btf), "format", "raw"],
                         capture_output=True, text=True, check=True).stdout
    funcs = dict(re.findall(r"^\[(\d+)\] FUNC '([^']+)'", raw, re.M))
    tags = re.findall(r"DECL_TAG 'bpf_kfunc' type_id=(\d+) component_idx=-1", raw)
    return raw + "".join(f"\nKFUNC_TAG {funcs[t]}" for t in tags if t in funcs)


def _expect(facts: str, needs: list[str]) -> str:
    return "loads" if all(n in facts for n in needs) else "fails"


@pytest.fixture
def six(bpf_prog) -> dict[str, Path]:
    return {name: bpf_prog(body, name=name) for name, (body, _) in SIX.items()}


def _verdicts(six: dict[str, Path], kernel: Path) -> dict[str, str]:
    result = check_core(list(six.values()), [kernel], use_cache=False)
    return {Path(v.obj).stem: v.status for v in result.verdicts}


def test_six_on_this_kernel(six, vmlinux_btf):
    facts = _facts(vmlinux_btf)
    got = _verdicts(six, vmlinux_btf)
    assert got == {name: _expect(facts, needs) for name, (_, needs) in SIX.items()}


def test_six_on_debian_61(six, debian_61):
    kernel, btf = debian_61
    facts = _facts(btf)
    expected = {name: _expect(facts, needs) for name, (_, needs) in SIX.items()}
    # what the issue measured: only the plain CO-RE kprobe loads on 6.1
    assert expected == {"helper": "fails", "kfunc": "fails", "cgrp_map": "fails", "netfilter": "fails",
                        "listmount": "fails", "plain": "loads"}
    assert _verdicts(six, kernel) == expected
