"""The struct patterns on the real Linux 6.1 UAPI: the upstream edits that wrapped members in anonymous
unions (bpf_attr link_create/query, bpf_fib_lookup's mark, tc_u32_sel's __struct_group), a fake flexible
array made real, bpf_attr growing at the end -- and real breaks next to them -- read by the kernel reader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from kernel.conftest import make_mini_tree

from abiguard.compare import DiffResult, run_diff
from abiguard.compare.findings import Severity
from abiguard.model import get_target
from abiguard.sources import SourceOptions, load_source

from .conftest import only

pytestmark = pytest.mark.slow

BPF = "include/uapi/linux/bpf.h"
PKT_CLS = "include/uapi/linux/pkt_cls.h"
ISST = "include/uapi/linux/isst_if.h"
ROOTS = ("linux/bpf.h", "linux/pkt_cls.h", "linux/isst_if.h")

# The 6.1 text each upstream edit starts from and what upstream made of it.
QUERY_OLD = "\t\t__aligned_u64\tprog_ids;\n\t\t__u32\t\tprog_cnt;\n"
QUERY_NEW = "\t\t__aligned_u64\tprog_ids;\n\t\tunion {\n\t\t\t__u32\tprog_cnt;\n\t\t\t__u32\tcount;\n\t\t};\n"
LINK_OLD = "\t\t__u32\t\tprog_fd;\t/* eBPF program to attach */\n"
LINK_NEW = "\t\tunion {\n\t\t\t__u32\t\tprog_fd;\n\t\t\t__u32\t\tmap_fd;\n\t\t};\n"
FIB_OLD = "\t__u8\tsmac[6];     /* ETH_ALEN */\n\t__u8\tdmac[6];     /* ETH_ALEN */\n};"
FIB_NEW = ("\tunion {\n\t\tstruct {\n\t\t\t__u32\tmark;\n\t\t};\n\t\tstruct {\n\t\t\t__u8\tsmac[6];\n"
           "\t\t\t__u8\tdmac[6];\n\t\t};\n\t};\n};")
SEL_MEMBERS = ("\tunsigned char\t\tflags;\n\tunsigned char\t\toffshift;\n\tunsigned char\t\tnkeys;\n\n"
               "\t__be16\t\t\toffmask;\n\t__u16\t\t\toff;\n\tshort\t\t\toffoff;\n\n"
               "\tshort\t\t\thoff;\n\t__be32\t\t\thmask;\n")
SEL_OLD = "struct tc_u32_sel {\n" + SEL_MEMBERS + "\tstruct tc_u32_key\tkeys[];\n};"
SEL_NEW = ("struct tc_u32_sel {\n\t__struct_group(tc_u32_sel_hdr, hdr, /* no attrs */,\n" + SEL_MEMBERS
           + "\t);\n\tstruct tc_u32_key\tkeys[];\n};")
ISST_OLD = "\tstruct isst_if_cpu_map cpu_map[1];\n"
ISST_NEW = "\tstruct isst_if_cpu_map cpu_map[];\n"
# bpf_attr growing at its end: a member appended to the BPF_LINK_CREATE struct beyond the union's size.
LINK_TAIL_OLD = "\t} link_create;\n"
LINK_TAIL_NEW = "\t\t__u64\t\tfuture[32];\n\t} link_create;\n"
# Real breaks in the same structs.
SPORT_OLD = "\t__u8\tl4_protocol;\n\t__be16\tsport;\n\t__be16\tdport;\n"
SPORT_NEW = "\t__u8\tl4_protocol;\n\t__be16\tdport;\n\t__be16\tsport;\n"
HOFF_OLD = "\tshort\t\t\thoff;\n\t__be32\t\t\thmask;\n\tstruct tc_u32_key\tkeys[];\n"
HOFF_NEW = "\t__be32\t\t\thmask;\n\tstruct tc_u32_key\tkeys[];\n"

Edit = tuple[str, str, str]


def _edit(tree: Path, edits: list[Edit]) -> None:
    for rel, old, new in edits:
        path = tree / rel
        text = path.read_text()
        assert text.count(old) == 1, f"{rel}: the 6.1 text {old!r} is not there exactly once"
        path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def diff_61(linux_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[list[Edit]], DiffResult]:
    """diff_61(edits): the 6.1 mini tree (x86) against a copy with the edits, on x86_64."""
    base = make_mini_tree(linux_source, tmp_path_factory.mktemp("base"), karch="x86", roots=ROOTS)
    options = SourceOptions(use_cache=False)
    old = load_source(f"kernel:{base}", [get_target("x86_64")], options)

    def run(edits: list[Edit]) -> DiffResult:
        tree = make_mini_tree(linux_source, tmp_path_factory.mktemp("edited"), karch="x86", roots=ROOTS)
        _edit(tree, edits)
        return run_diff(old, load_source(f"kernel:{tree}", [get_target("x86_64")], options))

    return run


def test_upstream_aliases_flexible_array_and_bpf_attr_growth_are_not_breaking(diff_61) -> None:
    result = diff_61([(BPF, QUERY_OLD, QUERY_NEW), (BPF, LINK_OLD, LINK_NEW), (BPF, FIB_OLD, FIB_NEW),
                      (PKT_CLS, SEL_OLD, SEL_NEW), (ISST, ISST_OLD, ISST_NEW), (BPF, LINK_TAIL_OLD, LINK_TAIL_NEW)])
    breaking = [f"{f.type}.{f.member} {f.kind}: {f.message}" for f in result.findings
                if f.severity == Severity.BREAKING]
    assert not breaking, breaking
    assert not [e for e in result.errors if e.startswith(("OLD ", "NEW "))], result.errors

    count = only(result, type="union bpf_attr", member="query.count")
    assert count.severity == Severity.COMPATIBLE
    assert "was added as an alias of query.prog_cnt, sharing its storage; no member moved" in count.message
    assert only(result, type="union bpf_attr", member="link_create.map_fd").severity == Severity.COMPATIBLE
    mark = only(result, type="struct bpf_fib_lookup", member="mark")
    assert mark.severity == Severity.COMPATIBLE and "alias of smac" in mark.message
    assert only(result, type="struct tc_u32_sel", member="hdr").severity == Severity.COMPATIBLE

    flexible = only(result, type="struct isst_if_cpu_maps", kind="array_made_flexible")
    assert flexible.severity == Severity.COMPATIBLE
    shrank = only(result, type="struct isst_if_cpu_maps", kind="size_changed")
    assert (shrank.old, shrank.new, shrank.severity) == (12, 4, Severity.COMPATIBLE)

    grew = only(result, type="union bpf_attr", kind="size_changed")
    assert grew.new > grew.old and grew.severity == Severity.COMPATIBLE
    assert "appending is safe: bpf(2) passes sizeof(union bpf_attr)" in grew.message


def test_reorder_and_removal_in_the_same_structs_stay_breaking(diff_61) -> None:
    result = diff_61([(BPF, SPORT_OLD, SPORT_NEW), (PKT_CLS, HOFF_OLD, HOFF_NEW), (BPF, QUERY_OLD, QUERY_NEW)])
    assert result.verdict == Severity.BREAKING
    sport = only(result, type="struct bpf_fib_lookup", member="sport")
    assert (sport.kind, sport.severity) == ("member_moved", Severity.BREAKING)
    hoff = only(result, type="struct tc_u32_sel", member="hoff")
    assert (hoff.kind, hoff.severity) == ("member_removed", Severity.BREAKING)
    assert only(result, type="union bpf_attr", member="query.count").severity == Severity.COMPATIBLE
