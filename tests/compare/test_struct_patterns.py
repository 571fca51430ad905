"""Struct patterns from real UAPI history: aliases in anonymous unions and fake flexible arrays made real
are compatible, while the real breaks next to them (reorder, bitfield narrowing, removal, a move, an
alias that resizes or moves) stay breaking. Every message reads as a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from abiguard.compare import DiffResult, load_waivers
from abiguard.compare.findings import Severity

from .conftest import DiffC, only

B, C, R = Severity.BREAKING, Severity.COMPATIBLE, Severity.REVIEW


def _no_breaking(result: DiffResult) -> None:
    breaking = [f"{f.kind} {f.type}.{f.member}: {f.message}" for f in result.findings if f.severity == B]
    assert not breaking, breaking


# --- aliases in anonymous unions ------------------------------------------------------------
LINK = """
struct link_args {
    __u32 prog_fd;
    %s
    __u32 attach_type;
    __u32 flags;
};
int link_create(struct link_args *args);
"""


def test_member_wrapped_in_anonymous_union_with_aliases_is_compatible(diff_c: DiffC) -> None:
    # union bpf_attr's link_create.target_fd -> union { target_fd; target_ifindex; }, query.prog_cnt -> count
    result = diff_c(LINK % "__u32 target_fd;",
                    LINK % "union { __u32 target_fd; __u32 target_ifindex; };", arches=("x86_64", "i386"))
    _no_breaking(result)
    assert result.verdict == C
    added = only(result, arch="i386", kind="member_added", member="target_ifindex")
    assert added.severity == C
    assert added.message == ("struct link_args.target_ifindex (4 bytes at offset 4) was added as an alias of "
                             "target_fd, sharing its storage; no member moved")


def test_scalar_split_into_halves_in_anonymous_union_is_compatible(diff_c: DiffC) -> None:
    old = "struct ring { __u64 addr; __u32 len; };\nint f(struct ring *r);\n"
    new = "struct ring { union { __u64 addr; struct { __u32 lo, hi; }; }; __u32 len; };\nint f(struct ring *r);\n"
    result = diff_c(old, new, arches=("x86_64", "s390x"))
    _no_breaking(result)
    assert only(result, arch="s390x", member="hi").message == (
        "struct ring.hi (4 bytes at offset 4) was added as an alias of addr, sharing its storage; no member moved")


def test_struct_group_wrapper_with_named_copy_is_compatible(diff_c: DiffC) -> None:
    # tc_u32_sel: old members wrapped by __struct_group(tc_u32_sel_hdr, hdr, ...), keys[0] -> keys[]
    head = "struct key { __u32 mask; __u32 val; };\n"
    members = ("unsigned char flags; unsigned char offshift; unsigned char nkeys; __u16 offmask; __u16 off; "
               "short offoff; short hoff; __u32 hmask;")
    old = head + f"struct sel {{ {members} struct key keys[0]; }};\nint f(struct sel *s);\n"
    new = head + (f"struct sel {{ union {{ struct {{ {members} }}; struct sel_hdr {{ {members} }} hdr; }}; "
                  "struct key keys[]; };\nint f(struct sel *s);\n")
    assert new != old
    result = diff_c(old, new)
    _no_breaking(result)
    assert only(result, kind="member_added", member="hdr").severity == C
    assert only(result, kind="type_added", type="struct sel_hdr").severity == C


def test_declare_flex_array_wrapper_changes_nothing(diff_c: DiffC) -> None:
    old = "struct msg { __u32 len; union { __u8 bytes[0]; __u32 words[0]; }; };\nint f(struct msg *m);\n"
    flex = "struct { struct { } __empty_%s; %s %s[]; }"
    new = old.replace("union { __u8 bytes[0]; __u32 words[0]; }",
                      f"union {{ {flex % ('bytes', '__u8', 'bytes')}; {flex % ('words', '__u32', 'words')}; }}")
    result = diff_c(old, new)
    assert result.verdict <= C


def test_alias_wider_than_the_member_moving_later_ones_is_breaking(diff_c: DiffC) -> None:
    result = diff_c(LINK % "__u32 target_fd;", LINK % "union { __u32 target_fd; __u64 target_cookie; };")
    moved = only(result, kind="member_offset_changed", member="attach_type")
    assert moved.severity == B
    assert moved.message == "struct link_args.attach_type moved from offset 8 to 16"


def test_wrapped_member_that_changes_type_is_breaking(diff_c: DiffC) -> None:
    result = diff_c(LINK % "__u32 target_fd;", LINK % "union { __s16 target_fd; __u16 target_port; };")
    retyped = only(result, kind="member_type_changed", member="target_fd")
    assert retyped.severity == B
    assert retyped.message == ("struct link_args.target_fd changed type from __u32 to __s16; "
                               "its size changed from 4 to 2 bytes")


# --- real breaks next to those patterns ---------------------------------------------------
PAIR = "struct pair { __u32 a; __u32 b; __u32 c; };\nint f(struct pair *p);\n"


def test_reordered_members_are_breaking(diff_c: DiffC) -> None:
    result = diff_c(PAIR, PAIR.replace("__u32 a; __u32 b;", "__u32 b; __u32 a;"))
    b = only(result, member="b")
    assert (b.kind, b.severity) == ("member_moved", B)
    assert b.message == "struct pair.b moved from offset 4 to 0, out of its old order among the members"


def test_member_narrowed_to_a_bitfield_is_breaking(diff_c: DiffC) -> None:
    result = diff_c(PAIR, PAIR.replace("__u32 b;", "__u32 b:8; __u32 b_hi:24;"))
    narrowed = only(result, member="b")
    assert (narrowed.kind, narrowed.severity) == ("bitfield_changed", B)
    assert narrowed.message == "struct pair.b changed from 4 bytes at offset 4 to 8 bits at bit 32"
    over = only(result, member="b_hi")
    assert over.severity == B
    assert over.message == "struct pair.b_hi (24 bits at bit 40) was added over storage that b still uses"


def test_removed_member_is_breaking(diff_c: DiffC) -> None:
    result = diff_c(PAIR, PAIR.replace("__u32 b; ", ""))
    removed = only(result, kind="member_removed")
    assert removed.severity == B
    assert removed.message == "struct pair.b (4 bytes at offset 4) was removed"


def test_inserted_member_names_what_it_displaced(diff_c: DiffC) -> None:
    result = diff_c(PAIR, PAIR.replace("__u32 b;", "__u32 x; __u32 b;"))
    inserted = only(result, kind="member_added")
    assert inserted.severity == B
    assert inserted.message == ("struct pair.x (4 bytes at offset 4) was inserted where b used to be, "
                                "moving the members after it")
    assert only(result, member="c", kind="member_offset_changed").severity == B


# --- fake flexible arrays made real ---------------------------------------------------------
FAKE = "struct blob { __u32 len; __u32 kind; %s };\nint f(struct blob *b);\n"


@pytest.mark.parametrize("old", ["__u8 data[1];", "__u32 data[1];"])
def test_one_element_array_made_flexible_is_compatible(diff_c: DiffC, old: str) -> None:
    result = diff_c(FAKE % old, FAKE % old.replace("[1]", "[]"), arches=("x86_64", "i386", "s390x"))
    _no_breaking(result)
    elem = old.split()[0]
    flexible = only(result, arch="s390x", kind="array_made_flexible")
    assert flexible.severity == C
    assert flexible.message == (f"struct blob.data changed from {elem} data[1] to the flexible array {elem} data[] "
                                "at the same offset (8); old code indexing it reads the same bytes")
    shrank = only(result, arch="s390x", kind="size_changed")
    assert shrank.severity == C
    assert shrank.old > shrank.new
    assert "a trailing array became a flexible array member and no member moved" in shrank.message


def test_zero_length_array_made_flexible_changes_nothing(diff_c: DiffC) -> None:
    result = diff_c(FAKE % "__u8 data[0];", FAKE % "__u8 data[];")
    assert result.verdict <= C


def test_fake_flexible_array_embedded_by_value_stays_breaking(diff_c: DiffC) -> None:
    holder = "struct holder { struct blob b; __u32 after; };\nint g(struct holder *h);\n"
    result = diff_c(FAKE % "__u8 data[1];" + holder, FAKE % "__u8 data[];" + holder)
    after = only(result, type="struct holder", member="after")
    assert (after.kind, after.severity) == ("member_offset_changed", B)
    assert after.message == ("struct blob shrank from 12 to 8 bytes and is held by value in holder.b, "
                             "so struct holder.after moved from offset 12 to 8")
    assert only(result, type="struct blob", kind="size_changed").severity == B


def test_longer_array_made_flexible_is_breaking(diff_c: DiffC) -> None:
    result = diff_c(FAKE % "__u8 data[4];", FAKE % "__u8 data[];")
    assert result.verdict == B
    assert only(result, member="data").severity == B


# --- size-negotiated syscall arguments --------------------------------------------------------
ATTR = """
union %s {
    struct { __u32 map_type; __u32 key_size; __u32 value_size; };
    struct { __u32 prog_type; __u32 insn_cnt; __u64 insns; %s } prog;
};
int sys(int cmd, union %s *attr, unsigned int size);
"""


def _attr(name: str, extra: str = "") -> str:
    return ATTR % (name, extra, name)


def test_bpf_attr_growing_at_the_end_is_compatible_naming_bpf(diff_c: DiffC) -> None:
    result = diff_c(_attr("bpf_attr"), _attr("bpf_attr", "__u64 fd_array;"))
    grew = only(result, kind="size_changed")
    assert grew.severity == C
    assert grew.message.startswith("union bpf_attr grew from 16 to 24 bytes; appending is safe: bpf(2) passes "
                                   "sizeof(union bpf_attr)")
    added = only(result, kind="member_added")
    assert added.severity == C
    assert "bpf(2)" in added.message


def test_bpf_attr_gaining_alignment_with_its_growth_is_compatible(diff_c: DiffC) -> None:
    old = "union bpf_attr { struct { __u32 a; __u32 b; } cmd; };\nint sys(union bpf_attr *attr, unsigned int size);\n"
    result = diff_c(old, old.replace("__u32 b;", "__u32 b; __u64 c;"), arches=("x86_64", "s390x"))
    assert only(result, arch="s390x", kind="align_changed").severity == C
    assert only(result, arch="s390x", kind="size_changed").severity == C
    other = old.replace("bpf_attr", "other_attr")
    result = diff_c(other, other.replace("__u32 b;", "__u32 b; __u64 c;"))
    assert only(result, kind="align_changed").severity == R


def test_unknown_union_growing_at_the_end_needs_review(diff_c: DiffC) -> None:
    result = diff_c(_attr("other_attr"), _attr("other_attr", "__u64 fd_array;"))
    assert only(result, kind="size_changed").severity == R
    assert only(result, kind="member_added").severity == R


def test_waivers_file_extends_the_size_negotiated_types(diff_c: DiffC, tmp_path: Path) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text('[[size_negotiated]]\ntype = "union other_attr"\nsyscall = "other(2)"\n'
                    'reason = "copies min(size, sizeof) and rejects a non-zero tail"\n')
    waivers = load_waivers(path, __import__("datetime").date(2026, 1, 1))
    result = diff_c(_attr("other_attr"), _attr("other_attr", "__u64 fd_array;"), waivers=waivers)
    grew = only(result, kind="size_changed")
    assert grew.severity == C
    assert grew.message.endswith("appending is safe: other(2) copies min(size, sizeof) and rejects a non-zero tail")


def test_size_negotiated_type_embedded_by_value_stays_breaking(diff_c: DiffC) -> None:
    holder = "struct holder { union bpf_attr attr; __u32 after; };\nint g(struct holder *h);\n"
    result = diff_c(_attr("bpf_attr") + holder, _attr("bpf_attr", "__u64 fd_array;") + holder)
    assert only(result, type="union bpf_attr", kind="size_changed").severity == B
    assert only(result, type="struct holder", member="after").severity == B


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[size_negotiated]]\nreason = 'r'\n", "size_negotiated #1: missing 'type'"),
        ("[[size_negotiated]]\ntype = 'union x'\nreason = ''\n", "'reason' must be a non-empty string"),
        ("[[size_negotiated]]\ntype = 'union x'\nreason = 'r'\nsize = 8\n", "unknown key(s): size"),
        ("size_negotiated = 'union x'\n", "must be an array of tables"),
    ],
)
def test_bad_size_negotiated_entries_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    from abiguard.errors import AbiguardError

    path = tmp_path / "waivers.toml"
    path.write_text(text)
    with pytest.raises(AbiguardError) as err:
        load_waivers(path, __import__("datetime").date(2026, 1, 1))
    assert message in str(err.value) and str(path) in str(err.value)


# --- every message is a sentence ----------------------------------------------------------------
def test_no_message_shows_raw_values_or_doubled_words(diff_c: DiffC) -> None:
    """Many kinds of change at once; none of their messages may show a Python dict or the old phrasing."""
    old = """
struct many { __u32 a; __u32 b; __u8 pad[8]; __u32 flags : 4, __rsv : 28; __u32 gone; __u8 tail[1]; };
struct inner { __u32 x; };
struct outer { struct inner in; __u32 after; };
enum e { E_A, E_B, __E_MAX };
typedef __u32 id_t;
int f(struct many *m, struct outer *o, enum e v, id_t i);
"""
    new = """
struct many { __u32 b; __u32 a; __u8 pad[4]; __u32 used; __u32 flags : 4, more : 4, __rsv : 24; __u64 gone2;
              __u8 tail[]; };
struct inner { __u32 x; __u32 y; };
struct outer { struct inner in; __u32 after; };
enum e { E_A, E_C, E_B, __E_MAX };
typedef __u64 id_t;
int f(struct many *m, struct outer *o, enum e v, id_t i);
"""
    result = diff_c(old, new)
    assert len({f.kind for f in result.findings}) >= 8
    for f in result.findings:
        assert "{" not in f.message and "'" not in f.message, f.message
        for phrase in ("added appended", "(moves later members)", " -> {", "added inserted"):
            assert phrase not in f.message, f.message


def test_member_appended_to_a_union_branch_past_the_old_end_is_growth(diff_c: DiffC) -> None:
    # xsk_tx_metadata gained request.launch_time: on i386 (u64 aligned to 4) it starts inside the old
    # union, beside completion.tx_timestamp, and ends past the old end; nothing old moved on any arch.
    old = """
struct meta { __u64 flags;
              union { struct { __u16 csum_start; __u16 csum_offset; } request;
                      struct { __u64 tx_timestamp; } completion; }; };
int f(struct meta *m);
"""
    result = diff_c(old, old.replace("__u16 csum_offset;", "__u16 csum_offset; __u64 launch_time;"),
                    arches=("x86_64", "i386"))
    for arch in ("x86_64", "i386"):
        added = only(result, arch=arch, member="request.launch_time")
        assert (added.kind, added.severity) == ("member_added", R)
        assert added.message.endswith("was added at the end")
    assert result.verdict == R


def test_member_shifted_inside_a_union_branch_is_not_called_reordered(diff_c: DiffC) -> None:
    # bpf_attr link_create.tracing_multi gained `cookies` before `cnt`: cnt moved (breaking), but it kept its
    # order within its own struct; members of other branches at the offsets it passed do not count.
    old = """
union attr {
    struct { __u64 a; __u64 b; __u64 c; __u64 d; __u64 e; } wide;
    struct { __u64 ids; __u32 cnt; } multi;
};
int sys(union attr *attr, unsigned int size);
"""
    result = diff_c(old, old.replace("__u64 ids;", "__u64 ids; __u64 cookies;"))
    cnt = only(result, member="multi.cnt")
    assert (cnt.kind, cnt.severity) == ("member_offset_changed", B)
    assert cnt.message == "union attr.multi.cnt moved from offset 8 to 16"
    assert only(result, member="multi.cookies").severity == B
