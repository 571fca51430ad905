"""The per-kernel content index: a known kernel is neither scanned, link-checked nor walked again, and answers
the same."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from abiguard.bpf.cache import Cache
from abiguard.bpf.check import resolve_object
from abiguard.bpf.kernels import load_kernels
from abiguard.bpf.objfile import BpfObject, read_object
from abiguard.sources.btf import reader, table

from . import test_relocate as progs


def _results(obj: BpfObject, kernel: Path, cache: Cache) -> list[tuple]:
    (ref,) = load_kernels([str(kernel)], None, cache)
    verdict = resolve_object(obj, ref)
    ref.unload()
    return [(r.relo.insn_off, r.status, r.new_val, r.target, r.reason) for r in verdict.results]


@pytest.fixture
def kernel(kernel_btf) -> Path:
    return kernel_btf(progs.S390_NEW, progs.S390_NEW_USES, name="knew", raw=True)


def test_known_kernel_skips_the_scan_and_the_walks(bpf_prog, kernel: Path, tmp_path: Path, monkeypatch):
    first_obj = read_object(bpf_prog(progs.V2_PROG, name="first"))
    other_obj = read_object(bpf_prog(progs.FLAVOR_PROG % progs.UNGUARDED_S390, name="other"))
    cache = Cache(directory=tmp_path / "cache")
    uncached_first = _results(first_obj, kernel, Cache(enabled=False))
    uncached_other = _results(other_obj, kernel, Cache(enabled=False))
    assert _results(first_obj, kernel, cache) == uncached_first
    (entry,) = (tmp_path / "cache").glob("idx-*")

    walks: list[int] = []
    real_walk = table.BtfTypes._walk

    def counting_walk(self, root, rule):
        walks.append(root)
        return real_walk(self, root, rule)

    def no_scan(*args, **kwargs):
        raise AssertionError("a known kernel must not be scanned again")

    def no_links(*args, **kwargs):
        raise AssertionError("a known kernel's links were checked when it was first read")

    monkeypatch.setattr(reader, "scan_types", no_scan)
    monkeypatch.setattr(table, "raw_links", no_links)
    monkeypatch.setattr(table.BtfTypes, "_walk", counting_walk)
    assert _results(first_obj, kernel, cache) == uncached_first
    assert walks == []  # every type the first object touched was proven in the first run
    # another object on the known kernel: same answers as without any cache, its new types walked and kept
    assert _results(other_obj, kernel, cache) == uncached_other
    after_other = len(walks)
    assert _results(other_obj, kernel, cache) == uncached_other
    assert len(walks) == after_other
    assert entry.exists()


@pytest.mark.parametrize(
    "damage",
    [
        b"garbage",
        pickle.dumps((3, (b"\0" * 8, b"\0" * 8, (b"", b"", b"", b"", b""), {}, {}, "0" * 64))),
        pickle.dumps((3, ("not bytes", b"", (), {}, {}, ""))),
    ],
)
def test_a_damaged_index_is_rebuilt(bpf_prog, kernel: Path, tmp_path: Path, damage: bytes):
    obj = read_object(bpf_prog(progs.V2_PROG))
    cache = Cache(directory=tmp_path / "cache")
    expected = _results(obj, kernel, Cache(enabled=False))
    assert _results(obj, kernel, cache) == expected
    (entry,) = (tmp_path / "cache").glob("idx-*")
    entry.write_bytes(damage)
    assert _results(obj, kernel, cache) == expected
    assert _results(obj, kernel, cache) == expected
