"""One test per severity rule, on old/new header variants parsed by libclang for real targets.

Each test changes one thing and checks the rule's verdict; where a control variant differs only in
the property the rule looks at (size evidence, embedding, evidence of a count), both are checked.
"""

from __future__ import annotations

from abiguard.compare.findings import Severity

from .conftest import DiffC, only

B, R, C, A = Severity.BREAKING, Severity.REVIEW, Severity.COMPATIBLE, Severity.API

CLONE_ARGS_OLD = """
#define CLONE_ARGS_SIZE_VER0 64
#define CLONE_ARGS_SIZE_VER1 80
struct clone_args {
    __u64 flags; __u64 pidfd; __u64 child_tid; __u64 parent_tid; __u64 exit_signal;
    __u64 stack; __u64 stack_size; __u64 tls; __u64 set_tid; __u64 set_tid_size;
};
long clone3(struct clone_args *uargs, unsigned long size);
"""
CLONE_ARGS_NEW = CLONE_ARGS_OLD.replace("__u64 set_tid_size;", "__u64 set_tid_size; __u64 cgroup;").replace(
    "#define CLONE_ARGS_SIZE_VER1 80", "#define CLONE_ARGS_SIZE_VER1 80\n#define CLONE_ARGS_SIZE_VER2 88")


def test_append_to_struct_with_size_versions_is_compatible(diff_c: DiffC) -> None:
    result = diff_c(CLONE_ARGS_OLD, CLONE_ARGS_NEW)
    assert only(result, kind="size_changed").severity == C
    assert only(result, kind="member_added", member="cgroup").severity == C
    assert only(result, kind="constant_added", type="#define CLONE_ARGS_SIZE_VER2").severity == C
    assert result.verdict == C


def test_append_reached_only_through_pointers_needs_review(diff_c: DiffC) -> None:
    # the same growth without any size evidence: safe only if the kernel copies by a user-given size
    strip = lambda text: "\n".join(line for line in text.splitlines() if "SIZE_VER" not in line)  # noqa: E731
    result = diff_c(strip(CLONE_ARGS_OLD).replace("clone_args", "spawn_args"),
                    strip(CLONE_ARGS_NEW).replace("clone_args", "spawn_args"))
    assert only(result, kind="member_added").severity == R
    assert result.verdict == R


PERF_ATTR = """
struct perf_event_attr {
    __u32 type;
    __u32 size;
    __u64 config;
    union { __u64 sample_period; __u64 sample_freq; };
    __u64 sample_type;
    __u64 disabled : 1, inherit : 1, pinned : 1, __reserved_1 : 61;
    union { __u32 wakeup_events; __u32 wakeup_watermark; };
    __u32 bp_type;
    %s
};
int perf_event_open(struct perf_event_attr *attr, int pid, int cpu, int group_fd, unsigned long flags);
"""


def test_append_to_struct_carrying_its_size_is_compatible(diff_c: DiffC) -> None:
    # named unlike any known size-negotiated type: only the `size` member says it is extensible
    with_size = (PERF_ATTR % "").replace("perf_event_attr", "event_attr")
    result = diff_c(with_size, with_size.replace("__u32 bp_type;", "__u32 bp_type; __u64 config1;"))
    assert only(result, kind="member_added", member="config1").severity == C
    assert "it carries its own size in `size`" in only(result, kind="size_changed").message
    # the control: the same struct without a `size` member is only reviewable
    no_size = with_size.replace("__u32 size;", "__u32 flags;")
    result = diff_c(no_size, no_size.replace("__u32 bp_type;", "__u32 bp_type; __u64 config1;"))
    assert only(result, kind="member_added", member="config1").severity == R
    assert only(result, kind="size_changed").severity == R


def test_known_size_negotiated_type_names_its_syscall(diff_c: DiffC) -> None:
    result = diff_c(PERF_ATTR % "", PERF_ATTR % "__u64 config1;")
    grew = only(result, kind="size_changed")
    assert grew.severity == C
    assert grew.message == ("struct perf_event_attr grew from 48 to 56 bytes; appending is safe: "
                            "perf_event_open(2) carries its size in attr.size; the kernel copies that many "
                            "bytes and rejects a non-zero unknown tail (perf_copy_attr)")


def test_bitfield_taken_from_reserved_bits_is_compatible(diff_c: DiffC) -> None:
    old = PERF_ATTR % ""
    new = old.replace("pinned : 1, __reserved_1 : 61", "pinned : 1, sigtrap : 1, __reserved_1 : 60")
    result = diff_c(old, new)
    assert only(result, member="sigtrap").severity == C
    assert only(result, member="__reserved_1").kind == "reserved_shrunk"
    assert result.verdict == C
    # a real bitfield shrinking with nothing taking its bits is a break
    result = diff_c(old, old.replace("pinned : 1, __reserved_1 : 61", "pinned : 1, __reserved_1 : 60"))
    assert result.verdict == B


def test_member_appended_to_embedded_struct_breaks_the_embedder(diff_c: DiffC) -> None:
    old = "struct inner { __u32 a; __u32 b; };\nstruct outer { struct inner in; __u64 after; };\n"
    new = old.replace("__u32 b;", "__u32 b; __u32 c;")
    result = diff_c(old, new)
    assert only(result, kind="member_added", member="c").severity == B
    effect = only(result, kind="member_offset_changed", member="after")
    assert (effect.severity, effect.old, effect.new) == (B, 8, 16)
    assert effect.root == "struct inner" and effect.chain == ("inner", "outer.in")


def test_flexible_array_of_grown_struct_is_breaking(diff_c: DiffC) -> None:
    # fiemap's shape: a header with a flexible array of extents
    extent = ("struct fiemap_extent { __u64 fe_logical; __u64 fe_physical; __u64 fe_length;"
              " __u64 fe_reserved64[2]; __u32 fe_flags; __u32 fe_reserved[3]; %s };\n")
    fiemap = ("struct fiemap { __u64 fm_start; __u64 fm_length; __u32 fm_flags; __u32 fm_mapped_extents;"
              " __u32 fm_extent_count; __u32 fm_reserved; struct fiemap_extent fm_extents[]; };\n")
    result = diff_c(extent % "" + fiemap, extent % "__u64 fe_extra;" + fiemap)
    effect = only(result, kind="array_element_size_changed", type="struct fiemap")
    assert (effect.severity, effect.member, effect.old, effect.new) == (B, "fm_extents", 56, 64)
    assert effect.chain == ("fiemap_extent", "fiemap.fm_extents")


def test_reserved_array_taken_by_new_member_is_compatible(diff_c: DiffC) -> None:
    old = "struct fiemap_extent { __u64 fe_logical; __u32 fe_flags; __u32 fe_reserved[3]; };\n"
    new = "struct fiemap_extent { __u64 fe_logical; __u32 fe_flags; __u32 fe_new; __u32 fe_reserved[2]; };\n"
    result = diff_c(old, new)
    assert only(result, member="fe_new").severity == C
    assert only(result, member="fe_reserved").kind == "reserved_shrunk"
    assert result.verdict == C


def test_padding_replaced_by_members_of_other_types_is_compatible(diff_c: DiffC) -> None:
    # by layout, not by name: the old member is called `flags`, not `reserved`
    old = "struct s { __u32 a; __u8 flags[8]; __u32 z; };\n"
    new = "struct s { __u32 a; __u32 x; __u16 y; __u16 w; __u32 z; };\n"
    result = diff_c(old, new)
    assert only(result, kind="member_replaced", member="flags").severity == C
    assert {f.severity for f in result.findings} == {C}


def test_member_in_hole_is_compatible_and_inserted_member_breaks(diff_c: DiffC) -> None:
    old = "struct s { __u32 a; __u64 b; };\n"
    result = diff_c(old, "struct s { __u32 a; __u32 hole; __u64 b; };\n")
    assert only(result, member="hole").severity == C
    assert result.verdict == C
    result = diff_c(old, "struct s { __u32 a; __u64 ins; __u64 b; };\n")
    assert only(result, member="ins").severity == B
    assert only(result, member="b", kind="member_offset_changed").severity == B


def test_removed_moved_retyped_and_bitfield_changes_break(diff_c: DiffC) -> None:
    old = "struct s { __u32 a; __u32 b; __u32 c : 4, d : 4; __u64 e; };\n"
    assert only(diff_c(old, old.replace("__u32 b;", "")), kind="member_removed").severity == B
    moved = diff_c(old, "struct s { __u32 b; __u32 a; __u32 c : 4, d : 4; __u64 e; };\n")
    assert {f.kind for f in moved.findings} == {"member_moved"}
    assert moved.verdict == B
    retyped = diff_c(old, old.replace("__u64 e;", "double e;"))
    assert only(retyped, kind="member_type_changed").severity == B
    bits = diff_c(old, old.replace("c : 4, d : 4", "c : 5, d : 4"))
    assert only(bits, member="c").kind == "bitfield_changed"
    assert only(bits, member="d").severity == B


def test_rename_with_identical_layout_is_api(diff_c: DiffC) -> None:
    old = "struct s { __u32 a; __u32 b; };\n"
    result = diff_c(old, "struct s { __u32 a; __u32 renamed; };\n")
    assert only(result, kind="member_renamed").severity == A
    assert result.verdict == A


def test_signedness_only_change_is_api(diff_c: DiffC) -> None:
    old = "struct s { __u32 a; __u32 b; };\n"
    result = diff_c(old, old.replace("__u32 b;", "__s32 b;"))
    finding = only(result, kind="member_type_changed")
    assert finding.severity == A
    assert result.verdict == A


def test_typedef_retargeted_to_layout_identical_type_is_api(diff_c: DiffC) -> None:
    old = "struct regs { __u64 r[4]; };\nstruct regs_frozen { __u64 r[4]; };\ntypedef struct regs regs_t;\n" \
          "struct data { regs_t regs; __u64 after; };\n"
    result = diff_c(old, old.replace("typedef struct regs regs_t;", "typedef struct regs_frozen regs_t;"))
    assert only(result, kind="typedef_retargeted").severity == A
    assert result.verdict == A
    # retargeted to something bigger: a break, rooted at the typedef, carried into `struct data`
    old = old.replace("struct regs_frozen { __u64 r[4]; }", "struct regs_frozen { __u64 r[5]; }")
    result = diff_c(old, old.replace("typedef struct regs regs_t;", "typedef struct regs_frozen regs_t;"))
    assert only(result, kind="typedef_retargeted").severity == B
    effect = only(result, kind="member_offset_changed", member="after")
    assert effect.root == "typedef regs_t" and effect.chain == ("regs_t", "data.regs")


BPF_MAP_TYPE = """
enum bpf_map_type {
    BPF_MAP_TYPE_UNSPEC,
    BPF_MAP_TYPE_HASH,
    BPF_MAP_TYPE_ARRAY,
    %s
    __MAX_BPF_MAP_TYPE
};
"""


def test_new_enumerator_moving_max_sentinel_is_compatible(diff_c: DiffC) -> None:
    result = diff_c(BPF_MAP_TYPE % "", BPF_MAP_TYPE % "BPF_MAP_TYPE_RINGBUF,")
    assert only(result, kind="enumerator_added").severity == C
    sentinel = only(result, kind="enumerator_value_changed")
    assert (sentinel.member, sentinel.old, sentinel.new, sentinel.severity) == ("__MAX_BPF_MAP_TYPE", 3, 4, C)
    assert result.verdict == C


def test_enumerator_value_change_breaks_unless_sentinel(diff_c: DiffC) -> None:
    # inserting in the middle moves a real value: breaking (the sentinel's move stays compatible)
    old = BPF_MAP_TYPE % ""
    new = old.replace("BPF_MAP_TYPE_HASH,", "BPF_MAP_TYPE_NEW, BPF_MAP_TYPE_HASH,")
    result = diff_c(old, new)
    assert only(result, member="BPF_MAP_TYPE_ARRAY").severity == B
    assert only(result, member="__MAX_BPF_MAP_TYPE").severity == C
    # a non-sentinel last entry moving with an addition is a break too
    plain = "enum e { E_A, E_B, %s E_LAST_REAL };\n".replace("E_LAST_REAL", "E_Z")
    result = diff_c(plain % "", plain % "E_NEW,")
    assert only(result, member="E_Z").severity == B
    removed = diff_c(old, old.replace("BPF_MAP_TYPE_ARRAY,", ""))
    assert only(removed, kind="enumerator_removed").severity == B


# Enums shaped as in the 6.1 UAPI: if_link.h (IFLA_GTP_*), ethtool_netlink.h (a count the enum derives its
# own maximum from), fuse.h (numbered entries, the count left to the compiler), vfio.h (a count nothing
# marks), and made-up controls.
COUNTS = """
enum { IFLA_GTP_UNSPEC, IFLA_GTP_ROLE, IFLA_GTP_RESTART_COUNT,%(gtp)s __IFLA_GTP_MAX };
#define IFLA_GTP_MAX (__IFLA_GTP_MAX - 1)
enum { ETHTOOL_MSG_USER_NONE, ETHTOOL_MSG_STRSET_GET,%(ethtool)s __ETHTOOL_MSG_USER_CNT,
       ETHTOOL_MSG_USER_MAX = __ETHTOOL_MSG_USER_CNT - 1 };
enum fuse_notify_code { FUSE_NOTIFY_POLL = 1, FUSE_NOTIFY_DELETE = 2,%(fuse)s FUSE_NOTIFY_CODE_MAX };
enum { VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX,%(vfio)s VFIO_PCI_NUM_IRQS };
enum half_numbered { HALF_A = 1, HALF_B,%(half)s HALF_MAX };
enum link_stats { LINK_STATS_RX, LINK_STATS_TX,%(stats)s LINK_STATS_NUM };
#define LINK_STATS_LAST (LINK_STATS_NUM - 1)
enum link_modes { LINK_MODE_A, LINK_MODE_B,%(modes)s LINK_MODE_COUNT };
#define LINK_MODE_LIMIT LINK_MODE_COUNT
"""
NO_EDIT = dict.fromkeys(("gtp", "ethtool", "fuse", "vfio", "half", "stats", "modes"), "")


def test_count_moved_by_appended_entries_is_compatible_when_the_headers_say_it_counts(diff_c: DiffC) -> None:
    appended = {"gtp": " IFLA_GTP_LOCAL,", "ethtool": " ETHTOOL_MSG_PSE_GET,", "fuse": " FUSE_NOTIFY_RESEND = 3,",
                "vfio": " VFIO_PCI_ERR_IRQ_INDEX,", "half": " HALF_C = 3,", "stats": " LINK_STATS_DROPS,",
                "modes": " LINK_MODE_C,"}
    result = diff_c(COUNTS % NO_EDIT, COUNTS % appended)
    moved = {f.member: f.severity for f in result.findings if f.kind == "enumerator_value_changed"}
    assert moved == {
        "__IFLA_GTP_MAX": C,  # a name reserved to the implementation (and IFLA_GTP_MAX derives a bound)
        "__ETHTOOL_MSG_USER_CNT": C,  # reserved
        "ETHTOOL_MSG_USER_MAX": C,  # the enum's own maximum, one below that count
        "LINK_STATS_NUM": C,  # no reserved name, but #define LINK_STATS_LAST computes a bound from it
        "FUSE_NOTIFY_CODE_MAX": C,  # every entry numbered, the count alone left to the compiler
        # Its place alone: an entry inserted before a last real value looks the same, so it stays a break.
        "VFIO_PCI_NUM_IRQS": B,
        "HALF_MAX": B,  # HALF_B is left to the compiler too: it could be pushed, so could HALF_MAX
        "LINK_MODE_COUNT": B,  # a plain alias (LINK_MODE_LIMIT) is no evidence: aliases name real values too
    }
    assert only(result, type="#define IFLA_GTP_MAX").severity == C
    assert "as a count" in only(result, member="__IFLA_GTP_MAX").message


def test_real_value_pushed_up_by_an_insertion_breaks_whatever_its_name(diff_c: DiffC) -> None:
    # IFLA_GTP_RESTART_COUNT is an attribute user space sends, the last one before the count.
    old = COUNTS % NO_EDIT
    result = diff_c(old, old.replace("IFLA_GTP_ROLE,", "IFLA_GTP_ROLE, IFLA_GTP_LOCAL,"))
    assert only(result, member="__IFLA_GTP_MAX").severity == C
    restart = only(result, member="IFLA_GTP_RESTART_COUNT")
    assert (restart.old, restart.new, restart.severity) == (2, 3, B)
    # An enum whose every name sounds like a count: the values are still values.
    counters = "enum counters { COUNT_CYCLES, %s COUNT_INSNS, COUNT_MAX };\n"
    result = diff_c(counters % "", counters % "COUNT_REFS,")
    assert {f.member: f.severity for f in result.findings if f.kind == "enumerator_value_changed"} == {
        "COUNT_INSNS": B, "COUNT_MAX": B}
    # A reserved name that does not sit on top (a real value follows it) is not a count either.
    aliased = "enum hooks { HOOK_IN, HOOK_OUT, %s __HOOK_NUM, HOOK_INGRESS = __HOOK_NUM + 1 };\n"
    result = diff_c(aliased % "", aliased % "HOOK_FWD,")
    assert only(result, member="__HOOK_NUM").severity == B
    # Moved with no value added below it (an entry renumbered up): no count moving with new entries.
    bumped = "enum bumped { K_A, K_B%s, __K_MAX };\n"
    result = diff_c(bumped % "", bumped % " = 5")
    assert only(result, member="__K_MAX").severity == B
    assert only(result, member="K_B").severity == B


def test_first_attribute_of_an_empty_set_moves_its_count_by_two(diff_c: DiffC) -> None:
    # netdev.h (upstream 04e0c4cd): netlink attributes start at 1, so the set's first one moves the count
    # from 0 to 2 and the maximum the enum derives from it from -1 to 1.
    empty = """enum {%s
    __NETDEV_A_IO_URING_PROVIDER_INFO_MAX,
    NETDEV_A_IO_URING_PROVIDER_INFO_MAX = (__NETDEV_A_IO_URING_PROVIDER_INFO_MAX - 1)
};
"""
    result = diff_c(empty % "", empty % "\n    NETDEV_A_IO_URING_PROVIDER_INFO_RX_BUF_LEN = 1,\n")
    moved = {f.member: (f.old, f.new, f.severity) for f in result.findings if f.kind == "enumerator_value_changed"}
    assert moved == {"__NETDEV_A_IO_URING_PROVIDER_INFO_MAX": (0, 2, C),
                     "NETDEV_A_IO_URING_PROVIDER_INFO_MAX": (-1, 1, C)}
    assert result.verdict == A  # the enum lost its only negative value: signed to unsigned, source-level

def test_enum_size_and_signedness(diff_c: DiffC) -> None:
    old = "enum e { E_A = 1, E_B = 2 };\nstruct s { enum e v; };\n"
    bigger = diff_c(old, "enum e { E_A = 1, E_B = 0x100000000ULL };\nstruct s { enum e v; };\n")
    assert only(bigger, kind="enum_size_changed").severity == B
    signed = diff_c(old, "enum e { E_A = -1, E_B = 2 };\nstruct s { enum e v; };\n")
    assert only(signed, kind="enum_signedness_changed").severity == A


def test_define_constants(diff_c: DiffC) -> None:
    old = "#define FOO_A 1\n#define FOO_B 2\n"
    result = diff_c(old, "#define FOO_A 1\n#define FOO_B 3\n#define FOO_C 4\n")
    assert only(result, type="#define FOO_B").severity == B
    assert only(result, type="#define FOO_C").severity == C
    assert only(diff_c(old, "#define FOO_A 1\n"), kind="constant_removed").severity == B


def test_types_added_and_removed(diff_c: DiffC) -> None:
    old = "struct keep { int a; };\nstruct gone { int a; };\n"
    result = diff_c(old, "struct keep { int a; };\nstruct fresh { long b; };\n")
    assert only(result, type="struct gone").severity == B
    assert only(result, type="struct fresh").severity == C


def test_union_member_within_size_is_compatible_growth_when_embedded_breaks(diff_c: DiffC) -> None:
    old = "union u { __u64 a; struct { __u32 x; __u32 y; } pair; };\nstruct holder { union u v; __u32 t; };\n"
    within = diff_c(old, old.replace("__u64 a;", "__u64 a; __u32 small;"))
    assert only(within, member="small").severity == C
    assert within.verdict == C
    # a member appended to a struct inside the union, still within the union's size: no other branch moves
    wide = old.replace("union u { __u64 a;", "union u { __u64 a[2];")
    branch = diff_c(wide, wide.replace("__u32 y; } pair", "__u32 y; __u32 z; } pair"))
    assert only(branch, member="pair.z").severity == C
    assert branch.verdict == C
    grown = diff_c(old, old.replace("__u64 a;", "__u64 a; __u64 big[2];"))
    assert only(grown, member="t", kind="member_offset_changed").severity == B


def test_anonymous_members_match_by_position_and_typedef(diff_c: DiffC) -> None:
    old = "typedef struct { __u64 gprs[2]; union { __u32 m; __u32 n; }; } regs_t;\n"
    new = "typedef struct { __u64 gprs[2]; union { __u32 m; __u32 n; __u32 o; }; } regs_t;\n"
    result = diff_c(old, new)
    added = only(result, member="o")
    assert (added.type, added.severity) == ("regs_t", C)


def test_long_to_s64_breaks_only_32bit_arches(diff_c: DiffC) -> None:
    # struct sysinfo's shape, its padding sized from sizeof(long)
    sysinfo = """
struct sysinfo {
    %s uptime;
    __kernel_ulong_t loads[3];
    __kernel_ulong_t totalram;
    __u16 procs;
    __u16 pad;
    __kernel_ulong_t totalhigh;
    __u32 mem_unit;
    char _f[20-2*sizeof(__kernel_ulong_t)-sizeof(__u32)];
};
"""
    result = diff_c(sysinfo % "__kernel_long_t", sysinfo % "__s64", arches=("x86_64", "i386", "aarch64", "arm"))
    by_arch = {a: max((f.severity for f in result.findings if f.arch == a), default=Severity.IDENTICAL)
               for a in result.arches}
    assert by_arch == {"x86_64": A, "aarch64": A, "i386": B, "arm": B}
    i386 = only(result, arch="i386", kind="member_type_changed")
    assert i386.old == "__kernel_long_t" and i386.new == "__s64"


def test_anonymous_struct_given_a_tag_keeps_its_identity(diff_c: DiffC) -> None:
    old = "typedef struct { __u32 a; __u32 b; } pair_t;\nstruct user { pair_t p; };\n"
    result = diff_c(old, old.replace("typedef struct {", "typedef struct pair_t {"))
    assert [(f.kind, f.severity) for f in result.findings] == [("typedef_retargeted", A)]


def test_alignment_change_moves_embedders(diff_c: DiffC) -> None:
    old = "struct a { __u32 x; };\nstruct h { __u32 y; struct a v; };\nstruct p { struct a *ptr; };\n"
    new = old.replace("struct a { __u32 x; };", "struct a { __u32 x; } __attribute__((aligned(8)));")
    result = diff_c(old, new)
    assert only(result, type="struct a", kind="align_changed").severity == B
    moved = only(result, type="struct h", member="v", kind="member_offset_changed")
    assert (moved.old, moved.new, moved.root, moved.chain) == (4, 8, "struct a", ("a", "h.v"))
    # reached only through a pointer, a new alignment is worth a review, not a break
    alone = diff_c("struct a { __u32 x; };\nstruct p { struct a *ptr; };\n",
                   "struct a { __u32 x; } __attribute__((aligned(8)));\nstruct p { struct a *ptr; };\n")
    assert only(alone, kind="align_changed").severity == R


def test_enumerator_renamed_with_same_value_is_api(diff_c: DiffC) -> None:
    old = "enum e { E_A = 1, E_B = 2 };\n"
    result = diff_c(old, "enum e { E_A = 1, E_BETTER = 2 };\n")
    renamed = only(result, kind="enumerator_renamed")
    assert (renamed.old, renamed.new, renamed.severity) == ("E_B", "E_BETTER", A)
    assert result.verdict == A


def test_anonymous_enum_constants_are_matched_by_their_names(diff_c: DiffC) -> None:
    old = "enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };\n"
    result = diff_c(old, "enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2, BPF_F_LOCK = 4 };\n")
    added = only(result, kind="enumerator_added")
    assert (added.type, added.member, added.severity) == ("enum (anonymous: BPF_ANY)", "BPF_F_LOCK", C)
    changed = diff_c(old, "enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 3 };\n")
    assert only(changed, member="BPF_EXIST").severity == B


def test_type_renamed_with_identical_layout_is_api(diff_c: DiffC) -> None:
    old = "struct old_name { __u32 a; __u64 b; };\nstruct user { struct old_name *p; };\n"
    result = diff_c(old, old.replace("old_name", "new_name"))
    renamed = only(result, kind="type_renamed")
    assert (renamed.old, renamed.new, renamed.severity) == ("struct old_name", "struct new_name", A)
    assert result.verdict == A
    # a different layout under the new name is a removal and an addition, not a rename
    other = diff_c(old, old.replace("struct old_name { __u32 a; __u64 b; }", "struct new_name { __u64 a; __u64 b; }")
                   .replace("old_name", "new_name"))
    assert {f.kind for f in other.findings} == {"type_removed", "type_added", "member_type_changed"}
