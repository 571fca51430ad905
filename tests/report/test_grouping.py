"""Cross-arch merging and root-cause grouping."""

from __future__ import annotations

from abiguard.compare.findings import DiffResult, Finding, Severity
from abiguard.model.target import sort_arches
from abiguard.report.grouping import group_by_root, merge_findings

from .conftest import ARCHES, CHAIN


def test_same_change_on_every_arch_is_one_entry(result: DiffResult) -> None:
    merged = [m for m in merge_findings(result.findings, result.arches) if m.type == "struct bpf_new"]
    assert len(merged) == 1
    assert merged[0].arches == tuple(ARCHES)
    assert merged[0].everywhere
    assert merged[0].arch_label() == "all arches"


def test_arch_only_change_names_its_arches(result: DiffResult) -> None:
    (m,) = [m for m in merge_findings(result.findings, result.arches) if m.type == "struct sysinfo"]
    assert m.arches == ("i386", "arm")
    assert not m.everywhere
    assert m.arch_label() == "only on: i386, arm"


def test_different_values_on_different_arches_stay_apart(result: DiffResult) -> None:
    sizes = [m for m in merge_findings(result.findings, result.arches) if m.kind == "size_changed"]
    assert sorted((m.old, m.arches) for m in sizes) == [(152, ("s390x",)), (272, ("aarch64",))]


def test_one_root_holds_all_its_effects(result: DiffResult) -> None:
    groups = group_by_root(result.findings, result.arches)
    roots = [g.root for g in groups]
    assert len(roots) == len(set(roots))
    (regs,) = [g for g in groups if g.root == "struct user_pt_regs"]
    assert regs.arches == ("aarch64", "s390x")
    assert {c.old for c in regs.causes()} == {152, 272}
    assert {(e.member, e.chain) for e in regs.effects()} == {("sample_period", CHAIN), ("addr", CHAIN)}
    assert len(regs.effects()) == 4  # two members x two distinct per-arch offsets


def test_worst_roots_first_and_waived_last() -> None:
    findings = [
        Finding("x86_64", Severity.COMPATIBLE, "type_added", "struct a", None, None, None, "", "struct a"),
        Finding("x86_64", Severity.BREAKING, "type_removed", "struct z", None, None, None, "", "struct z",
                waived_by="gone on purpose"),
        Finding("x86_64", Severity.REVIEW, "size_changed", "struct m", None, 8, 16, "", "struct m"),
    ]
    groups = group_by_root(findings, ["x86_64"])
    assert [g.root for g in groups] == ["struct m", "struct a", "struct z"]
    assert groups[-1].waived


def test_different_chains_are_not_merged() -> None:
    def make(arch: str, chain: tuple[str, ...]) -> Finding:
        return Finding(arch, Severity.BREAKING, "member_offset_changed", "struct b", "x", 0, 8, "", "struct a", chain)

    merged = merge_findings([make("x86_64", ("a", "b.x")), make("i386", ("a", "t", "b.x"))], ["x86_64", "i386"])
    assert len(merged) == 2


def test_arch_order_follows_the_model() -> None:
    assert sort_arches(["s390x", "x86_64", "arm", "bpfel", "i386", "x86_64"]) == ("x86_64", "i386", "arm", "s390x",
                                                                                  "bpfel")
