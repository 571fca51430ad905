"""`abiguard diff` as a user runs it: exit codes, --fail-on, --type, JSON contract, output, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from abiguard.cli import main

from .conftest import PRELUDE

BASE = """
struct req { __u32 op; __u32 flags; };
struct ctx { struct req r; __u64 cookie; };
struct other { __u32 x; };
struct lonely { __u32 y; };
int submit(struct ctx *c);
#define REQ_MAGIC 7
"""


def _headers(tmp_path: Path, old: str, new: str) -> tuple[str, str]:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "abi.h").write_text(PRELUDE + old)
    (tmp_path / "new" / "abi.h").write_text(PRELUDE + new)
    return str(tmp_path / "old" / "abi.h"), str(tmp_path / "new" / "abi.h")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(["diff", *args])
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def test_breaking_change_exits_1_and_json_follows_the_contract(tmp_path: Path, capsys) -> None:
    old, new = _headers(tmp_path, BASE, BASE.replace("__u32 flags;", "__u32 flags; __u32 prio;"))
    rc, out, _ = _run(capsys, old, new, "--arch", "x86_64,s390x", "--format", "json")
    assert rc == 1
    data = json.loads(out)
    assert set(data) == {"verdict", "arches", "findings", "errors"}
    assert data["verdict"] == "breaking" and data["arches"] == ["x86_64", "s390x"]
    cookie = [f for f in data["findings"] if f["member"] == "cookie"]
    assert {f["arch"] for f in cookie} == {"x86_64", "s390x"}  # one finding object per arch
    f = cookie[0]
    assert {"arch", "severity", "kind", "type", "member", "old", "new", "chain", "message"} <= set(f)
    assert (f["kind"], f["type"], f["old"], f["new"]) == ("member_offset_changed", "struct ctx", 8, 16)
    assert f["chain"] == ["req", "ctx.r"]


def test_review_passes_by_default_and_fails_with_fail_on_review(tmp_path: Path, capsys) -> None:
    grown = BASE.replace("__u32 x;", "__u32 x; __u32 x2;")
    old, new = _headers(tmp_path, BASE, grown)
    rc, out, _ = _run(capsys, old, new, "--arch", "x86_64", "--format", "json")
    assert (rc, json.loads(out)["verdict"]) == (0, "review")
    rc, _, _ = _run(capsys, old, new, "--arch", "x86_64", "--format", "json", "--fail-on", "review")
    assert rc == 1


def test_identical_exits_0(tmp_path: Path, capsys) -> None:
    old, new = _headers(tmp_path, BASE, BASE)
    rc, out, _ = _run(capsys, old, new, "--arch", "i386", "--format", "json")
    assert rc == 0
    assert json.loads(out) == {"verdict": "identical", "arches": ["i386"], "findings": [], "errors": []}


def test_type_scope_limits_findings_to_what_roots_reach(tmp_path: Path, capsys) -> None:
    new_text = BASE.replace("__u32 y;", "__u64 y;").replace("__u32 flags;", "__u32 flags; __u32 prio;")
    old, new = _headers(tmp_path, BASE, new_text)
    rc, out, _ = _run(capsys, old, new, "--arch", "x86_64", "--format", "json", "--type", "struct lonely")
    assert rc == 1
    assert {f["type"] for f in json.loads(out)["findings"]} == {"struct lonely"}
    rc, out, _ = _run(capsys, old, new, "--arch", "x86_64", "--format", "json", "--type", "ctx")
    assert {f["type"] for f in json.loads(out)["findings"]} == {"struct req", "struct ctx"}
    rc, out, _ = _run(capsys, old, new, "--arch", "x86_64", "--format", "json", "--type", "struct other")
    assert (rc, json.loads(out)["verdict"]) == (0, "identical")


def test_unknown_type_and_missing_source_are_one_line_errors(tmp_path: Path, capsys) -> None:
    old, new = _headers(tmp_path, BASE, BASE)
    rc, out, err = _run(capsys, old, new, "--arch", "x86_64", "--type", "struct nowhere")
    assert rc == 2 and out == ""
    assert err.startswith("abiguard: error: --type:") and "nowhere" in err and err.count("\n") == 1
    rc, out, err = _run(capsys, old, str(tmp_path / "missing.h"), "--arch", "x86_64")
    assert rc == 2 and "no such file" in err and "Traceback" not in err


def test_output_file_waivers_and_text_report(tmp_path: Path, capsys) -> None:
    old, new = _headers(tmp_path, BASE, BASE.replace("#define REQ_MAGIC 7", "#define REQ_MAGIC 8"))
    waivers = tmp_path / "w.toml"
    waivers.write_text('[[waiver]]\ntype = "#define REQ_MAGIC"\nreason = "renumbered"\nexpires = 2999-01-01\n')
    report = tmp_path / "report.txt"
    rc, out, _ = _run(capsys, old, new, "--arch", "x86_64", "--output", str(report))
    assert rc == 1 and out == ""
    assert "REQ_MAGIC" in report.read_text()
    rc, _, _ = _run(capsys, old, new, "--arch", "x86_64", "--waivers", str(waivers), "--format", "markdown")
    assert rc == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[[waiver]]\ntype = 1\n")
    rc, _, err = _run(capsys, old, new, "--arch", "x86_64", "--waivers", str(bad))
    assert rc == 2 and str(bad) in err


@pytest.mark.slow
def test_arch_all_breaks_only_where_the_register_set_grew(tmp_path: Path, capsys) -> None:
    from .test_impact import AFTER, BEFORE

    old, new = _headers(tmp_path, BEFORE, AFTER)
    rc, out, _ = _run(capsys, old, new, "--arch", "all", "--format", "json")
    data = json.loads(out)
    assert rc == 1 and len(data["arches"]) == 15
    assert {f["arch"] for f in data["findings"]} == {"s390x", "aarch64"}
    moved = {(f["arch"], f["old"], f["new"]) for f in data["findings"] if f["member"] == "sample_period"}
    assert moved == {("s390x", 152, 160), ("aarch64", 272, 280)}
    assert all(f["chain"] == ["user_pt_regs", "bpf_user_pt_regs_t", "bpf_perf_event_data.regs"]
               for f in data["findings"] if f["type"] == "struct bpf_perf_event_data")


def test_headers_that_do_not_parse_are_reported_as_errors(tmp_path: Path, capsys) -> None:
    for side in ("old", "new"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "good.h").write_text("struct ok { int a; };\n")
        (tmp_path / side / "bad.h").write_text("struct bad { int a b; };\n")
    rc, out, _ = _run(capsys, str(tmp_path / "old"), str(tmp_path / "new"), "--arch", "x86_64", "--format", "json")
    data = json.loads(out)
    assert rc == 0 and data["verdict"] == "identical"
    assert len(data["errors"]) == 1 and "bad.h:1" in data["errors"][0]


def test_type_scope_does_not_soften_severity(tmp_path: Path, capsys) -> None:
    # `req` grows; it is embedded by value in `ctx`, which --type req does not reach: still breaking
    old, new = _headers(tmp_path, BASE, BASE.replace("__u32 flags;", "__u32 flags; __u32 prio;"))
    rc, out, _ = _run(capsys, old, new, "--arch", "x86_64", "--format", "json", "--type", "struct req")
    data = json.loads(out)
    assert rc == 1
    assert {(f["type"], f["kind"], f["severity"]) for f in data["findings"]} == {
        ("struct req", "member_added", "breaking"), ("struct req", "size_changed", "breaking")}


def test_a_header_failing_on_every_arch_is_one_line(tmp_path: Path, capsys) -> None:
    for side in ("old", "new"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "good.h").write_text("struct ok { long a; };\n")
        (tmp_path / side / "bad.h").write_text("struct bad { int a b; };\n")
    (tmp_path / "new" / "only_new.h").write_text("#ifdef __s390x__\nstruct worse { int x y; };\n#endif\n")
    _, out, _ = _run(capsys, str(tmp_path / "old"), str(tmp_path / "new"), "--arch", "x86_64,arm,s390x",
                      "--format", "json")
    errors = json.loads(out)["errors"]
    assert [e for e in errors if "bad.h:1" in e] == ["bad.h:1: all arches: expected ';' at end of declaration list"]
    assert [e for e in errors if "only_new.h" in e] == [
        "NEW only_new.h:2: s390x: expected ';' at end of declaration list"]
