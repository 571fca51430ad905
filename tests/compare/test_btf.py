"""The comparer on BTF: clang-compiled BPF objects (both byte orders) and the running kernel's vmlinux."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import require_tool

from abiguard.cli import main
from abiguard.compare import compare_graphs, run_diff
from abiguard.compare.findings import Severity
from abiguard.sources.btf.reader import read_btf_file

OLD_C = """
typedef unsigned int u32;
typedef unsigned long long u64;
struct inner { u32 a; u32 b; };
struct outer { struct inner in; u64 after; };
enum mode { MODE_A, MODE_B, __MODE_MAX };
struct outer g_outer;
enum mode g_mode;
int handle(struct outer *o, u32 flags) { return o->after + flags + g_mode; }
"""
NEW_C = (OLD_C.replace("u32 a; u32 b;", "u32 a; u32 b; u32 c;")
         .replace("MODE_B, __MODE_MAX", "MODE_B, MODE_C, __MODE_MAX")
         .replace("u32 flags) { return o->after + flags", "u64 flags, int extra) { return o->after + flags + extra"))


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
def test_btf_of_modified_object(compile_c: Callable[..., Path], target: str) -> None:
    old = read_btf_file(compile_c(OLD_C, target=target, name="old"))
    new = read_btf_file(compile_c(NEW_C, target=target, name="new"))
    findings = {(f.kind, f.type, f.member): f for f in compare_graphs(old, new)}
    after = findings[("member_offset_changed", "struct outer", "after")]
    assert (after.old, after.new, after.severity) == (8, 16, Severity.BREAKING)
    assert after.chain == ("inner", "outer.in") and after.root == "struct inner"
    assert findings[("enumerator_added", "enum mode", "MODE_C")].severity == Severity.COMPATIBLE
    assert findings[("enumerator_value_changed", "enum mode", "__MODE_MAX")].severity == Severity.COMPATIBLE
    proto = findings[("func_proto_changed", "handle()", None)]
    assert proto.severity == Severity.BREAKING
    assert "u64" in proto.new and "extra" not in proto.old


def test_btf_with_one_new_function_differs_only_by_it(compile_c: Callable[..., Path]) -> None:
    a = read_btf_file(compile_c(OLD_C, name="a"))
    b = read_btf_file(compile_c(OLD_C + "\nint unrelated(void) { return 1; }\n", name="b"))
    result = run_diff([a], [b])
    # only the new function (and its prototype) is new; nothing else differs
    assert [(f.kind, f.type) for f in result.findings] == [("func_added", "unrelated()")]
    assert result.verdict == Severity.COMPATIBLE


def test_vmlinux_against_itself_is_identical(vmlinux_btf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["diff", str(vmlinux_btf), str(vmlinux_btf), "--format", "json"])
    assert done.value.code == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["verdict"], data["findings"]) == ("identical", [])


def test_same_named_types_pair_by_declaration_not_by_order(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    # two objects disagreeing on `struct dup`, linked by bpftool: the BTF keeps both definitions
    bpftool = require_tool("bpftool")
    a = compile_c("struct dup { int x; };\nstruct dup ga;\n", name="a")
    b = compile_c("struct dup { long y; long z; };\nstruct dup gb;\n", name="b")
    ab, ba = tmp_path / "ab.o", tmp_path / "ba.o"
    subprocess.run([bpftool, "gen", "object", str(ab), str(a), str(b)], check=True, capture_output=True)
    subprocess.run([bpftool, "gen", "object", str(ba), str(b), str(a)], check=True, capture_output=True)
    old, new = read_btf_file(ab), read_btf_file(ba)
    assert [old[i].size for i in old.ids_named("dup")] == [4, 16]
    assert [new[i].size for i in new.ids_named("dup")] == [16, 4]
    assert run_diff([old], [new]).findings == []
    # one of them grows: exactly that one is reported
    b2 = compile_c("struct dup { long y; long z; long w; };\nstruct dup gb;\n", name="b2")
    grown = tmp_path / "grown.o"
    subprocess.run([bpftool, "gen", "object", str(grown), str(b2), str(a)], check=True, capture_output=True)
    sizes = [(f.old, f.new) for f in run_diff([old], [read_btf_file(grown)]).findings if f.kind == "size_changed"]
    assert sizes == [(16, 24)]
