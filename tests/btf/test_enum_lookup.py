"""`enums_naming`: the enums that define an enumerator, found by searching the raw words for its name."""

from __future__ import annotations

import random

from abiguard.model import ENUM_KINDS
from abiguard.sources.btf.reader import parse_btf, read_btf

from .btfwriter import BtfWriter


def test_only_enumerator_names_count() -> None:
    w = BtfWriter()
    i = w.int_("int", 4, 1)
    flag_off = w.s("FLAG")
    # The string's offset also appears as a value, a member name, a record name and an ENUM64 high word.
    w.struct("s", 8, [("FLAG", i, 0, 0), ("b", i, 32, 0)])
    plain = w.enum("", 4, [("A", flag_off), ("FLAG", 1)])
    wide = w.enum64("", 8, [("B", flag_off << 32), ("FLAG", 2)])
    w.enum("", 4, [("C", flag_off)])
    w.typedef("FLAG", i)
    w.enum("e", 4, [("OTHER", 0)])
    btf = parse_btf(w.build(), "t.btf").btf
    assert btf.enums_naming("FLAG") == [plain, wide]
    assert btf.enums_naming("A") == [plain]
    assert btf.enums_naming("LAG") == []  # a suffix of a string is an offset into it, never an enumerator


def test_split_btf_finds_base_and_own_enums() -> None:
    base = BtfWriter()
    base.int_("int", 4, 1)
    in_base = base.enum("", 4, [("X", 1)])
    parsed_base = parse_btf(base.build(), "base.btf")
    split = BtfWriter(first_id=3, str_base=len(base.strings))
    own = split.enum("", 4, [(base.s("X"), 2)])  # split BTF names its enumerator with a base string
    parsed = parse_btf(split.build(), "split.btf", parsed_base)
    assert parsed.btf.enums_naming("X") == [in_base, own]


def test_agrees_with_decoding_every_enum(vmlinux_btf) -> None:
    parsed = read_btf(vmlinux_btf)
    g = parsed.graph
    holders: dict[str, set[int]] = {}
    for tid in g.ids():
        t = g[tid]
        if t.kind in ENUM_KINDS:
            for e in t.enumerators:
                holders.setdefault(e.name, set()).add(tid)
    names = sorted(holders)
    sample = [n for n in names if n.startswith("BPF_F_")] + random.Random(1).sample(names, 150)
    for name in sample:
        assert parsed.btf.enums_naming(name) == sorted(holders[name]), name
