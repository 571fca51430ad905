"""`--format sarif` validated against the official SARIF 2.1.0 JSON schema (shipped in tests/report/data)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from abiguard.compare.findings import DiffResult, Finding, Severity
from abiguard.report import render_diff

jsonschema = pytest.importorskip("jsonschema")

SCHEMA = Path(__file__).with_name("data") / "sarif-schema-2.1.0.json"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_pt_regs-2022"


def _errors(log: dict[str, object]) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]


def test_the_schema_rejects_what_it_should() -> None:
    # The validator is live: a log without runs, or a result level SARIF does not know, is refused.
    assert _errors({"version": "2.1.0"})
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                                         "results": [{"message": {"text": "t"}, "level": "fatal"}]}]}
    assert any("level" in e for e in _errors(bad))


def test_renderer_output_is_valid(result: DiffResult) -> None:
    waived = Finding("arm", Severity.BREAKING, "type_removed", "struct old", None, None, None, "removed",
                     "struct old", location="/abs path/include/uapi/old.h:7:3", waived_by="removed on purpose")
    full = DiffResult(list(result.arches), [*result.findings, waived], list(result.errors))
    for res in (full, DiffResult(list(result.arches))):
        log = json.loads(render_diff(res, "sarif"))
        assert _errors(log) == []


def test_cli_sarif_for_the_bundled_example_is_valid(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("abiguard")
    out = tmp_path / "abi.sarif"
    proc = subprocess.run([str(exe), "diff", str(EXAMPLE / "before"), str(EXAMPLE / "after"), "--arch",
                           "aarch64,s390x", "--format", "sarif", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    log = json.loads(out.read_text())
    assert _errors(log) == []
    results = log["runs"][0]["results"]
    assert {r["level"] for r in results} == {"error"}
    # Results of one change on both arches carry the root-cause id the JSON report gives them.
    assert len({r["properties"]["root_cause"] for r in results}) == 1
