"""Every output format: well-formed, deterministic, colour only when asked, input escaped."""

from __future__ import annotations

import json
import random
from html.parser import HTMLParser

import pytest

from abiguard.compare.findings import DiffResult, Finding, Severity
from abiguard.errors import AbiguardError
from abiguard.report import DIFF_FORMATS, render_diff

from .conftest import ARCHES


def _shuffled(result: DiffResult, seed: int) -> DiffResult:
    findings = list(result.findings)
    random.Random(seed).shuffle(findings)
    return DiffResult(list(result.arches), findings, list(result.errors))


@pytest.mark.parametrize("fmt", DIFF_FORMATS)
def test_output_does_not_depend_on_finding_order(result: DiffResult, fmt: str) -> None:
    first = render_diff(result, fmt)
    for seed in range(5):
        assert render_diff(_shuffled(result, seed), fmt) == first


def test_json_is_exactly_the_contract(result: DiffResult) -> None:
    data = json.loads(render_diff(result, "json"))
    assert data == result.to_json()
    assert data["verdict"] == "breaking"
    # One object per arch: the merged text view must not leak into the public JSON.
    assert sum(1 for f in data["findings"] if f["type"] == "struct bpf_new") == len(ARCHES)


def test_text_prints_each_root_cause_once_with_its_arches(result: DiffResult) -> None:
    text = render_diff(result, "text")
    assert text.startswith("abiguard diff: BREAKING")
    heads = [line for line in text.splitlines() if line.startswith(("BREAKING", "COMPATIBLE"))]
    # One block per root cause: user_pt_regs grew alike on two arches, so one block covers both.
    # Worst first; among breaking ones, the change that reaches other types first.
    assert [h.replace(":", " ").split()[:2] for h in heads] == [["BREAKING", "user_pt_regs"],
                                                                ["BREAKING", "sysinfo"], ["COMPATIBLE", "bpf_new"]]
    lines = text.splitlines()
    where = [lines[lines.index(h) + 1].split("]")[0] for h in heads]
    assert where == ["  [only on: aarch64, s390x", "  [only on: i386, arm", "  [all arches"]
    assert text.count("struct bpf_new  type_added") == 1
    assert "chain: user_pt_regs -> bpf_user_pt_regs_t -> bpf_perf_event_data.regs" in text
    assert "include/bad.h:1: error: unknown type name 'x'" in text


def test_text_colour_only_when_asked(result: DiffResult) -> None:
    assert "\x1b[" not in render_diff(result, "text")
    assert "\x1b[" not in render_diff(result, "text", color=False)
    coloured = render_diff(result, "text", color=True)
    assert "\x1b[" in coloured
    for fmt in ("json", "markdown", "sarif", "html"):
        assert "\x1b[" not in render_diff(result, fmt, color=True)


def test_identical_result_renders_everywhere() -> None:
    empty = DiffResult(list(ARCHES))
    assert render_diff(empty, "text").startswith("abiguard diff: IDENTICAL")
    assert json.loads(render_diff(empty, "json"))["verdict"] == "identical"
    assert json.loads(render_diff(empty, "sarif"))["runs"][0]["results"] == []
    assert "identical" in render_diff(empty, "markdown").splitlines()[0]


def _md_table_rows(md: str) -> list[list[str]]:
    rows = []
    for line in md.splitlines():
        if line.startswith("|"):
            # Split on pipes not escaped with a backslash, as GFM does.
            cells, cur, esc = [], "", False
            for ch in line.strip()[1:-1]:
                if ch == "|" and not esc:
                    cells.append(cur)
                    cur = ""
                else:
                    cur += ch
                esc = ch == "\\" and not esc
            cells.append(cur)
            rows.append(cells)
    return rows


def test_markdown_root_causes_first_details_folded(result: DiffResult) -> None:
    hostile = Finding("x86_64", Severity.REVIEW, "size_changed", "struct a|b", None, 8, 16, "grew | *x* <b>",
                      "struct a|b")
    md = render_diff(DiffResult(list(result.arches), [*result.findings, hostile], []), "markdown")
    first = md.splitlines()[0]
    assert first.startswith("## ") and "**breaking**" in first and "aarch64" in first
    # Root causes, not findings, are counted: sysinfo and user_pt_regs break, struct a|b is for review.
    assert "### \u274c Breaking (2)" in md and "Review (1)" in md
    causes = [line for line in md.splitlines() if line.startswith("- ")]
    assert len(causes) == 4 and "`user_pt_regs`" in causes[0] and "`sample_period`" in causes[0]
    assert md.count("<details>") == md.count("</details>") == 2  # compatible causes, then the details table
    rows = _md_table_rows(md)
    assert rows and all(len(r) == 4 for r in rows)
    # user_pt_regs' size on aarch64 and s390x is one row naming both values.
    (size_row,) = [r for r in rows if r[0].strip().endswith("user_pt_regs`") and r[1].strip() == "size\\_changed"]
    assert "aarch64: 272 \u2192 280" in size_row[2] and "s390x: 152 \u2192 160" in size_row[2]
    assert "<b>" not in md  # raw HTML from a finding never reaches the comment


def test_sarif_is_valid_2_1_0(result: DiffResult) -> None:
    waived = Finding("arm", Severity.BREAKING, "type_removed", "struct old", None, None, None, "removed",
                     "struct old", location="include/uapi/old.h:7", waived_by="removed on purpose")
    log = json.loads(render_diff(DiffResult(list(result.arches), [*result.findings, waived], []), "sarif"))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(set(ids)) == ["member_offset_changed", "size_changed", "type_added", "type_removed"]
    levels = {}
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        levels[res["properties"]["type"]] = res["level"]
        for loc in res["locations"]:
            phys = loc["physicalLocation"]
            assert phys["artifactLocation"]["uri"] and phys["region"]["startLine"] >= 1
    assert levels["struct bpf_perf_event_data"] == "error"
    assert levels["struct bpf_new"] == "note"
    (gone,) = [r for r in run["results"] if r["ruleId"] == "type_removed"]
    assert gone["suppressions"] == [{"kind": "external", "justification": "removed on purpose"}]
    assert gone["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    (sysinfo,) = [r for r in run["results"] if r["properties"]["type"] == "struct sysinfo"]
    assert sysinfo["locations"] == [] and sysinfo["properties"]["arches"] == ["i386", "arm"]


_VOID_TAGS = frozenset({"meta", "br", "hr", "img", "input", "link"})


class _Checker(HTMLParser):

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in _VOID_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")


def test_html_is_well_formed_and_escaped(result: DiffResult) -> None:
    evil = Finding("x86_64", Severity.BREAKING, "type_removed", "struct <script>alert(1)</script>", None, None,
                   None, "a & b", "struct <script>alert(1)</script>")
    page = render_diff(DiffResult(list(result.arches), [*result.findings, evil], ["<img src=x>"]), "html")
    assert page.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert "script" not in checker.tags and "img" not in checker.tags
    assert "&lt;script&gt;" in page and "&lt;img src=x&gt;" in page
    assert page.count("<section") == 4  # one per root cause
    assert page.count("<details") == 4  # its findings folded


def test_unknown_format_is_a_user_error(result: DiffResult) -> None:
    with pytest.raises(AbiguardError, match="unknown format"):
        render_diff(result, "yaml")


def test_long_error_lists_are_capped_in_human_reports(result: DiffResult) -> None:
    errors = [f"include/h{i:03}.h:1: error: needs <sys/socket.h>" for i in range(120)]
    many = DiffResult(list(result.arches), list(result.findings), errors)
    text = render_diff(many, "text")
    assert "errors (120):" in text and "h019.h" in text and "h020.h" not in text
    assert "... and 100 more (--format json lists all)" in text
    md = render_diff(many, "markdown")
    assert "<summary>Errors (120)</summary>" in md and "h049.h" in md and "h050.h" not in md
    assert md.count("<details>") == md.count("</details>")
    assert json.loads(render_diff(many, "json"))["errors"] == errors
    sarif = json.loads(render_diff(many, "sarif"))
    assert len(sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]) == 120


def test_markdown_stays_under_the_comment_limit() -> None:
    # Thousands of root causes (a kernel-wide diff): the comment still fits GitHub's 65,536 characters.
    findings = []
    for i in range(3000):
        root = f"struct type_with_a_rather_long_name_{i:04}"
        for arch in ARCHES:
            findings.append(Finding(arch, Severity.BREAKING, "size_changed", root, None, i, i + 8, "", root))
            findings.append(Finding(arch, Severity.BREAKING, "member_offset_changed", root, f"member_{i}", i,
                                    i + 8, "", root))
    md = render_diff(DiffResult(list(ARCHES), findings, [f"note {i}" for i in range(80)]), "markdown")
    assert len(md) < 65_536
    assert md.count("<details>") == md.count("</details>") and "more | (the JSON report lists all)" in md


def test_html_keeps_details_for_the_first_root_causes_only() -> None:
    from abiguard.report import html

    findings = [Finding("x86_64", Severity.COMPATIBLE, "type_added", f"struct t{i:04}", None, None, None, "",
                        f"struct t{i:04}") for i in range(html.MAX_SECTIONS + 7)]
    page = render_diff(DiffResult(["x86_64"], findings), "html")
    assert page.count("<section") == html.MAX_SECTIONS
    assert "<h2>7 more root causes</h2>" in page and page.count('<li id="rc-') == 7
