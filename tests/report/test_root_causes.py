"""Root-cause blocks: which findings make one block, what its sentence names, what the summary counts."""

from __future__ import annotations

from abiguard.compare.findings import DiffResult, Finding, Severity
from abiguard.report.root_causes import detail_rows, root_causes, summarize_causes, summary_sentence

from .conftest import ARCHES


def _names(pieces: list[tuple[str, bool]]) -> list[str]:
    return [text for text, is_name in pieces if is_name]


def test_user_pt_regs_is_one_block_on_two_arches(result: DiffResult) -> None:
    causes = root_causes(result)
    # Worst first; among equals, the one that reaches more types (user_pt_regs moves bpf_perf_event_data).
    assert [(rc.name, rc.severity, rc.arches) for rc in causes] == [
        ("user_pt_regs", Severity.BREAKING, ("aarch64", "s390x")),
        ("sysinfo", Severity.BREAKING, ("i386", "arm")),
        ("bpf_new", Severity.COMPATIBLE, tuple(ARCHES)),
    ]
    regs = causes[0]
    assert regs.affected_types() == ("bpf_perf_event_data",)
    names = _names(regs.sentence())
    # Root first, then where it is embedded and through what, then the members that move, in offset order.
    assert names == ["user_pt_regs", "bpf_perf_event_data.regs", "bpf_user_pt_regs_t", "sample_period", "addr"]
    summary = summarize_causes(causes)
    assert summary.counts[Severity.BREAKING] == 2 and summary.types[Severity.BREAKING] == 1
    assert summary_sentence(summary, ARCHES).startswith("2 breaking changes on 4 arches, 1 type affected; "
                                                        "1 compatible change on all arches")


def test_details_fold_per_arch_values_into_one_row(result: DiffResult) -> None:
    regs = next(rc for rc in root_causes(result) if rc.name == "user_pt_regs")
    rows = detail_rows(regs)
    assert [(r.target, str(r.kind)) for r in rows] == [
        ("struct user_pt_regs", "size_changed"),
        ("struct bpf_perf_event_data.addr", "member_offset_changed"),
        ("struct bpf_perf_event_data.sample_period", "member_offset_changed"),
    ]
    assert [arches for _, arches in rows[0].values] == [("aarch64",), ("s390x",)]


def test_same_growth_judged_differently_is_two_blocks() -> None:
    def grew(arch: str, severity: Severity) -> Finding:
        return Finding(arch, severity, "size_changed", "struct x", None, 16, 24, "", "struct x", ("x",))

    res = DiffResult(["x86_64", "arm"], [grew("x86_64", Severity.BREAKING), grew("arm", Severity.REVIEW)])
    causes = root_causes(res)
    assert [(rc.severity, rc.arches) for rc in causes] == [(Severity.BREAKING, ("x86_64",)),
                                                          (Severity.REVIEW, ("arm",))]
    ids = {f["root_cause"] for f in res.to_json()["findings"]}
    assert len(ids) == 2


def test_a_constant_change_names_itself_and_its_values() -> None:
    findings = [Finding(a, Severity.BREAKING, "constant_value_changed", "#define FOO", None, 1, 2, "",
                        "#define FOO") for a in ("x86_64", "arm")]
    (rc,) = root_causes(DiffResult(["x86_64", "arm"], findings))
    text = "".join(t for t, _ in rc.sentence())
    assert rc.everywhere and text.startswith("#define FOO") and "1 → 2" in text
    assert rc.affected_types() == ()


def test_waived_blocks_come_last_and_count_apart() -> None:
    findings = [
        Finding("x86_64", Severity.BREAKING, "type_removed", "struct gone", None, None, None, "", "struct gone",
                waived_by="on purpose"),
        Finding("x86_64", Severity.COMPATIBLE, "type_added", "struct new", None, None, None, "", "struct new"),
    ]
    causes = root_causes(DiffResult(["x86_64"], findings))
    assert [(rc.name, rc.waived) for rc in causes] == [("new", False), ("gone", True)]
    assert summary_sentence(summarize_causes(causes), ["x86_64"]) == "1 compatible change on 1 arch; 1 waived"


def test_a_long_cause_names_what_resized_it_and_counts_the_rest() -> None:
    root = "struct big"
    findings = [Finding("x86_64", Severity.BREAKING, "size_changed", root, None, 64, 104, "", root)]
    findings += [Finding("x86_64", Severity.BREAKING, "member_added", root, f"new{i}", None,
                         {"offset": 64 + 8 * i, "size": 8}, "", root) for i in range(5)]
    findings += [Finding("x86_64", Severity.BREAKING, "member_offset_changed", root, f"old{i}", 8 * i, 8 * i + 8,
                         "", root) for i in range(4)]
    (rc,) = root_causes(DiffResult(["x86_64"], findings))
    pieces = rc.sentence()
    assert _names(pieces) == ["big", "new0", "new1", "new2"]  # members that moved are a consequence, not named
    assert "and 2 more" in "".join(t for t, _ in pieces)
