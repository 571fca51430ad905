"""The content cache: hits on a re-run, partial re-parse after an edit, corruption, --no-cache, races."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from abiguard.model import TypeGraph
from abiguard.model.target import parse_arch_list
from abiguard.sources import SourceOptions
from abiguard.sources.kernel import KernelResult, codec, load_kernel, planning
from abiguard.sources.kernel.cache import FORMAT

from .conftest import make_mini_tree

TARGETS = parse_arch_list("s390x")


def _summary(graphs: list[TypeGraph]) -> list[tuple[str, int, list[tuple[str, int]], int]]:
    """Enough of a result to tell two reads apart: per target, type count, named sizes, constants."""
    out = []
    for g in graphs:
        named = sorted((g.describe(i), g.size_of(i)) for i in g.ids() if g[i].name)
        out.append((g.target.name, len(g.types), named, len(g.constants)))
    return out


def _read(tree: Path, cache: Path, use_cache: bool = True) -> KernelResult:
    return load_kernel(f"kernel:{tree}", TARGETS, SourceOptions(use_cache=use_cache), cache_root=cache)


def _files(cache: Path) -> dict[str, bytes]:
    return {p.relative_to(cache).as_posix(): p.read_bytes() for p in cache.rglob("*") if p.is_file()}


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """TUs of a few headers each, so the mini tree (a dozen roots) makes several of them."""
    monkeypatch.setattr(planning, "CHUNK", 4)


@pytest.fixture
def mini_tree(linux_source: Path, tmp_path: Path) -> Path:
    return make_mini_tree(linux_source, tmp_path / "tree")


@pytest.mark.usefixtures("small_chunks")
def test_rerun_hits_and_edit_reparses_only_readers(mini_tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _read(mini_tree, cache)
    total = first.stats.parsed
    assert total >= 3 and first.stats.cached == 0  # several TUs, all parsed
    assert first.graphs[0].resolve("struct bpf_perf_event_data")

    second = _read(mini_tree, cache)
    assert second.stats.parsed == 0 and second.stats.cached == total
    assert _summary(second.graphs) == _summary(first.graphs)

    # Edit one header: only the TUs that read it are parsed again.
    edited = "include/uapi/linux/bpf_perf_event.h"
    readers = {roots for (_, roots), files in second.stats.inputs.items() if f"usr/include/{edited[13:]}" in files}
    assert readers and len(readers) < total
    path = mini_tree / edited
    path.write_text(path.read_text().replace("__u64 addr;", "__u64 addr;\n\t__u64 abiguard_test_field;"))
    third = _read(mini_tree, cache)
    assert {roots for _, roots in third.stats.parsed_roots} == readers
    assert third.stats.cached == total - len(readers)
    g = third.graphs[0]
    assert g.size_of(g.resolve("struct bpf_perf_event_data")) == 8 + first.graphs[0].size_of(
        first.graphs[0].resolve("struct bpf_perf_event_data"))


def test_corrupt_entries_are_ignored_and_rewritten(mini_tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _read(mini_tree, cache)
    total = first.stats.parsed
    res = sorted((cache / f"units-v{FORMAT}" / "res").rglob("*.bin"))
    # Drop the merged graphs, so the units themselves are read; then damage one unit and one index.
    units = []
    for p in res:
        try:
            value = codec.load(p.read_bytes()[8 + 4 + 32:])
        except Exception:
            continue  # install entries are plain pickles
        if isinstance(value, TypeGraph):
            p.unlink()
        elif getattr(value, "ok", False):
            units.append(p)
    victim = units[0]
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    # An index of another TU (an index names its results' keys; the victim's key is its file name).
    idx = next(p for p in sorted((cache / f"units-v{FORMAT}" / "idx").rglob("*.json"))
               if victim.stem not in p.read_text())
    idx.write_text("{not json")

    second = _read(mini_tree, cache)
    assert second.stats.corrupt >= 2
    assert 1 <= second.stats.parsed <= 2  # the damaged unit and the TU behind the damaged index
    assert _summary(second.graphs) == _summary(first.graphs)
    json.loads(idx.read_text())  # rewritten whole

    third = _read(mini_tree, cache)
    assert third.stats.parsed == 0 and third.stats.corrupt == 0 and third.stats.cached == total


def test_no_cache_bypasses(mini_tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _read(mini_tree, cache)
    before = _files(cache)
    again = _read(mini_tree, cache, use_cache=False)
    assert again.stats.parsed == first.stats.parsed and again.stats.cached == 0
    assert _files(cache) == before  # nothing read from it, nothing written to it
    assert _summary(again.graphs) == _summary(first.graphs)


_CHILD = """
import sys, json
from pathlib import Path
from abiguard.sources.kernel import load_kernel
from abiguard.model.target import parse_arch_list
from abiguard.sources import SourceOptions
r = load_kernel(sys.argv[1], parse_arch_list("s390x"), SourceOptions(), cache_root=Path(sys.argv[2]))
g = r.graphs[0]
print(json.dumps([len(g.types), len(g.constants), g.size_of(g.resolve("struct bpf_perf_event_data"))]))
"""


@pytest.mark.slow
def test_concurrent_runs_share_the_cache(mini_tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen([sys.executable, "-c", _CHILD, f"kernel:{mini_tree}", str(cache)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    results = {o for o, _ in outs}
    assert len(results) == 1
    after = _read(mini_tree, cache)
    assert after.stats.parsed == 0 and after.stats.corrupt == 0
    g = after.graphs[0]
    assert json.loads(results.pop()) == [len(g.types), len(g.constants),
                                         g.size_of(g.resolve("struct bpf_perf_event_data"))]
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".stage-")]


def test_progress_bar_on_a_terminal_only(mini_tree: Path, tmp_path: Path) -> None:
    """stderr a terminal: a rich progress bar; stderr a pipe: only the diagnostics lines."""
    import os
    import pty

    from .conftest import ABIGUARD

    cmd = [str(ABIGUARD), "layout", "bpf_perf_event_data", f"kernel:{mini_tree}", "--arch", "s390x", "--no-cache"]
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=600)
    os.close(master)
    assert proc.returncode == 0
    assert b"parsing kernel:" in seen

    piped = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert piped.returncode == 0
    assert "parsing kernel:" not in piped.stderr and "\x1b[" not in piped.stderr
    assert all(line.startswith(("abiguard: warning: ", "abiguard: note: ")) for line in piped.stderr.splitlines())
