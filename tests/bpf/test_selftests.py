"""BPF selftests of the Linux 6.1 tree, compiled against this machine's kernel (vmlinux.h from bpftool),
checked on that kernel; verdicts cross-checked against the kernel's own BTF as bpftool prints it.

Each program's needs are named here (attach targets, typed ksyms) or read from the object by bpftool
(its extern kfuncs); what is missing from the kernel's BTF must be exactly what abiguard says fails.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import VMLINUX_BTF, unpack_linux_once

from abiguard.bpf.check import Verdict
from abiguard.bpf.run import check_core

from .conftest import require_tool

pytestmark = pytest.mark.slow  # clang parses a 3 MB vmlinux.h per program

PROGS = "linux-source-6.1/tools/testing/selftests/bpf"


def _has(fact: str) -> Callable[[str], bool]:
    return lambda facts: fact in facts


def _nargs_at_least(func: str, n: int) -> Callable[[str], bool]:
    def check(facts: str) -> bool:
        m = re.search(rf"^NARGS {re.escape(func)} (\d+)$", facts, re.M)
        return m is not None and int(m[1]) >= n

    return check


# object -> (subject of a finding -> what must hold in the kernel's BTF for it to pass), undecidable by BTF
SELFTESTS: dict[str, tuple[dict[str, Callable[[str], bool]], bool]] = {
    "test_tracepoint": ({}, False),  # tracepoint/sched/sched_switch: confirmed below by btf_trace_sched_switch
    "bpf_iter_task": ({"task": _has("FUNC 'bpf_iter_task'")}, False),
    "test_d_path": ({"security_inode_getattr": _has("FUNC 'security_inode_getattr'"),
                     "filp_close": _has("FUNC 'filp_close'")}, False),
    "lsm_cgroup": ({h: _has(f"FUNC 'bpf_lsm_{h}'")
                    for h in ("socket_post_create", "socket_bind", "sk_alloc_security", "inet_csk_clone")}, False),
    "test_ksyms_btf": ({"runqueues": _has("VAR 'runqueues'"), "bpf_prog_active": _has("VAR 'bpf_prog_active'")},
                       False),
    "test_bpf_nf": ({}, True),  # extern CONFIG_HZ __kconfig: the kernel config is not in BTF
    "cgroup_hierarchical_stats": ({"cgroup_attach_task": _has("FUNC 'cgroup_attach_task'"),
                                   "bpf_rstat_flush": _has("FUNC 'bpf_rstat_flush'"),
                                   "cgroup": _has("FUNC 'bpf_iter_cgroup'")}, False),
    # fexit reads the return value after inet_csk_accept's four 6.1 arguments
    "test_sk_storage_tracing": ({"inet_sock_set_state": _has("TYPEDEF 'btf_trace_inet_sock_set_state'"),
                                 "inet_csk_listen_start": _has("FUNC 'inet_csk_listen_start'"),
                                 "tcp_connect": _has("FUNC 'tcp_connect'"),
                                 "inet_csk_accept()": _nargs_at_least("inet_csk_accept", 4)}, False),
    # fmod_ret needs error injection, which BTF does not show
    "bpf_mod_race": ({"do_init_module": _has("FUNC 'do_init_module'"),
                      "btf_try_get_module": _has("FUNC 'btf_try_get_module'")}, True),
    "test_raw_tp_test_run": ({}, False),
    "test_ksyms_weak": ({}, True),  # typeless ksyms go through kallsyms
    "test_map_init": ({}, True),  # tp/syscalls/...: syscall tracepoints have no btf_trace_ typedef
    "task_ls_recursion": ({"bpf_local_storage_lookup": _has("FUNC 'bpf_local_storage_lookup'"),
                           "bpf_local_storage_update": _has("FUNC 'bpf_local_storage_update'"),
                           "sys_enter": _has("TYPEDEF 'btf_trace_sys_enter'")}, False),
    "test_skb_helpers": ({}, False),
}


@pytest.fixture(scope="session")
def selftests() -> Path:
    """tools/testing/selftests/bpf of the 6.1 tree (progs and their headers), unpacked once into the test cache."""
    return unpack_linux_once("selftests-bpf-6.1", [f"{PROGS}/progs/*", f"{PROGS}/*.h"]) / PROGS


def _raw(path: Path) -> str:
    return subprocess.run([require_tool("bpftool"), "btf", "dump", "file", str(path), "format", "raw"],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def kernel() -> Path:
    """This machine's kernel BTF (module-scoped twin of the shared vmlinux_btf fixture)."""
    if not VMLINUX_BTF.exists():
        pytest.skip(f"{VMLINUX_BTF} is not present on this machine")
    return VMLINUX_BTF


@pytest.fixture(scope="module")
def kernel_facts(kernel: Path) -> str:
    """bpftool's raw dump plus `KFUNC_TAG <func>` and `NARGS <func> <n>` lines derived from it."""
    raw = _raw(kernel)
    funcs = dict(re.findall(r"^\[(\d+)\] FUNC '([^']+)' type_id=\d+", raw, re.M))
    protos = dict(re.findall(r"^\[(\d+)\] FUNC_PROTO '\(anon\)' ret_type_id=\d+ vlen=(\d+)", raw, re.M))
    extra = [f"KFUNC_TAG {funcs[t]}" for t in re.findall(r"DECL_TAG 'bpf_kfunc' type_id=(\d+) component_idx=-1", raw)
             if t in funcs]
    extra += [f"NARGS {name} {protos[p]}" for name, p in re.findall(r"^\[\d+\] FUNC '([^']+)' type_id=(\d+)", raw, re.M)
              if p in protos]
    return raw + "\n" + "\n".join(extra) + "\n"


@pytest.fixture(scope="module")
def compiled(kernel: Path, selftests: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every selftest of the table compiled against vmlinux.h of this kernel.

    No precompiled header: some progs (bpf_iter.h) #define names away before including vmlinux.h.
    """
    out = tmp_path_factory.mktemp("selftests")
    dump = subprocess.run([require_tool("bpftool"), "btf", "dump", "file", str(kernel), "format", "c"],
                          capture_output=True, text=True, check=True)
    (out / "vmlinux.h").write_text(dump.stdout)
    flags = [require_tool("clang"), "-target", "bpf", "-g", "-O2", "-D__TARGET_ARCH_x86"]

    def build(name: str) -> Path:
        obj = out / f"{name}.o"
        subprocess.run(
            [*flags, "-I", str(out), "-I", str(selftests / "progs"),
             "-I", str(selftests), "-c", str(selftests / "progs" / f"{name}.c"), "-o", str(obj)],
            check=True, capture_output=True,
        )
        return obj

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(sorted(SELFTESTS), pool.map(build, sorted(SELFTESTS)), strict=True))


@pytest.fixture(scope="module")
def verdicts(compiled: dict[str, Path], kernel: Path) -> dict[str, Verdict]:
    result = check_core(list(compiled.values()), [kernel], use_cache=False)
    return {Path(v.obj).stem: v for v in result.verdicts}


@pytest.mark.parametrize("name", sorted(SELFTESTS))
def test_selftest_verdict_matches_kernel_btf(name, compiled, verdicts, kernel_facts):
    needs, undecidable = SELFTESTS[name]
    # the object's extern kfuncs, as bpftool reads its BTF: each needs a FUNC with a bpf_kfunc tag
    for kfunc in re.findall(r"^\[\d+\] FUNC '([^']+)' type_id=\d+ linkage=extern", _raw(compiled[name]), re.M):
        needs = {**needs, kfunc: lambda f, k=kfunc: f"FUNC '{k}'" in f and f"KFUNC_TAG {k}" in f}
    missing = {subject for subject, holds in needs.items() if not holds(kernel_facts)}
    v = verdicts[name]
    failing = {f.subject for f in v.load if f.outcome.value == "fails"}
    assert failing == missing, [f.summary for f in v.load]
    assert not v.failures  # CO-RE relocations of these programs resolve on this kernel
    expected = "fails" if missing else "unknown" if undecidable else "loads"
    assert v.status == expected, [f.summary for f in v.load]
