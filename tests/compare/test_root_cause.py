"""Root-cause ids in the JSON report and the member layouts a diff carries for pictures."""

from __future__ import annotations

from .conftest import DiffC

OLD = """
struct inner { __u64 a; __u32 b; };
struct outer { __u32 tag; struct inner in; __u64 after; };
struct other { struct inner x; __u16 z; };
struct apart { __u32 v; };
"""
NEW_GROW = OLD.replace("__u32 b; };", "__u32 b; __u64 c; };").replace("struct apart { __u32 v; };",
                                                                      "struct apart { __u64 v; };")


def _ids(result: object) -> dict[tuple[str, str, str | None, str], str]:
    data = result.to_json()  # type: ignore[attr-defined]
    return {(f["arch"], f["type"], f["member"], f["kind"]): f["root_cause"] for f in data["findings"]}


def test_one_id_per_change_shared_by_its_effects_and_arches(diff_c: DiffC) -> None:
    result = diff_c(OLD, NEW_GROW, arches=("x86_64", "i386"))
    ids = _ids(result)
    grow = {v for (_, t, _, _), v in ids.items() if t != "struct apart"}
    apart = {v for (_, t, _, _), v in ids.items() if t == "struct apart"}
    # struct inner grew (by 8 on both arches): its own findings and those in outer and other share one id.
    assert len(grow) == 1 and len(apart) == 1 and grow != apart
    assert {t for (_, t, _, _) in ids} >= {"struct inner", "struct outer", "struct other"}
    assert {a for (a, _, _, _) in ids} == {"x86_64", "i386"}
    # Deterministic: the same diff run again gives the same ids.
    assert _ids(diff_c(OLD, NEW_GROW, arches=("x86_64", "i386"))) == ids


def test_a_different_growth_is_a_different_root_cause(diff_c: DiffC) -> None:
    by8 = _ids(diff_c(OLD, NEW_GROW))
    by16 = _ids(diff_c(OLD, OLD.replace("__u32 b; };", "__u32 b; __u64 c; __u64 d; };")))
    assert {v for (_, t, _, _), v in by8.items() if t == "struct inner"} != \
        {v for (_, t, _, _), v in by16.items() if t == "struct inner"}


def test_layouts_of_reported_structs_come_with_the_result(diff_c: DiffC) -> None:
    result = diff_c(OLD, NEW_GROW, arches=("x86_64", "i386"))
    reported = {(f.arch, f.type) for f in result.findings}
    assert set(result.layouts) == reported  # every finding here names a struct
    old, new = result.layouts[("x86_64", "struct outer")]
    assert old is not None and new is not None
    assert [(m.name, m.offset, m.size) for m in old.members] == [("tag", 0, 4), ("in", 8, 16), ("after", 24, 8)]
    assert [(m.name, m.offset, m.size) for m in new.members] == [("tag", 0, 4), ("in", 8, 24), ("after", 32, 8)]
    assert (old.size, new.size) == (32, 40)
    # i386 aligns __u64 to 4 inside structs: the layouts are the target's, not x86_64's.
    old32, _ = result.layouts[("i386", "struct outer")]
    assert old32 is not None and [m.offset for m in old32.members] == [0, 4, 16]
    assert "layouts" not in result.to_json()
