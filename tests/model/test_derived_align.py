"""Alignment derived from BTF (which records none) checked against clang's _Alignof."""

from __future__ import annotations

import pytest

from abiguard.sources.btf.reader import read_btf_file

STRUCTS = """
struct plain { char c; long l; };
struct packed_s { char c; long l; } __attribute__((packed));
struct aligned_member { char c; int x __attribute__((aligned(32))); };
struct aligned_tail { long a; char b; } __attribute__((aligned(64)));
struct only_aligned_char { char x __attribute__((aligned(16))); };
struct nests_aligned { char c; struct aligned_tail t; };
union aligned_union { char c[3]; int i; } __attribute__((aligned(16)));
struct bits { unsigned a:3; unsigned b:30; char c; };
"""
NAMES = ["plain", "packed_s", "aligned_member", "aligned_tail", "only_aligned_char", "nests_aligned", "bits"]
USE = "\n".join(f"struct {n} v_{n};" for n in NAMES) + "\nunion aligned_union v_u;\n"


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
def test_derived_alignment_is_clangs(compile_c, target: str) -> None:
    graph = read_btf_file(compile_c(STRUCTS + USE, target=target, name="structs"))
    spelled = [f"struct {n}" for n in NAMES] + ["union aligned_union"]
    derived = {name: graph.align_of(graph.resolve(name)) for name in spelled}
    assert all(graph.align_is_derived(graph.resolve(name)) for name in spelled)
    # clang is the oracle: the derived values must be exactly what it computes.
    checks = "\n".join(f"_Static_assert(_Alignof({name}) == {a}, \"{name}\");" for name, a in derived.items())
    compile_c(STRUCTS + checks, target=target, name="checks")
    assert derived["struct aligned_member"] == 32 and derived["struct packed_s"] == 1
