"""Reports of a real diff: the bundled 2022 example parsed per arch with libclang, then rendered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from abiguard.compare import DiffResult, run_diff
from abiguard.model import parse_arch_list
from abiguard.report import render_diff
from abiguard.sources import SourceOptions, load_source

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_pt_regs-2022"
ARCHES = "all"


@pytest.fixture(scope="module")
def example_result() -> DiffResult:
    targets = parse_arch_list(ARCHES)
    opts = SourceOptions(use_cache=False)
    old = load_source(str(EXAMPLE / "before"), targets, opts)
    new = load_source(str(EXAMPLE / "after"), targets, opts)
    return run_diff(old, new)


def test_one_root_cause_for_both_arches(example_result: DiffResult) -> None:
    # s390x's user_pt_regs is a typedef of an anonymous struct, aarch64's a tagged struct, and a different
    # member was appended on each: still one change (grew by 8), so one root-cause id for all 12 findings.
    findings = example_result.to_json()["findings"]
    assert len(findings) == 12 and {f["arch"] for f in findings} == {"aarch64", "s390x"}
    assert len({f["root_cause"] for f in findings}) == 1
    assert {f["root"] for f in findings} == {"struct user_pt_regs", "user_pt_regs"}
    text = render_diff(example_result, "text")
    heads = [line for line in text.splitlines() if line and not line.startswith((" ", "abiguard"))]
    assert len(heads) == 1 and heads[0].startswith("BREAKING  user_pt_regs ")
    # The one sentence names the cause on each arch, the chain and what moved, in that order.
    names = ["orig_x0", "orig_gpr2", "bpf_perf_event_data.regs", "bpf_user_pt_regs_t", "sample_period", "addr"]
    positions = [heads[0].index(n) for n in names]
    assert positions == sorted(positions)
    assert "chain: user_pt_regs -> bpf_user_pt_regs_t -> bpf_perf_event_data.regs" in text
    assert "ptrace_regs_area" not in text  # pointer-only user: nothing moved


def test_markdown_is_short_and_counts_causes(example_result: DiffResult) -> None:
    md = render_diff(example_result, "markdown")
    lines = md.splitlines()
    assert len(lines) <= 30
    assert "1 breaking change on 2 arches, 1 type affected" in md
    (cause,) = [line for line in lines if line.startswith("- ")]
    assert "`orig_x0`" in cause and "`orig_gpr2`" in cause and "`sample_period`" in cause
    # Every member on every arch is in the folded details, one row per member and kind.
    details = md[md.index("<details>"):md.index("</details>")]
    assert details.count("\n| `") == 7 and "sample\\_period" not in details


def test_every_format_renders_the_real_result(example_result: DiffResult) -> None:
    assert json.loads(render_diff(example_result, "json")) == example_result.to_json()
    sarif = json.loads(render_diff(example_result, "sarif"))
    errors = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    assert {a for r in errors for a in r["properties"]["arches"]} == {"s390x", "aarch64"}
    md = render_diff(example_result, "markdown")
    assert md.splitlines()[0].endswith("**breaking** on aarch64, s390x")
    assert "<details>" in render_diff(example_result, "html") or "<details open>" in render_diff(example_result, "html")


def test_cli_colour_only_on_a_terminal(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("abiguard")
    cmd = [str(exe), "diff", str(EXAMPLE / "before"), str(EXAMPLE / "after"), "--arch", "s390x,x86_64"]
    piped = subprocess.run(cmd, capture_output=True, text=True)
    assert piped.returncode == 1, piped.stderr
    assert "\x1b[" not in piped.stdout and piped.stdout.startswith("abiguard diff: BREAKING")
    out = tmp_path / "report.md"
    written = subprocess.run([*cmd, "--format", "markdown", "-o", str(out)], capture_output=True, text=True)
    assert written.returncode == 1 and written.stdout == ""
    assert out.read_text().startswith("## ")
