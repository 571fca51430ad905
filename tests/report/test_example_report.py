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
ARCHES = "x86_64,i386,aarch64,s390x,arm"


@pytest.fixture(scope="module")
def example_result() -> DiffResult:
    targets = parse_arch_list(ARCHES)
    opts = SourceOptions(use_cache=False)
    old = load_source(str(EXAMPLE / "before"), targets, opts)
    new = load_source(str(EXAMPLE / "after"), targets, opts)
    return run_diff(old, new)


def test_text_groups_each_root_once_with_its_arch(example_result: DiffResult) -> None:
    text = render_diff(example_result, "text")
    headers = [line for line in text.splitlines() if line and not line.startswith((" ", "abiguard"))]
    # s390x's user_pt_regs is a typedef of an anonymous struct, aarch64's a tagged struct: two roots.
    assert headers == ["BREAKING  struct user_pt_regs  [only on: aarch64]", "BREAKING  user_pt_regs  [only on: s390x]"]
    assert text.count("chain: user_pt_regs -> bpf_user_pt_regs_t -> bpf_perf_event_data.regs") >= 2
    assert "struct bpf_perf_event_data.sample_period  member_offset_changed  152 -> 160  [only on: s390x]" in text
    assert "struct bpf_perf_event_data.sample_period  member_offset_changed  272 -> 280  [only on: aarch64]" in text
    assert "ptrace_regs_area" not in text  # pointer-only user: nothing moved


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
