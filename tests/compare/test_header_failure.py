"""A header that stops compiling (issue 11, pattern 5): one breaking finding of its own, naming the
error and the headers that include it; what the failure hides is not judged, never "removed"."""

from __future__ import annotations

from pathlib import Path

from abiguard.compare import run_diff
from abiguard.compare.findings import DiffResult, Severity
from abiguard.model import get_target
from abiguard.sources import SourceOptions
from abiguard.sources.clang.headers import read_headers

from .conftest import only

B = Severity.BREAKING

HELPER = """#ifndef B_H
#define B_H
#define B_FLAG 4
struct delegation { %s d_flags; unsigned short d_type; };
struct open_how { unsigned long long flags; };
#endif
"""
USER = """#ifndef A_H
#define A_H
#include "b.h"
#define A_ONE 1
struct epoll_event { unsigned int events; };
#endif
"""
OTHER = "struct c_thing { long y; };\n#define C_ONE 3\n"


def _tree(root: Path, helper: str, other: str = OTHER) -> Path:
    root.mkdir(parents=True)
    (root / "b.h").write_text(helper)
    (root / "a.h").write_text(USER)
    (root / "c.h").write_text(other)
    return root


def _diff(old: Path, new: Path) -> DiffResult:
    opts = SourceOptions(use_cache=False)
    graphs = {d: [g for a in ("x86_64", "s390x") for g in read_headers([d], [get_target(a)], opts)]
              for d in (old, new)}
    return run_diff(graphs[old], graphs[new])


def test_header_that_stops_compiling_is_one_finding(tmp_path: Path) -> None:
    result = _diff(_tree(tmp_path / "old", HELPER % "unsigned int"), _tree(tmp_path / "new", HELPER % "uint32_t"))
    f = only(result, kind="header_no_longer_compiles", arch="s390x")
    assert (f.type, f.severity, f.location) == ("header b.h", B, "b.h:4")
    assert "unknown type name 'uint32_t'" in f.message
    assert "including it: a.h" in f.message
    assert "struct delegation" in f.message  # hidden, so named as not judged
    assert not [x for x in result.findings if x.kind in ("type_removed", "constant_removed")]
    assert [x.kind for x in result.findings if x.arch == "x86_64"] == ["header_no_longer_compiles"]
    assert result.verdict == B


def test_header_failing_in_both_versions_is_no_finding(tmp_path: Path) -> None:
    result = _diff(_tree(tmp_path / "old", HELPER % "uint32_t"),
                   _tree(tmp_path / "new", HELPER % "uint32_t", OTHER + "#define C_TWO 4\n"))
    assert {x.kind for x in result.findings} == {"constant_added"}


def test_removal_beside_a_compiling_header_stays_breaking(tmp_path: Path) -> None:
    result = _diff(_tree(tmp_path / "old", HELPER % "unsigned int"),
                   _tree(tmp_path / "new", HELPER % "unsigned int", "#define C_ONE 3\n"))
    assert only(result, kind="type_removed", type="struct c_thing", arch="x86_64").severity == B
    assert not [x for x in result.findings if x.kind == "header_no_longer_compiles"]
