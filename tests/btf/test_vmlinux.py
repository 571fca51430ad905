"""This machine's kernel BTF: every id decodes, validates and equals bpftool's raw dump."""

from __future__ import annotations

from pathlib import Path

import pytest

from abiguard.model import Kind
from abiguard.sources import load_source
from abiguard.sources.btf.reader import read_btf

from .bpftool_raw import assert_same_as_bpftool


@pytest.mark.slow
def test_vmlinux_matches_bpftool(vmlinux_btf: Path, vmlinux_bpftool_raw: list[str]) -> None:
    parsed = read_btf(vmlinux_btf)
    parsed.validate_all()
    assert_same_as_bpftool(parsed.graph, vmlinux_bpftool_raw)


def test_vmlinux_lazy_access(vmlinux_btf: Path) -> None:
    """A command's path: resolve one struct, lay it out, without decoding the whole file."""
    (graph,) = load_source(str(vmlinux_btf), [])
    tid = graph.resolve("struct task_struct")
    task = graph[tid]
    assert task.kind == Kind.STRUCT and graph.size_of(tid) == task.size > 1000
    assert graph.align_of(tid) >= 8
    assert graph.c_name(graph.resolve("struct list_head")) == "struct list_head"
    btf = graph.types
    decoded = sum(t is not None for t in btf._decoded)  # lazy: far fewer than all ids
    assert decoded < len(graph) // 4
    assert graph.target.name  # host target for raw BTF of the host's byte order


def test_vmlinux_name_lookup_matches_full_scan(vmlinux_btf: Path) -> None:
    """ids_named answers from the string section (first look-ups) and from the full index alike."""
    parsed = read_btf(vmlinux_btf)
    graph = parsed.graph
    names = ["task_struct", "list_head", "id", "pid", "u32", "__u64", "sk_buff", "file_operations", "x"]
    first = {n: graph.ids_named(n) for n in names}
    for n in range(40):  # distinct names push past the threshold that builds the full index
        graph.ids_named(f"no_such_name_{n}")
    assert parsed.btf.names.full is not None
    second = {n: graph.ids_named(n) for n in names}
    assert first == second
    for n in names:
        assert all(graph[i].name == n for i in first[n])
    brute = [i for i in graph.ids() if graph[i].name == "list_head"]
    assert first["list_head"] == brute


def test_vmlinux_lazy_and_bulk_checks_agree(vmlinux_btf: Path) -> None:
    """Per-id walks (commands) and the bulk pass (validate_all) compute the same nesting heights."""
    lazy = read_btf(vmlinux_btf).btf
    task = lazy.ids_named("task_struct")
    for tid in task:
        lazy[tid]
    bulk = read_btf(vmlinux_btf).btf
    bulk.validate_all()
    walked = [i for i in range(1, len(lazy)) if lazy._colors[0][i - 1] == 2]
    assert len(walked) > 100
    for rule in (0, 1):
        for tid in walked:
            if lazy._colors[rule][tid - 1] == 2:
                assert lazy.height(tid, rule) == bulk.height(tid, rule), (tid, rule)
    assert max(bulk._heights[0]) < 64  # real kernels nest about 33 deep (kernel resolver limit: 32)
