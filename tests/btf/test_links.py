"""The raw link pass (heights per cycle rule on the undecoded words) against the decoding walk.

The walk (`BtfTypes._walk`, one depth-first search per id over decoded records) is the reference: the
raw pass must accept exactly the files the walk accepts, with the same heights, and reject the others
with the same kind of error.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abiguard.errors import AbiguardError
from abiguard.sources.btf import table
from abiguard.sources.btf.reader import parse_btf

from .btfwriter import BtfWriter


def _walked(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]] | str:
    """Heights per rule by the decoding walk alone (the raw pass switched off), or the error's gist."""
    with monkeypatch.context() as m:
        m.setattr(table.BtfTypes, "check_links", lambda self: None)
        btf = parse_btf(data, "walked.btf").btf
        try:
            for rule in (0, 1):
                for tid in range(btf.first_id, btf.count):
                    btf._ensure_walked(tid, rule)
        except AbiguardError as e:
            return _gist(str(e))
    return [btf.height(t, 0) for t in range(1, btf.count)], [btf.height(t, 1) for t in range(1, btf.count)]


def _checked(data: bytes) -> tuple[list[int], list[int]] | str:
    try:
        btf = parse_btf(data, "checked.btf").btf
    except AbiguardError as e:
        return _gist(str(e))
    return [btf.height(t, 0) for t in range(1, btf.count)], [btf.height(t, 1) for t in range(1, btf.count)]


def _gist(message: str) -> str:
    gists = {"beyond the last id": "missing id", "out of range": "missing id", "not through a pointer": "cycle",
             "through no struct": "cycle", "deeper than": "too deep"}
    return next((gist for words, gist in gists.items() if words in message), message)


_Record = tuple[str, Sequence[int]]
# One record: (kind, ids it names); ids may point ahead, behind, at itself or past the end.
_record = st.one_of(
    st.tuples(st.just("ptr"), st.lists(st.integers(0, 14), min_size=1, max_size=1)),
    st.tuples(st.just("typedef"), st.lists(st.integers(1, 14), min_size=1, max_size=1)),
    st.tuples(st.just("const"), st.lists(st.integers(1, 14), min_size=1, max_size=1)),
    st.tuples(st.just("array"), st.lists(st.integers(1, 14), min_size=1, max_size=1)),
    st.tuples(st.just("struct"), st.lists(st.integers(1, 14), max_size=4)),
    st.tuples(st.just("union"), st.lists(st.integers(1, 14), max_size=3)),
    st.tuples(st.just("proto"), st.lists(st.integers(1, 14), min_size=1, max_size=4)),
    st.tuples(st.just("variadic"), st.tuples(st.integers(0, 14), st.integers(1, 14), st.integers(1, 14))),
)


def _build(records: list[_Record]) -> bytes:
    w = BtfWriter()
    w.int_("int", 4, 1)  # id 1
    for n, (kind, ids) in enumerate(records):
        if kind == "ptr":
            w.ptr(ids[0])
        elif kind == "typedef":
            w.typedef(f"t{n}", ids[0])
        elif kind == "const":
            w.modifier(10, ids[0])
        elif kind == "array":
            w.array(ids[0], 1, 2)
        elif kind in ("struct", "union"):
            w.struct(f"s{n}", 64, [(f"m{i}", t, 0, 0) for i, t in enumerate(ids)], union=kind == "union")
        else:  # a prototype's return may be void; a variadic one ends in an unnamed void parameter
            params = [(f"p{i}", t) for i, t in enumerate(ids[1:])]
            w.func_proto(ids[0], [*params, ("", 0)] if kind == "variadic" else params)
    return w.build()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_record, min_size=1, max_size=13))
def test_raw_pass_agrees_with_the_walk(monkeypatch: pytest.MonkeyPatch, records: list[_Record]) -> None:
    data = _build(records)
    checked, walked = _checked(data), _walked(data, monkeypatch)
    if any(t > len(records) + 1 for _, ids in records for t in ids) and isinstance(walked, str):
        # Two faults in one file (a missing id and a cycle): either may be the one reported.
        assert checked in ("missing id", "cycle", "too deep")
    else:
        assert checked == walked


def test_raw_pass_agrees_with_the_walk_on_real_kernel_btf(vmlinux_btf, monkeypatch: pytest.MonkeyPatch) -> None:
    data = vmlinux_btf.read_bytes()
    checked = _checked(data)
    assert not isinstance(checked, str), checked
    assert checked == _walked(data, monkeypatch)


def test_split_btf_heights_continue_the_base() -> None:
    """A split blob's heights count the base records below it, as the walk across the base does, each
    rule with its own base heights (a struct is tall by value, a pointer tall as a spelling)."""
    base = BtfWriter()
    i = base.int_("int", 4, 1)
    t = base.typedef("base_t", i)  # height 2 under both rules
    s = base.struct("s", 4, [("x", i, 0, 0)])  # 2 by value, 1 as a spelling (structs are not followed)
    p = base.ptr(s)  # 1 by value (pointers are not followed), 2 as a spelling
    base_data = base.build()
    split = BtfWriter(first_id=p + 1, str_base=len(base.strings))
    outer = split.typedef("outer_t", t)
    split.ptr(outer)
    of_struct = split.typedef("s_t", s)
    of_pointer = split.typedef("p_t", p)
    parsed_base = parse_btf(base_data, "base.btf")
    parsed = parse_btf(split.build(), "split.btf", parsed_base)
    ids = (outer, outer + 1, of_struct, of_pointer)
    assert [parsed.btf.height(tid, 0) for tid in ids] == [3, 1, 3, 2]
    assert [parsed.btf.height(tid, 1) for tid in ids] == [3, 4, 2, 3]
