"""Waivers: matching by type/member/arch/kind, expiry, and never silencing another link of a chain."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from abiguard.compare import load_waivers
from abiguard.compare.findings import Severity
from abiguard.errors import AbiguardError

from .conftest import DiffC, only

OLD = "struct inner { __u32 a; };\nstruct outer { struct inner in; __u32 after; };\n"
NEW = OLD.replace("__u32 a;", "__u32 a; __u32 b;")
TODAY = dt.date(2026, 6, 1)


def _waivers(tmp_path: Path, text: str, today: dt.date = TODAY):
    path = tmp_path / "waivers.toml"
    path.write_text(text)
    return load_waivers(path, today)


def test_waiver_silences_exactly_its_finding(diff_c: DiffC, tmp_path: Path) -> None:
    w = _waivers(tmp_path, """
[[waiver]]
type = "struct outer"
member = "after"
kind = "member_offset_changed"
arch = "x86_64"
reason = "outer is private to one program"
expires = 2026-12-31
""")
    result = diff_c(OLD, NEW, waivers=w)
    assert only(result, member="after").waived_by == "outer is private to one program"
    # the other effects and the root cause are still reported, so the verdict stays breaking
    assert only(result, member="in", type="struct outer").waived_by is None
    assert result.verdict == Severity.BREAKING
    waived_json = [f for f in result.to_json()["findings"] if "waived" in f]
    assert [(f["member"], f["waived"]) for f in waived_json] == [("after", "outer is private to one program")]


def test_waiver_for_other_arch_or_kind_does_not_match(diff_c: DiffC, tmp_path: Path) -> None:
    w = _waivers(tmp_path, """
[[waiver]]
type = "struct outer"
member = "after"
arch = ["s390x", "aarch64"]
reason = "other arches"
expires = 2026-12-31

[[waiver]]
type = "outer"
member = "after"
kind = "member_removed"
reason = "other kind"
expires = 2026-12-31
""")
    result = diff_c(OLD, NEW, waivers=w)
    assert all(f.waived_by is None for f in result.findings)


def test_waiving_the_root_cause_does_not_silence_its_effects(diff_c: DiffC, tmp_path: Path) -> None:
    w = _waivers(tmp_path, """
[[waiver]]
type = "struct inner"
reason = "inner grew on purpose"
expires = 2026-12-31
""")
    result = diff_c(OLD, NEW, waivers=w)
    root_findings = [f for f in result.findings if f.type == "struct inner"]
    assert root_findings and all(f.waived_by for f in root_findings)
    effects = [f for f in result.findings if f.type == "struct outer"]
    assert effects and all(f.waived_by is None for f in effects)
    assert result.verdict == Severity.BREAKING


def test_all_findings_waived_lowers_the_verdict(diff_c: DiffC, tmp_path: Path) -> None:
    w = _waivers(tmp_path, """
[[waiver]]
type = "struct inner"
reason = "known"
expires = 2026-12-31

[[waiver]]
type = "struct outer"
reason = "known"
expires = 2026-12-31
""")
    result = diff_c(OLD, NEW, waivers=w)
    assert result.verdict == Severity.IDENTICAL
    assert all(f.waived_by == "known" for f in result.findings)


def test_expired_waiver_is_reported_and_does_not_apply(diff_c: DiffC, tmp_path: Path) -> None:
    w = _waivers(tmp_path, """
[[waiver]]
type = "struct outer"
member = "after"
reason = "temporary"
expires = 2026-01-31
""")
    result = diff_c(OLD, NEW, waivers=w)
    assert only(result, member="after").waived_by is None
    assert any("expired on 2026-01-31" in e and "temporary" in e for e in result.errors)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[waiver]]\ntype = 'x'\nexpires = 2026-01-01\n", "missing 'reason'"),
        ("[[waiver]]\ntype = 'x'\nreason = 'r'\nexpires = 'soon'\n", "not a date"),
        ("[[waiver]]\ntype = 'x'\nreason = 'r'\nexpires = 2026-01-01\ncolour = 1\n", "unknown key"),
        ("[[waiver]]\ntype = 'x'\nreason = 'r'\nexpires = 2026-01-01\narch = 'vax'\n", "unknown architecture"),
        ("[[waiver]]\ntype = 'x'\nreason = 'r'\nexpires = 2026-01-01\nkind = 'member_shifted'\n", "unknown kind"),
        ("[[waiver\n", "not valid TOML"),
    ],
)
def test_bad_waiver_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(AbiguardError) as err:
        _waivers(tmp_path, text)
    assert message in str(err.value)
    assert str(tmp_path / "waivers.toml") in str(err.value)

