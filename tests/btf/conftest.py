"""Fixtures for the BTF reader tests: bpftool, the vmlinux raw dump (once per session), a kitchen-sink C file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .bpftool_raw import bpftool_raw

VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")

# Every BTF kind clang emits, plus the layout corner cases the issue lists.
ALL_KINDS_C = r"""
#define __user __attribute__((btf_type_tag("user")))
#define __tag(x) __attribute__((btf_decl_tag(x)))

enum small { S_NEG = -1, S_TWO = 2 };
enum uns { U_MAX = 0xffffffffu };
enum wide { W_BIG = 0x123456789abcLL, W_NEG = -5LL };
typedef enum small small_t;

struct bits {
    unsigned a:3;
    int b:7;             /* straddles the first byte boundary */
    unsigned long long c:40;
    char d;
    _Bool e:1;
    unsigned short f:12; /* straddles again */
};
struct packed_s { char c; int i; long long l; } __attribute__((packed));
struct aligned_s { char c; } __attribute__((aligned(16)));
struct fwd_only;
union fwd_union;
union un { int x; float f; struct fwd_only *p; union fwd_union *q; };
typedef const volatile int cvi_t;
struct nested {
    int kind;
    union { int i; struct { short lo, hi; }; };  /* anonymous members */
    struct { char tag[3]; } named_anon;
};
struct flex { int n; char data[]; };
struct outer {
    int __user *uptr;
    struct bits b __tag("member_tag");
    union un u;
    cvi_t matrix[2][3][4];
    struct packed_s ps;
    struct aligned_s as;
    struct nested ns;
    small_t sm;
    enum uns un_e;
    enum wide wi;
    void *restrict rp;
    int (*vfp)(int, ...);
    unsigned __int128 big;
    double d;
    long double ld;
    signed char sc;
    unsigned char uc;
    struct flex fx;      /* flexible array member last in its struct */
};

struct outer global_outer __tag("var_tag");
static volatile int static_counter;
int __tag("func_tag") entry(struct outer *restrict o, int __tag("param_tag") n)
{
    static_counter += n;
    return o->b.a + o->ns.lo + (int)o->fx.n;
}
"""


def require_tool(name: str) -> str:
    """The tool's path, or skip (scripts/setup.sh installs it); the root conftest is not importable here."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (run scripts/setup.sh)")
    return path


@pytest.fixture(scope="session")
def bpftool() -> str:
    return require_tool("bpftool")


@pytest.fixture(scope="session")
def vmlinux_bpftool_raw(bpftool: str) -> list[str]:
    """bpftool's raw dump of this kernel's BTF, one record per type (run once per session)."""
    if not VMLINUX_BTF.exists():
        pytest.skip(f"{VMLINUX_BTF} is not present on this machine")
    return bpftool_raw(bpftool, VMLINUX_BTF)
