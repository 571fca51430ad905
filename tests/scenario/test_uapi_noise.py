"""Issue 11 on the real Linux 6.1 UAPI: upstream-style changes that are no break (an enumerator
appended before a sentinel that IFLA_MAX / MAX_BPF_ATTACH_TYPE follow, a flag added to
RTAX_FEATURE_MASK / BPF_F_REDIRECT_FLAGS) must not read as breaking; real breaks (an enumerator
renumbered, a #define removed, a mask losing a bit, an ioctl number whose struct grew) must; and a
header that stops compiling (linux/fcntl.h using uint32_t, as upstream once did) is one finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from abiguard.compare import DiffResult, run_diff
from abiguard.compare.findings import Finding, Severity
from abiguard.model.target import parse_arch_list
from abiguard.sources import SourceOptions, load_source

from .kernel_repo import edit_commit, uapi_repo

B, C = Severity.BREAKING, Severity.COMPATIBLE
IF_LINK, BPF, RTNETLINK = "include/uapi/linux/if_link.h", "include/uapi/linux/bpf.h", "include/uapi/linux/rtnetlink.h"
FS, FCNTL = "include/uapi/linux/fs.h", "include/uapi/linux/fcntl.h"
ETHTOOL = "include/uapi/linux/ethtool_netlink.h"
ETHTOOL_COUNT = "\t/* add new constants above here */\n\t__ETHTOOL_MSG_USER_CNT,\n"
MASK_TAIL = "RTAX_FEATURE_TIMESTAMP | RTAX_FEATURE_ALLFRAG)"
REDIRECT_LAST = "\tBPF_F_EXCLUDE_INGRESS\t= (1ULL << 4), /* used for XDP path */\n"

GROWS = [
    (IF_LINK, "\t__IFLA_MAX\n};", "\tIFLA_ABIGUARD_TEST,\n\t__IFLA_MAX\n};"),
    (BPF, "\t__MAX_BPF_ATTACH_TYPE\n};", "\tBPF_ABIGUARD_TEST,\n\t__MAX_BPF_ATTACH_TYPE\n};"),
    (ETHTOOL, ETHTOOL_COUNT, "\tETHTOOL_MSG_ABIGUARD_TEST,\n" + ETHTOOL_COUNT),
    (RTNETLINK, "#define RTAX_FEATURE_ALLFRAG\t(1 << 3)\n",
     "#define RTAX_FEATURE_ALLFRAG\t(1 << 3)\n#define RTAX_FEATURE_TCP_USEC_TS\t(1 << 4)\n"),
    (RTNETLINK, MASK_TAIL, "RTAX_FEATURE_TIMESTAMP | RTAX_FEATURE_ALLFRAG | \\\n\t\t\t\t RTAX_FEATURE_TCP_USEC_TS)"),
    (BPF, REDIRECT_LAST, REDIRECT_LAST + "\tBPF_F_EGRESS\t\t= (1ULL << 1),\n"),
    (BPF, "BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS)", "BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS | BPF_F_EGRESS)"),
]
BREAKS = [
    (RTNETLINK, MASK_TAIL, "RTAX_FEATURE_TIMESTAMP)"),
    (BPF, "\tBPF_MAP_TYPE_HASH,\n", "\tBPF_MAP_TYPE_ABIGUARD_TEST,\n\tBPF_MAP_TYPE_HASH,\n"),
    (FS, "unsigned char\tfsx_pad[8];", "unsigned char\tfsx_pad[12];"),
    (IF_LINK, "#define XDP_FLAGS_SKB_MODE\t\t(1U << 1)\n", ""),
    (IF_LINK, "\tIFLA_GTP_RESTART_COUNT,\n", "\tIFLA_GTP_ABIGUARD_TEST,\n\tIFLA_GTP_RESTART_COUNT,\n"),
]
FCNTL_BREAKS = [
    (FCNTL, "/*\n * Types of directory notifications",
     "#define F_GETDELEG (F_LINUX_SPECIFIC_BASE + 15)\nstruct delegation {\n\tuint32_t d_flags;\n"
     "\tuint16_t d_type;\n\tuint16_t __pad;\n};\n\n/*\n * Types of directory notifications"),
]
ARCHES = parse_arch_list("x86_64,i386")


@pytest.fixture(scope="module")
def diffs(linux_source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, DiffResult]:
    repo = tmp_path_factory.mktemp("linux-noise")
    base = uapi_repo(linux_source, repo)
    commits = {name: edit_commit(repo, base, name, edits, name)
               for name, edits in (("grows", GROWS), ("breaks", BREAKS), ("fcntl", FCNTL_BREAKS))}
    old = load_source(f"kernel:{repo}@{base}", ARCHES, SourceOptions())
    return {name: run_diff(old, load_source(f"kernel:{repo}@{commit}", ARCHES, SourceOptions()))
            for name, commit in commits.items()}


def _one(result: DiffResult, type_name: str, arch: str = "i386") -> Finding:
    hits = [f for f in result.findings if f.type == type_name and f.arch == arch]
    assert len(hits) == 1, [f.message for f in result.findings if f.arch == arch]
    return hits[0]


def _member(result: DiffResult, enumerator: str, arch: str = "i386") -> Finding:
    hits = [f for f in result.findings if f.member == enumerator and f.arch == arch]
    assert len(hits) == 1 and hits[0].kind == "enumerator_value_changed", [f.message for f in hits]
    return hits[0]


def test_counts_following_sentinels_and_masks_gaining_flags_are_compatible(diffs: dict[str, DiffResult]) -> None:
    result = diffs["grows"]
    for name in ("IFLA_MAX", "MAX_BPF_ATTACH_TYPE", "RTAX_FEATURE_MASK", "BPF_F_REDIRECT_FLAGS"):
        f = _one(result, f"#define {name}")
        assert (f.kind, f.severity) == ("constant_value_changed", C), f.message
    assert _one(result, "#define RTAX_FEATURE_MASK").new == 31
    # The counts themselves: reserved names, and the maximum ethtool_netlink.h derives inside the enum.
    for name in ("__IFLA_MAX", "__MAX_BPF_ATTACH_TYPE", "__ETHTOOL_MSG_USER_CNT", "ETHTOOL_MSG_USER_MAX"):
        f = _member(result, name)
        assert (f.new - f.old, f.severity) == (1, C), f.message
    assert result.verdict == C, [f.message for f in result.findings if f.severity == B]


def test_real_constant_breaks_stay_breaking(diffs: dict[str, DiffResult]) -> None:
    result = diffs["breaks"]
    mask = _one(result, "#define RTAX_FEATURE_MASK")
    assert (mask.old, mask.new, mask.severity) == (15, 7, B)
    renumbered = [f for f in result.findings
                  if f.kind == "enumerator_value_changed" and f.member == "BPF_MAP_TYPE_HASH"]
    assert renumbered and all(f.severity == B for f in renumbered)
    # IFLA_GTP_RESTART_COUNT is an attribute, the last before the count: pushed up by an insertion, it
    # breaks (its name and place read as a count to a word list); the count it pushed stays compatible.
    restart = _member(result, "IFLA_GTP_RESTART_COUNT")
    assert (restart.new - restart.old, restart.severity) == (1, B), restart.message
    assert _member(result, "__IFLA_GTP_MAX").severity == C
    assert _one(result, "#define IFLA_GTP_MAX").severity == C
    removed = _one(result, "#define XDP_FLAGS_SKB_MODE", "x86_64")
    assert (removed.kind, removed.severity) == ("constant_removed", B)
    for arch in ("x86_64", "i386"):
        ioctl = _one(result, "#define FS_IOC_FSGETXATTR", arch)
        assert ioctl.severity == B
        assert ioctl.message.endswith("sizeof(struct fsxattr) changed 28 -> 32"), ioctl.message


def test_header_that_stops_compiling_is_one_finding(diffs: dict[str, DiffResult]) -> None:
    result = diffs["fcntl"]
    breaking = [f for f in result.findings if f.severity == B]
    assert {(f.kind, f.type, f.arch) for f in breaking} == {
        ("header_no_longer_compiles", "header linux/fcntl.h", arch) for arch in ("x86_64", "i386")}
    f = _one(result, "header linux/fcntl.h")
    assert "unknown type name 'uint32_t'" in f.message and f.location.startswith("linux/fcntl.h:")
    for includer in ("linux/eventpoll.h", "linux/signalfd.h"):
        assert includer in f.message
    assert "EPOLLIN" in f.message  # named among the declarations not judged
    assert not [f for f in result.findings if f.kind in ("type_removed", "constant_removed", "func_removed")]
