"""scripts/github-action.sh (what action.yml runs), with a fake GITHUB_STEP_SUMMARY and the project's abiguard."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "github-action.sh"
EXAMPLE = ROOT / "examples" / "user_pt_regs-2022"
ABIGUARD = Path(sys.executable).with_name("abiguard")


def _run(tmp: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], str, dict[str, str]]:
    summary, outputs = tmp / "summary.md", tmp / "outputs.txt"
    summary.write_text("earlier step\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ABIGUARD_"))}
    env.update(GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(outputs), ABIGUARD_BIN=str(ABIGUARD),
               **{f"ABIGUARD_{k.upper()}": v for k, v in inputs.items()})
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines()) if outputs.exists() else {}
    return proc, summary.read_text(), values


def test_breaking_change_fails_the_step_with_summary_and_sarif(tmp_path: Path) -> None:
    sarif = tmp_path / "out" / "abiguard.sarif"
    proc, summary, outputs = _run(tmp_path, old=str(EXAMPLE / "before"), new=str(EXAMPLE / "after"),
                                  arch="x86_64,aarch64,s390x", sarif=str(sarif))
    assert proc.returncode == 1, proc.stderr
    # The summary is appended to, not replaced; it holds the Markdown report.
    assert summary.startswith("earlier step\n## ")
    assert "**breaking**" in summary.splitlines()[1] and "<details>" in summary
    log = json.loads(sarif.read_text())
    assert log["version"] == "2.1.0" and log["runs"][0]["results"]
    assert outputs == {"exit-code": "1", "sarif": str(sarif)}
    # The text report is in the log, and an error annotation marks the step.
    assert proc.stdout.startswith("abiguard diff: BREAKING")
    assert "::error title=abiguard::" in proc.stdout


def test_fail_on_review_and_an_identical_diff(tmp_path: Path) -> None:
    proc, summary, outputs = _run(tmp_path, old=str(EXAMPLE / "before"), new=str(EXAMPLE / "before"),
                                  arch="x86_64", **{"fail_on": "review"})
    assert proc.returncode == 0, proc.stderr
    assert "identical" in summary.splitlines()[1] and outputs["exit-code"] == "0"
    assert "::error" not in proc.stdout


def test_bad_input_is_exit_2_with_one_error_line(tmp_path: Path) -> None:
    sarif = tmp_path / "abiguard.sarif"
    proc, summary, outputs = _run(tmp_path, old=str(tmp_path / "missing"), new=str(EXAMPLE / "after"),
                                  arch="x86_64", sarif=str(sarif))
    assert proc.returncode == 2
    assert re.search(r"^abiguard: error: .*missing", proc.stderr, re.M)
    assert "## abiguard: error" in summary and not sarif.exists() and outputs == {}


def test_action_yml_passes_every_input_to_the_script() -> None:
    text = (ROOT / "action.yml").read_text()
    declared = re.findall(r"^  ([a-z-]+):\n    description:", text.split("\noutputs:")[0], re.M)
    assert declared == ["old", "new", "arch", "fail-on", "waivers", "sarif"]
    for name in declared:
        env = "ABIGUARD_" + name.upper().replace("-", "_")
        assert f"{env}: ${{{{ inputs.{name} }}}}" in text
        assert env in SCRIPT.read_text()
    assert "scripts/github-action.sh" in text and "using: composite" in text
