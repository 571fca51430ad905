"""The pahole oracle on this machine's kernel BTF: a few hundred structs, numbers and holes identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from abiguard.model import Kind, TypeGraph

from .conftest import require_tool, run_cli
from .oracle import compare_with_pahole, flatten_json, pahole_rows
from .pahole_text import run_pahole

KNOWN = ("task_struct", "sk_buff", "bpf_perf_event_data", "pt_regs", "file", "inode", "bpf_attr",
         "sock", "page", "mm_struct", "net_device", "super_block", "dentry")
SAMPLE = 300


@pytest.fixture(scope="module")
def kernel_graph() -> TypeGraph:
    from abiguard.sources.btf.reader import read_btf_file

    path = Path("/sys/kernel/btf/vmlinux")
    if not path.exists():
        pytest.skip(f"{path} is not present on this machine")
    return read_btf_file(path)


def _comparable(graph: TypeGraph) -> dict[str, int]:
    """Name -> id of every struct/union pahole can be asked about by name and prints like us.

    Left out: names carried by another type too (pahole -C then picks the typedef or enum of that
    name), and structs with a pointer to an anonymous struct as a member: pahole prints the pointee
    inline with offsets from 0, we print `struct {...} *` (there is no layout at that place).
    """
    by_name: dict[str, list[int]] = {}
    for tid in graph.ids():
        t = graph[tid]
        if t.name and t.kind != Kind.FWD:
            by_name.setdefault(t.name, []).append(tid)
    out: dict[str, int] = {}
    for name, ids in by_name.items():
        if len(ids) != 1:
            continue
        t = graph[ids[0]]
        if t.kind not in (Kind.STRUCT, Kind.UNION) or not t.size:
            continue
        if any(_points_at_anonymous(graph, m.type) for m in t.members):
            continue
        out[name] = ids[0]
    return dict(sorted(out.items()))


def _points_at_anonymous(graph: TypeGraph, type_id: int) -> bool:
    t = graph[graph.strip(type_id, typedefs=False)]
    if t.kind != Kind.PTR:
        return False
    target = graph[graph.strip(t.ref, typedefs=False)]
    return target.kind in (Kind.STRUCT, Kind.UNION) and not target.name


def _sample(graph: TypeGraph) -> list[tuple[str, str]]:
    """(keyword, name) of every Nth comparable struct/union by name, plus well-known ones."""
    comparable = _comparable(graph)
    names = list(comparable)
    step = max(len(names) // SAMPLE, 1)
    chosen = dict.fromkeys([n for n in KNOWN if n in comparable] + names[::step])
    return [("union" if graph[comparable[n]].kind == Kind.UNION else "struct", n) for n in chosen]


def test_few_hundred_kernel_structs_match_pahole(kernel_graph: TypeGraph, vmlinux_btf: Path) -> None:
    require_tool("pahole")
    sample = _sample(kernel_graph)
    assert len(sample) >= SAMPLE
    pahole = run_pahole(vmlinux_btf, [n for _, n in sample])
    checked = 0
    for keyword, name in sample:
        p = pahole.get(name)
        assert p is not None and p.keyword == keyword, name
        compare_with_pahole(kernel_graph, name, p)
        checked += 1
    assert checked == len(sample)


@pytest.mark.slow
def test_every_kernel_struct_matches_pahole(kernel_graph: TypeGraph, vmlinux_btf: Path) -> None:
    """All ~9,000 comparable structs and unions (about 40 s)."""
    require_tool("pahole")
    comparable = _comparable(kernel_graph)
    names = list(comparable)
    assert len(names) > 1000
    for i in range(0, len(names), 2000):
        chunk = names[i : i + 2000]
        pahole = run_pahole(vmlinux_btf, chunk)
        for name in chunk:
            compare_with_pahole(kernel_graph, name, pahole[name])


@pytest.mark.parametrize("name", ["task_struct", "sk_buff", "bpf_perf_event_data"])
def test_cli_json_matches_pahole(name: str, vmlinux_btf: Path) -> None:
    require_tool("pahole")
    proc = run_cli("layout", name, str(vmlinux_btf), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["arch"] and data["kind"] == "struct" and data["align_derived"] is True
    p = run_pahole(vmlinux_btf, [name])[name]
    assert data["size"] == int(p.stats["size"].split(",")[0])
    assert flatten_json(data["members"]) == pahole_rows(p)


def test_cli_text_default_source_is_kernel_btf(vmlinux_btf: Path) -> None:
    proc = run_cli("layout", "bpf_perf_event_data")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "struct bpf_perf_event_data {"
    assert lines[1].split()[:2] == ["bpf_user_pt_regs_t", "regs;"]
    assert any(line.startswith("\t/* size: ") and line.endswith(", members: 3 */") for line in lines)
    assert any(line.startswith("\t/* align: ") for line in lines)


def test_users_of_the_bpf_register_set_on_the_kernel(kernel_graph: TypeGraph) -> None:
    """Who embeds the register set behind bpf_user_pt_regs_t (pt_regs on x86, user_pt_regs on arm64)."""
    from abiguard.report.layout import build_layout, layout_json
    from abiguard.report.users import find_users
    from abiguard.sources.btf.refs import containment_for

    regs = kernel_graph.strip(kernel_graph.resolve("bpf_user_pt_regs_t"))
    result = find_users(kernel_graph, regs, containment_for(kernel_graph))
    paths = {u.path for u in result.by_value}
    assert "bpf_perf_event_data.regs (via typedef bpf_user_pt_regs_t)" in paths
    # cross-check embedders against their own layouts: the member path exists and has the size
    checked = 0
    for user in result.by_value:
        if user.kind != "struct" or "(via array" in user.path or "<anon>" in user.path:
            continue
        checked += 1
        data = layout_json(build_layout(kernel_graph, user.type_id, expand=True), kernel_graph)
        members = data["members"]
        found = None
        for step in user.path.split(" ")[0].split(".")[1:]:
            found = _find_member(members, step)
            assert found is not None, (user.path, step)
            members = found.get("members", [])
        assert found is not None and found["size"] == kernel_graph.size_of(regs), user.path
    assert checked >= 1
    by_value_names = {u.name for u in result.by_value}
    pointer_names = {u.name for u in result.by_pointer}
    assert "task_struct" not in by_value_names
    assert pointer_names and not pointer_names & by_value_names


def _find_member(members: list[dict], name: str) -> dict | None:
    """A member by name, looking through anonymous inline members as C does."""
    for m in members:
        if m["name"] == name:
            return m
        if not m["name"] and "members" in m:
            inner = _find_member(m["members"], name)
            if inner is not None:
                return inner
    return None
