"""`abiguard users`: by-value embedders with member paths, pointer-only users, on objects and vmlinux."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from abiguard.model import TypeGraph
from abiguard.model.containment import Containment
from abiguard.report.users import find_users, render_users
from abiguard.sources.btf.refs import containment_for

from .conftest import require_tool, run_cli

# The 2022 story: user_pt_regs reaches the BPF context struct through a typedef; plus deeper,
# anonymous, array and pointer users, and a global variable holding it.
USERS_C = r"""
typedef unsigned long long u64;
struct user_pt_regs { u64 regs[31]; u64 sp; u64 pc; u64 pstate; };
typedef struct user_pt_regs bpf_user_pt_regs_t;
struct bpf_perf_event_data { bpf_user_pt_regs_t regs; u64 sample_period; u64 addr; };
struct wrapper { int tag; struct bpf_perf_event_data data; };
struct anon_holder { int x; union { struct user_pt_regs in_union; u64 raw; }; };
struct array_holder { const struct user_pt_regs many[2]; };
struct pointer_user { struct user_pt_regs *regs; int n; };
struct pointer_outer { struct pointer_user pu; };
struct double_pointer { struct pointer_user *p; };
struct unrelated { u64 a; };
struct user_pt_regs global_regs;

struct wrapper v1; struct anon_holder v2; struct array_holder v3; struct pointer_outer v4;
struct double_pointer v5; struct unrelated v6;
"""


@pytest.fixture(params=["bpf", "bpfeb"])
def users_object(request: pytest.FixtureRequest, compile_c) -> Path:
    return compile_c(USERS_C, target=request.param, name=f"users_{request.param}")


def _graph(path: Path) -> TypeGraph:
    from abiguard.sources.btf.reader import read_btf_file

    return read_btf_file(path)


def test_paths_and_pointer_only_users(users_object: Path) -> None:
    graph = _graph(users_object)
    result = find_users(graph, graph.resolve("struct user_pt_regs"), containment_for(graph))
    by_value = {(u.kind, u.name): u.path for u in result.by_value}
    assert by_value == {
        ("struct", "bpf_perf_event_data"): "bpf_perf_event_data.regs (via typedef bpf_user_pt_regs_t)",
        ("typedef", "bpf_user_pt_regs_t"): "bpf_user_pt_regs_t",
        ("struct", "wrapper"): "wrapper.data.regs (via typedef bpf_user_pt_regs_t)",
        ("struct", "anon_holder"): "anon_holder.<anon>.in_union",
        ("struct", "array_holder"): "array_holder.many (via array const struct user_pt_regs [2])",
        ("var", "global_regs"): "global_regs",
        ("var", "v1"): "v1.data.regs (via typedef bpf_user_pt_regs_t)",
        ("var", "v2"): "v2.<anon>.in_union",
        ("var", "v3"): "v3.many (via array const struct user_pt_regs [2])",
    }
    by_pointer = {(u.kind, u.name): u.path for u in result.by_pointer}
    # one pointer on the way: the holder of the pointer and what embeds that holder
    assert by_pointer == {
        ("struct", "pointer_user"): "pointer_user.regs (via pointer)",
        ("struct", "pointer_outer"): "pointer_outer.pu.regs (via pointer)",
        ("var", "v4"): "v4.pu.regs (via pointer)",
    }  # double_pointer needs two pointers: not listed


def test_raw_btf_index_equals_the_generic_one(users_object: Path) -> None:
    graph = _graph(users_object)
    generic = Containment(_graph(users_object))
    fast = containment_for(graph)
    assert fast._users is not generic._users
    for name in ("struct user_pt_regs", "bpf_user_pt_regs_t", "struct pointer_user", "struct unrelated"):
        tid = graph.resolve(name)
        assert find_users(graph, tid, fast) == find_users(graph, tid, generic)


def test_unused_type_has_no_users(users_object: Path) -> None:
    graph = _graph(users_object)
    result = find_users(graph, graph.resolve("struct wrapper"), containment_for(graph))
    assert [u.name for u in result.by_value] == ["v1"] and result.by_pointer == ()


def test_cli_text_and_json(users_object: Path) -> None:
    proc = run_cli("users", "user_pt_regs", str(users_object))
    assert proc.returncode == 0, proc.stderr
    assert "  struct bpf_perf_event_data: bpf_perf_event_data.regs (via typedef bpf_user_pt_regs_t)" in proc.stdout
    assert proc.stdout.splitlines()[0] == "struct user_pt_regs: embedded by value in 9 type(s):"
    proc = run_cli("users", "struct user_pt_regs", str(users_object), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["name"] == "struct user_pt_regs" and data["arch"] in ("bpfel", "bpfeb")
    assert {"kind": "struct", "name": "pointer_user", "path": "pointer_user.regs (via pointer)"} in data["by_pointer"]
    assert [u["name"] for u in data["by_value"]] == sorted(u["name"] for u in data["by_value"])


def test_render_is_deterministic(users_object: Path) -> None:
    graph = _graph(users_object)
    tid = graph.resolve("user_pt_regs")
    first = render_users([find_users(graph, tid)], "json")
    assert first == render_users([find_users(_graph(users_object), tid)], "json")


@pytest.mark.slow
def test_kernel_index_matches_generic(vmlinux_btf: Path) -> None:
    """On the kernel's BTF the raw-word index gives the same answers as decoding every type."""
    graph = _graph(vmlinux_btf)
    fast = containment_for(graph)
    generic = Containment(_graph(vmlinux_btf))
    for name in ("struct pt_regs", "struct list_head", "struct sk_buff"):
        tid = graph.resolve(name)
        assert find_users(graph, tid, fast) == find_users(graph, tid, generic)


def test_split_btf_users_span_base_and_split(tmp_path: Path) -> None:
    """Module-style split BTF (pahole --btf_base): users found in the base and in the split part."""
    gcc, pahole = require_tool("gcc"), require_tool("pahole")
    common = "struct regs { unsigned long r[4]; };\nstruct base_holder { struct regs r; int x; };\n"
    (tmp_path / "a.c").write_text(common + "struct base_holder bh;\n")
    (tmp_path / "b.c").write_text(
        common + "struct mod_user { struct base_holder h; struct regs *p; };\n"
        "struct mod_ptr { struct regs *q; };\nstruct mod_user mu; struct mod_ptr mp;\n"
    )
    for name in ("a", "b"):
        subprocess.run([gcc, "-g", "-c", f"{name}.c", "-o", f"{name}.o"], cwd=tmp_path, check=True)
    subprocess.run([pahole, "--btf_encode_detached=base.btf", "a.o"], cwd=tmp_path, check=True)
    subprocess.run([pahole, "--btf_encode_detached=mod.btf", "--btf_base=base.btf", "b.o"], cwd=tmp_path,
                   check=True)
    from abiguard.sources.btf.reader import read_btf_file

    def load() -> TypeGraph:
        return read_btf_file(tmp_path / "mod.btf", base=read_btf_file(tmp_path / "base.btf"))

    graph = load()
    tid = graph.resolve("struct regs")
    assert tid < graph.resolve("struct mod_user")  # regs lives in the base, mod_user in the split part
    result = find_users(graph, tid, containment_for(graph))
    assert result == find_users(graph, tid, Containment(load()))
    assert {u.name: u.path for u in result.by_value} == {
        "base_holder": "base_holder.r", "mod_user": "mod_user.h.r"
    }  # (pahole encodes no global variables of plain objects)
    assert {u.name for u in result.by_pointer} == {"mod_ptr"}
