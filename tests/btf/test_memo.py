"""The per-content parse memo: a second read of the same large BTF restores its scan and link proof.

A restored parse must answer exactly as a fresh one; a damaged entry is parsed afresh and replaced;
a blob that fails its checks leaves nothing behind; a cache that cannot be written warns once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cache_home, read_only

from abiguard.errors import AbiguardError
from abiguard.sources.btf import reader, table
from abiguard.sources.btf.memo import MIN_BYTES, ParseMemo
from abiguard.sources.btf.reader import ParsedBtf, parse_btf

from .btfwriter import BtfWriter

ABIGUARD = Path(sys.executable).with_name("abiguard")


def _large(cycle: bool = False) -> bytes:
    """Over MIN_BYTES of structs that point ahead and behind (so the link pass has real work)."""
    w = BtfWriter()
    i = w.int_("int", 4, 1)
    count = 24_000
    first = i + 1
    for n in range(count):
        ahead = first + (n * 7919) % count  # a pointer to any struct, often one not yet written
        w.struct(f"s{n}", 16, [("a", i, 0, 0), ("b", i, 32, 0), ("p", _pointer_to(first, count, ahead), 64, 0)])
    for n in range(count):
        w.ptr(first + n)  # id first + count + n points at struct n
    if cycle:
        t = w.typedef("loop_a", first + 2 * count + 1)
        w.typedef("loop_b", t)
    data = w.build()
    assert len(data) > MIN_BYTES
    return data


def _pointer_to(first: int, count: int, struct_id: int) -> int:
    """The id of the pointer to `struct_id`: pointers follow all structs, in struct order."""
    return first + count + (struct_id - first)


def _answers(parsed: ParsedBtf) -> list[str]:
    g = parsed.graph
    return [g.describe(tid) for tid in range(1, len(g))]


def test_second_read_restores_scan_and_proof(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _large()
    memo = ParseMemo(tmp_path / "memo")
    fresh = _answers(parse_btf(data, "big.btf", memo=memo))
    (entry,) = (tmp_path / "memo").iterdir()

    def never(*args, **kwargs):
        raise AssertionError("a known blob must be neither scanned nor link-checked again")

    monkeypatch.setattr(reader, "scan_types", never)
    monkeypatch.setattr(table, "raw_links", never)
    assert _answers(parse_btf(data, "big.btf", memo=ParseMemo(tmp_path / "memo"))) == fresh
    assert list((tmp_path / "memo").iterdir()) == [entry]


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "empty"])
def test_damaged_entry_is_parsed_afresh_and_replaced(tmp_path: Path, damage: str) -> None:
    data = _large()
    fresh = _answers(parse_btf(data, "big.btf"))
    memo = ParseMemo(tmp_path / "memo")
    parse_btf(data, "big.btf", memo=memo)
    (entry,) = (tmp_path / "memo").iterdir()
    good = entry.read_bytes()
    bad = {"truncated": good[: len(good) // 2], "flipped": good[:-5000] + bytes([good[-5000] ^ 1]) + good[-4999:],
           "garbage": os.urandom(4096), "empty": b""}[damage]
    entry.write_bytes(bad)
    assert _answers(parse_btf(data, "big.btf", memo=ParseMemo(tmp_path / "memo"))) == fresh
    assert ParseMemo(tmp_path / "memo").restore(entry.name) is not None  # whole again


def test_blob_that_fails_its_checks_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(AbiguardError, match="reference cycle not through a pointer"):
        parse_btf(_large(cycle=True), "bad.btf", memo=ParseMemo(tmp_path / "memo"))
    assert not (tmp_path / "memo").exists() or not list((tmp_path / "memo").iterdir())


def test_small_blobs_and_disabled_memos_keep_nothing(tmp_path: Path) -> None:
    w = BtfWriter()
    w.int_("int", 4, 1)
    parse_btf(w.build(), "small.btf", memo=ParseMemo(tmp_path / "memo"))
    parse_btf(_large(), "big.btf", memo=ParseMemo(None))
    assert not (tmp_path / "memo").exists()


def _layout(path: Path, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(home)}
    return subprocess.run([str(ABIGUARD), "layout", "s1", str(path), *extra], capture_output=True, text=True,
                          env=env, timeout=300)


def test_cli_reads_through_the_memo_and_honours_no_cache(tmp_path: Path) -> None:
    path = tmp_path / "big.btf"
    path.write_bytes(_large())
    home = tmp_path / "home"
    off = _layout(path, home, "--no-cache")
    assert off.returncode == 0 and not home.exists()
    first, second = _layout(path, home), _layout(path, home)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout == off.stdout
    assert len(list((home / "abiguard" / "btf").iterdir())) == 1


def test_read_only_cache_answers_with_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "big.btf"
    path.write_bytes(_large())
    plain = _layout(path, tmp_path / "plain", "--no-cache")
    with cache_home(tmp_path) as home, read_only(home):
        ro = _layout(path, home)
        assert ro.returncode == 0 and ro.stdout == plain.stdout
        (line,) = [x for x in ro.stderr.splitlines() if "cannot write the cache" in x]
        assert line.startswith("abiguard: warning: ")
        assert not list(home.rglob("*"))
