"""Fixtures for the layout/users tests: a C file exercising every layout feature, compiled per test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ABIGUARD = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "abiguard"

# Every layout feature pahole prints: holes, bit holes, bitfields across units, packed and aligned
# structs, anonymous and named inline members, flexible arrays, struct padding inside members.
LAYOUT_C = r"""
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef long long s64;

struct holes { char a; u64 b; u16 c; u32 d; char e; };
struct bits { u8 a:1; u8 b:3; u32 c:5; u32 d:20; u64 e:40; char f; u16 g:2; int h:7; };
struct __attribute__((packed)) packed { char a; u32 b; u16 c; u64 d; u8 e:3; u16 f:12; };
struct aligned { char a; int b __attribute__((aligned(16))); char c; } __attribute__((aligned(32)));
struct anon {
    int x;
    union { u32 a; struct { u16 lo; u16 hi; }; };
    struct { char tag; u64 v; } named;
    char tail;
};
struct flex { u32 n; u16 k; u64 data[]; };
struct inner_pad { u64 a; char b; };
struct outer { struct inner_pad ip; char c; struct inner_pad ip2[2]; u8 z; };
union un { char c[5]; u32 x; struct holes h; };
enum sign { SIGN_NEG = -1, SIGN_POS = 7 };
enum wide { WIDE_BIG = 0x100000000ULL, WIDE_SMALL = 1 };
typedef struct holes holes_t;
typedef struct { u16 a; u64 b; } anon_t;
struct fnptr { void (*cb)(int, char *); int (*arr)[4]; const char *name; volatile u32 flags; };
struct deep { u8 pre; struct { u8 x; union { u16 y; struct { u8 p:4; u8 q:4; } nib; }; u32 z; } mid; };

struct holes v_holes; struct bits v_bits; struct packed v_packed; struct aligned v_aligned;
struct anon v_anon; struct flex v_flex; struct outer v_outer; union un v_un;
enum sign v_sign; enum wide v_wide; holes_t v_holes_t; anon_t v_anon_t; struct fnptr v_fnptr;
struct deep v_deep;
"""

STRUCT_NAMES = ("holes", "bits", "packed", "aligned", "anon", "flex", "outer", "fnptr", "deep")
UNION_NAMES = ("un",)


@pytest.fixture(params=["bpf", "bpfeb"])
def layout_object(request: pytest.FixtureRequest, compile_c) -> Path:
    """LAYOUT_C compiled with clang for little- and big-endian BPF."""
    return compile_c(LAYOUT_C, target=request.param, name=f"layout_{request.param}")


def require_tool(name: str) -> str:
    """The tool's path, or skip (scripts/setup.sh installs it)."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (run scripts/setup.sh)")
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `abiguard` as a user would."""
    if not ABIGUARD.exists():
        pytest.skip(".venv/bin/abiguard is not installed (run scripts/setup.sh)")
    return subprocess.run([str(ABIGUARD), *args], capture_output=True, text=True, timeout=300)
