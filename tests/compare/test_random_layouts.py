"""Random struct shapes through libclang: self-diffs are identical, appends and inserts are judged by rule."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from abiguard.compare import run_diff
from abiguard.compare.findings import Severity

from .conftest import parse

SCALARS = ["__u8", "__u16", "__u32", "__u64", "__s8", "__s16", "__s32", "__s64", "long", "void *", "char"]
member = st.tuples(st.sampled_from(SCALARS), st.integers(min_value=0, max_value=3))  # type, array length (0: none)


def _struct(name: str, members: list[tuple[str, int]]) -> str:
    fields = "".join(f"    {t} m{i}{f'[{n}]' if n else ''};\n" for i, (t, n) in enumerate(members))
    return f"struct {name} {{\n{fields}}};\n"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=st.lists(member, min_size=1, max_size=8), extra=member, where=st.integers(min_value=0, max_value=8))
# Found by this test: the new member's bytes lie in old padding, yet the members after it move.
@example(members=[("__u8", 0), ("__u8", 0), ("__u32", 0)], extra=("__u16", 0), where=1)
@example(members=[("__u32", 0), ("__u8", 0), ("__u8", 0)], extra=("__u16", 0), where=2)
def test_random_structs(tmp_path_factory, members: list[tuple[str, int]], extra: tuple[str, int],
                        where: int) -> None:
    tmp: Path = tmp_path_factory.mktemp("rand")
    arches = ("x86_64", "i386")
    user = "struct user { struct shape *p; };\n"
    old_text = _struct("shape", members) + user
    old = parse(tmp, "old", old_text, arches)
    assert run_diff(old, parse(tmp, "same", old_text, arches)).findings == []

    # appended, reached only through a pointer: review at most, never breaking
    appended = [*members, extra]
    result = run_diff(old, parse(tmp, "appended", _struct("shape", appended) + user, arches))
    added = [f for f in result.findings if f.kind == "member_added"]
    assert {f.member for f in added} == {f"m{len(members)}"}
    assert result.verdict in (Severity.REVIEW, Severity.COMPATIBLE)  # compatible when it fits in padding

    # inserted before the last member: the last member moves unless the new one fits in a hole
    pos = min(where, len(members) - 1)
    inserted = [*members[:pos], extra, *members[pos:]]
    names = [f"m{i}" for i in range(pos)] + ["fresh"] + [f"m{i}" for i in range(pos, len(members))]
    fields = "".join(f"    {t} {nm}{f'[{n}]' if n else ''};\n" for nm, (t, n) in zip(names, inserted, strict=True))
    text = f"struct shape {{\n{fields}}};\n" + user
    result = run_diff(old, parse(tmp, "inserted", text, arches))
    for arch in arches:
        mine = [f for f in result.findings if f.arch == arch]
        fresh = [f for f in mine if f.member == "fresh"]
        assert len(fresh) == 1
        moved = [f for f in mine if f.kind in ("member_offset_changed", "member_moved")]
        if fresh[0].severity == Severity.BREAKING:
            assert fresh[0].kind == "member_added" and moved  # an insertion that is not in padding moves others
        else:
            assert not moved  # a compatible insertion moved nothing
