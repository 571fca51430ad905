"""Rules for `#define`s judged by what their expansion names (issue 11, patterns 1, 2, 4): counts
that follow a sentinel enumerator, masks of flags, values derived from a type's size. Headers are
parsed by libclang; the rules never look at a constant's name, so each test has a control that
differs only in structure."""

from __future__ import annotations

from abiguard.compare.findings import Severity

from .conftest import DiffC, only

B, C = Severity.BREAKING, Severity.COMPATIBLE

SENTINEL = """
enum {
    LINK_UNSPEC,
    LINK_ADDRESS,
    LINK_MTU,%s
    __LINK_MAX
};
#define LINK_MAX (__LINK_MAX - 1)
#define LINK_LIMIT LINK_MAX
enum bpf_attach_type { BPF_CGROUP_INGRESS, BPF_CGROUP_EGRESS,%s __MAX_BPF_ATTACH_TYPE };
#define MAX_BPF_ATTACH_TYPE __MAX_BPF_ATTACH_TYPE
#define LINK_DOUBLE (__LINK_MAX * 2)
"""


def test_macro_following_a_sentinel_enumerator_is_compatible(diff_c: DiffC) -> None:
    result = diff_c(SENTINEL % ("", ""), SENTINEL % ("\n    LINK_GSO,", " BPF_LSM_MAC,"), arches=("x86_64", "s390x"))
    for name, old, new in (("LINK_MAX", 2, 3), ("LINK_LIMIT", 2, 3), ("MAX_BPF_ATTACH_TYPE", 2, 3)):
        f = only(result, type=f"#define {name}", arch="x86_64")
        assert (f.kind, f.old, f.new, f.severity) == ("constant_value_changed", old, new, C)
    assert "follows __LINK_MAX" in only(result, type="#define LINK_LIMIT", arch="s390x").message
    # Not a count of the entries: it moved by twice as much as the sentinel it names.
    assert only(result, type="#define LINK_DOUBLE", arch="x86_64").severity == B


def test_macro_following_a_sentinel_is_not_excused_when_entries_are_renumbered(diff_c: DiffC) -> None:
    # LINK_MTU moves from 2 to 3: a real break, whatever the macro that follows the count says.
    old = SENTINEL % ("", "")
    new = old.replace("LINK_ADDRESS,\n", "LINK_ADDRESS,\n    LINK_IFNAME,\n")
    result = diff_c(old, new)
    assert only(result, kind="enumerator_value_changed", member="LINK_MTU").severity == B
    assert result.verdict == B


def test_literal_limit_that_changes_stays_breaking(diff_c: DiffC) -> None:
    # A literal names nothing: no structure says it is a count.
    result = diff_c("#define LINK_MAX 2\n", "#define LINK_MAX 3\n")
    assert only(result, type="#define LINK_MAX").severity == B


MASK = """
#define RTAX_FEATURE_ECN (1 << 0)
#define RTAX_FEATURE_SACK (1 << 1)
#define RTAX_FEATURE_TIMESTAMP (1 << 2)
#define RTAX_FEATURE_ALLFRAG (1 << 3)
enum { BPF_F_INGRESS = (1ULL << 0), BPF_F_BROADCAST = (1ULL << 3), BPF_F_EXCLUDE_INGRESS = (1ULL << 4),
       BPF_F_EGRESS = (1ULL << 1) };
#define RTAX_FEATURE_MASK (RTAX_FEATURE_ECN | RTAX_FEATURE_SACK | %s)
#define BPF_F_REDIRECT_FLAGS (BPF_F_INGRESS | BPF_F_BROADCAST | %s)
#define PLAIN_SET (RTAX_FEATURE_ECN + %s)
"""


def test_mask_of_flags_gaining_a_bit_is_compatible(diff_c: DiffC) -> None:
    result = diff_c(MASK % ("RTAX_FEATURE_TIMESTAMP", "BPF_F_EXCLUDE_INGRESS", "RTAX_FEATURE_SACK"),
                    MASK % ("RTAX_FEATURE_TIMESTAMP | RTAX_FEATURE_ALLFRAG", "BPF_F_EXCLUDE_INGRESS | BPF_F_EGRESS",
                            "RTAX_FEATURE_TIMESTAMP"))
    mask = only(result, type="#define RTAX_FEATURE_MASK")
    assert (mask.old, mask.new, mask.severity) == (7, 15, C)
    assert "keeps every old bit" in mask.message
    flags = only(result, type="#define BPF_F_REDIRECT_FLAGS")
    assert (flags.old, flags.new, flags.severity) == (25, 27, C)
    # 3 -> 5 keeps bit 0 and gains bit 2, but a sum is no mask: breaking.
    assert only(result, type="#define PLAIN_SET").severity == B


def test_mask_losing_a_bit_stays_breaking(diff_c: DiffC) -> None:
    result = diff_c(MASK % ("RTAX_FEATURE_TIMESTAMP", "BPF_F_EXCLUDE_INGRESS", "1"),
                    MASK % ("RTAX_FEATURE_ALLFRAG", "BPF_F_EGRESS", "1"))
    assert only(result, type="#define RTAX_FEATURE_MASK").severity == B  # 7 -> 11: bit 2 gone
    assert only(result, type="#define BPF_F_REDIRECT_FLAGS").severity == B  # 25 -> 11: bit 4 gone


def test_mask_with_a_literal_operand_is_no_flag_union(diff_c: DiffC) -> None:
    result = diff_c("#define A_F (1 << 0)\n#define M (A_F | 0x2)\n", "#define A_F (1 << 0)\n#define M (A_F | 0x6)\n")
    assert only(result, type="#define M").severity == B


IOCTL = """
#define _IOC(dir, type, nr, size) (((dir) << 30) | ((type) << 8) | (nr) | ((size) << 16))
#define _IOC_TYPECHECK(t) (sizeof(t))
#define _IOW(type, nr, size) _IOC(1U, (type), (nr), (_IOC_TYPECHECK(size)))
struct fsxattr { __u32 fsx_xflags; __u32 fsx_extsize; __u32 fsx_nextents; %s };
typedef struct fsxattr fsxattr_t;
#define FS_IOC_FSSETXATTR _IOW('X', 32, struct fsxattr)
#define FS_IOC_TYPEDEF _IOW('X', 33, fsxattr_t)
#define FS_IOC_NUMBER _IOW('X', %s, int)
"""


def test_ioctl_number_derived_from_a_changed_sizeof_stays_breaking_with_its_reason(diff_c: DiffC) -> None:
    result = diff_c(IOCTL % ("__u32 fsx_pad[1];", "34"), IOCTL % ("__u32 fsx_pad[];", "34"), arches=("x86_64", "i386"))
    for name, spelled in (("FS_IOC_FSSETXATTR", "struct fsxattr"), ("FS_IOC_TYPEDEF", "fsxattr_t")):
        f = only(result, type=f"#define {name}", arch="i386")
        assert f.severity == B
        assert f.message.endswith(f"sizeof({spelled}) changed 16 -> 12"), f.message
    # The number only the nr and type make stays put.
    assert not [f for f in result.findings if f.type == "#define FS_IOC_NUMBER"]


def test_ioctl_number_changed_by_its_nr_has_no_size_reason(diff_c: DiffC) -> None:
    result = diff_c(IOCTL % ("", "34"), IOCTL % ("", "35"))
    f = only(result, type="#define FS_IOC_NUMBER")
    assert f.severity == B
    assert "sizeof" not in f.message


def test_constant_removed_stays_breaking(diff_c: DiffC) -> None:
    without = MASK.replace("#define RTAX_FEATURE_ALLFRAG (1 << 3)\n", "")
    result = diff_c(MASK % ("1", "1", "1"), without % ("1", "1", "1"))
    f = only(result, type="#define RTAX_FEATURE_ALLFRAG")
    assert (f.kind, f.severity) == ("constant_removed", B)


def test_anonymous_enum_given_a_tag_is_the_same_enum(diff_c: DiffC) -> None:
    # pkt_cls.h's `enum { TCA_ID_UNSPEC, ... }` became `enum tca_id { ... }` upstream: nothing was removed.
    old = "enum { TCA_ID_UNSPEC = 0, TCA_ID_POLICE = 1, __TCA_ID_MAX = 255 };\n#define TCA_ID_MAX __TCA_ID_MAX\n"
    new = old.replace("enum {", "enum tca_id {").replace("TCA_ID_POLICE = 1,", "TCA_ID_POLICE = 1, TCA_ID_GACT = 2,")
    result = diff_c(old, new)
    assert not [f for f in result.findings if f.kind in ("type_removed", "type_added")]
    assert only(result, kind="enumerator_added", member="TCA_ID_GACT").type == "enum tca_id"
    assert result.verdict == C
    # An anonymous enum whose enumerators went to two different tagged enums is no tagging.
    split = "enum left { TCA_ID_UNSPEC = 0 };\nenum right { TCA_ID_POLICE = 1, __TCA_ID_MAX = 255 };\n"
    assert only(diff_c(old, split + "#define TCA_ID_MAX __TCA_ID_MAX\n"), kind="type_removed").severity == B


def test_define_that_became_an_enumerator_is_no_removal(diff_c: DiffC) -> None:
    # btf.h moved BTF_MAX_* into `enum btf_max`; BTF_MAX_VLEN grew on the way (a real value change).
    old = "#define BTF_MAX_TYPE 0x000fffff\n#define BTF_MAX_VLEN 0xffff\n"
    new = "enum btf_max { BTF_MAX_TYPE = 0x000fffff, BTF_MAX_VLEN = 0xffffff };\n"
    result = diff_c(old, new)
    same = only(result, type="#define BTF_MAX_TYPE")
    assert (same.kind, same.severity) == ("constant_to_enumerator", Severity.API)
    grown = only(result, type="#define BTF_MAX_VLEN")
    assert (grown.kind, grown.severity, grown.new) == ("constant_value_changed", B, 0xffffff)
    assert "now an enumerator" in grown.message
