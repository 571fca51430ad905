"""`--format junit`: the JUnit XML shape Jenkins and GitLab read, one case per changed type and arch group."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

from abiguard.compare.findings import DiffResult, Finding, Severity
from abiguard.report import render_diff

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_pt_regs-2022"
_CASE_CHILDREN = {"failure", "error", "skipped", "system-out", "system-err"}


def _suite(xml: str) -> ET.Element:
    """Parse and check the structure test views rely on; the one testsuite."""
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    for attr, count in (("tests", len(cases)),
                        ("failures", sum(1 for c in cases if c.find("failure") is not None)),
                        ("skipped", sum(1 for c in cases if c.find("skipped") is not None)),
                        ("errors", sum(1 for c in cases if c.find("error") is not None))):
        assert int(suite.get(attr, "-1")) == count == int(root.get(attr, "-1")), attr
    for case in cases:
        assert case.get("name") and (case.get("classname") or "").startswith("abiguard.")
        assert {child.tag for child in case} <= _CASE_CHILDREN
        assert sum(1 for child in case if child.tag in ("failure", "error", "skipped")) <= 1
        for failure in case.findall("failure"):
            assert failure.get("message") and failure.get("type") and failure.text
    return suite


def _cases(suite: ET.Element) -> dict[tuple[str, str], str]:
    """(name, classname) -> pass | failure | skipped."""
    out = {}
    for case in suite.findall("testcase"):
        outcome = next((c.tag for c in case if c.tag in ("failure", "skipped", "error")), "pass")
        out[(case.get("name", ""), case.get("classname", ""))] = outcome
    return out


def test_breaking_fails_waived_skips_quiet_arches_pass(result: DiffResult) -> None:
    waived = Finding("x86_64", Severity.BREAKING, "type_removed", "struct old", None, None, None, "removed",
                     "struct old", waived_by="removed on purpose")
    review = Finding("x86_64", Severity.REVIEW, "size_changed", "struct grows", None, 8, 16, "grew",
                     "struct grows")
    res = DiffResult(list(result.arches), [*result.findings, waived, review], list(result.errors))
    suite = _suite(render_diff(res, "junit"))
    cases = _cases(suite)
    assert cases[("user_pt_regs", "abiguard.aarch64-s390x")] == "failure"
    assert cases[("bpf_perf_event_data", "abiguard.aarch64-s390x")] == "failure"
    assert cases[("sysinfo", "abiguard.i386-arm")] == "failure"
    assert cases[("bpf_new", "abiguard.all-arches")] == "pass"
    assert cases[("old", "abiguard.x86_64")] == "skipped"
    assert cases[("grows", "abiguard.x86_64")] == "pass"  # review is below the default --fail-on
    assert suite.find("system-err") is not None  # reader notes are kept
    # --fail-on review turns the review case into a failure and nothing else changes.
    stricter = _cases(_suite(render_diff(res, "junit", fail_on="review")))
    assert stricter[("grows", "abiguard.x86_64")] == "failure"
    assert {k: v for k, v in stricter.items() if k[0] != "grows"} == {k: v for k, v in cases.items()
                                                                       if k[0] != "grows"}


def test_cli_junit_for_the_bundled_example(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("abiguard")
    out = tmp_path / "abi.xml"
    proc = subprocess.run([str(exe), "diff", str(EXAMPLE / "before"), str(EXAMPLE / "after"), "--arch",
                           "x86_64,aarch64,s390x", "--format", "junit", "-o", str(out)], capture_output=True,
                          text=True)
    assert proc.returncode == 1, proc.stderr
    cases = _cases(_suite(out.read_text()))
    assert cases == {("bpf_perf_event_data", "abiguard.aarch64-s390x"): "failure",
                     ("user_pt_regs", "abiguard.aarch64-s390x"): "failure",
                     ("no ABI change", "abiguard.x86_64"): "pass"}
