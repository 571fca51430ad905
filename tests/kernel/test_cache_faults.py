"""The caches under faults: a run killed with SIGKILL while writing, a read-only cache, a full cache.

No later run may trust a half-written entry; a cache that cannot be written costs only time: the run
goes on without storing to it and prints one warning. (Two runs sharing a cache at once:
test_cache.py::test_concurrent_runs_share_the_cache.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from conftest import cache_home, mounted_tmpfs, read_only

from abiguard import CacheWarning
from abiguard.model.target import parse_arch_list
from abiguard.sources import SourceOptions
from abiguard.sources.kernel import load_kernel
from abiguard.sources.kernel.cache import FORMAT, UnitCache

from .conftest import ABIGUARD, make_mini_tree

WARNING = "cannot write the cache"


@pytest.fixture
def mini_tree(linux_source: Path, tmp_path: Path) -> Path:
    return make_mini_tree(linux_source, tmp_path / "tree")


def _layout(tree: Path, cache_home: Path | None) -> subprocess.CompletedProcess[str]:
    """`abiguard layout bpf_perf_event_data kernel:TREE --arch s390x` with its cache under `cache_home`
    (None: --no-cache)."""
    cmd = [str(ABIGUARD), "layout", "bpf_perf_event_data", f"kernel:{tree}", "--arch", "s390x"]
    env = dict(os.environ)
    if cache_home is None:
        cmd.append("--no-cache")
    else:
        env["XDG_CACHE_HOME"] = str(cache_home)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if WARNING in line]


def test_read_only_cache_runs_without_it_and_warns_once(mini_tree: Path, tmp_path: Path) -> None:
    plain = _layout(mini_tree, None)
    assert plain.returncode == 0, plain.stderr
    with cache_home(tmp_path) as home, read_only(home):
        ro = _layout(mini_tree, home)
        assert ro.returncode == 0, ro.stderr
        assert ro.stdout == plain.stdout
        (line,) = _warnings(ro.stderr)
        assert line.startswith("abiguard: warning: ") and "going on without storing to it" in line
        assert not list(home.rglob("*"))  # nothing written, nothing half-made


def test_read_only_cache_that_holds_the_entries_answers_without_a_warning(mini_tree: Path, tmp_path: Path) -> None:
    targets = parse_arch_list("s390x")
    with cache_home(tmp_path) as home:
        first = load_kernel(f"kernel:{mini_tree}", targets, SourceOptions(), cache_root=home / "abiguard")
        with read_only(home), warnings.catch_warnings():
            warnings.simplefilter("error", CacheWarning)  # an attempt to write would raise here
            again = load_kernel(f"kernel:{mini_tree}", targets, SourceOptions(), cache_root=home / "abiguard")
    assert again.stats.parsed == 0 and again.stats.cached == first.stats.parsed
    g, h = first.graphs[0], again.graphs[0]
    assert len(g) == len(h) and g.size_of(g.resolve("struct bpf_perf_event_data")) == h.size_of(
        h.resolve("struct bpf_perf_event_data"))


def test_full_cache_runs_without_it_and_warns_once(mini_tree: Path, tmp_path: Path) -> None:
    plain = _layout(mini_tree, None)
    assert plain.returncode == 0, plain.stderr
    # 64 KiB: the staged headers alone need more, so the very first write fails half-way.
    with mounted_tmpfs(tmp_path / "full", "64k") as home:
        full = _layout(mini_tree, home)
        assert full.returncode == 0, full.stderr
        assert full.stdout == plain.stdout
        (line,) = _warnings(full.stderr)
        assert "No space left on device" in line
        leftovers = [p for p in home.rglob("*") if p.name.startswith(".stage-") or p.name.endswith(".tmp")]
        assert leftovers == []  # the half-staged tree was removed


def test_full_or_read_only_cache_in_the_api_is_one_python_warning(mini_tree: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the Python API the warning is a CacheWarning; every write fails (ENOSPC) in this process."""
    import errno

    from abiguard.sources.kernel import cache as cache_module
    from abiguard.sources.kernel import staging

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cache_module, "atomic_write", full)
    monkeypatch.setattr(staging, "stage_in_cache", full)
    targets = parse_arch_list("s390x")
    with pytest.warns(CacheWarning) as caught:
        result = load_kernel(f"kernel:{mini_tree}", targets, SourceOptions(), cache_root=tmp_path / "c")
    assert len(caught) == 1 and "No space left on device" in str(caught[0].message)
    plain = load_kernel(f"kernel:{mini_tree}", targets, SourceOptions(use_cache=False))
    assert len(result.graphs[0]) == len(plain.graphs[0])


_WRITER = """
import sys
from pathlib import Path
from abiguard.sources.kernel.cache import UnitCache
cache = UnitCache(Path(sys.argv[1]))
n = 0
while True:  # rewrite one entry forever, each time with a different (self-describing) payload
    n += 1
    cache.put("ab" + "0" * 62, n.to_bytes(8, "little") * (4 << 20))
"""


def test_killed_while_writing_leaves_no_entry_a_later_run_trusts(tmp_path: Path) -> None:
    """SIGKILL lands while an entry is being written (its temp file is there): the entry a later run
    finds is absent or whole, never half; the loop retries until a kill caught a write half-way."""
    root = tmp_path / "cache"
    key = "ab" + "0" * 62
    entry_dir = root / f"units-v{FORMAT}" / "res" / "ab"
    caught_mid_write = 0
    for _ in range(20):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(root)])
        try:
            while not (entry_dir.is_dir() and any(p.name.endswith(".tmp") for p in entry_dir.iterdir())):
                assert proc.poll() is None
                time.sleep(0.01)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        if any(p.name.endswith(".tmp") and p.stat().st_size for p in entry_dir.iterdir()):
            caught_mid_write += 1
        cache = UnitCache(root)
        value = cache._load(key, lambda payload: payload)
        assert cache.corrupt == 0
        if value is not None:  # a whole payload: one 8-byte counter repeated
            assert len(value) == 8 * (4 << 20) and value == value[:8] * (4 << 20)
        if caught_mid_write >= 2:
            break
    assert caught_mid_write >= 2


def test_kernel_run_killed_mid_way_then_rerun_equals_uncached(mini_tree: Path, tmp_path: Path) -> None:
    """A whole run killed (parent and workers) while it fills the cache; the next run equals --no-cache."""
    home = tmp_path / "home"
    res = home / "abiguard" / f"units-v{FORMAT}" / "res"
    env = {**os.environ, "XDG_CACHE_HOME": str(home)}
    cmd = [str(ABIGUARD), "layout", "bpf_perf_event_data", f"kernel:{mini_tree}", "--arch", "s390x"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while proc.poll() is None and not (res.is_dir() and any(res.rglob("*.bin"))):
            time.sleep(0.01)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    plain = _layout(mini_tree, None)
    again = _layout(mini_tree, home)
    assert again.returncode == 0 and again.stdout == plain.stdout, again.stderr
    targets = parse_arch_list("s390x")
    third = load_kernel(f"kernel:{mini_tree}", targets, SourceOptions(), cache_root=home / "abiguard")
    assert third.stats.corrupt == 0 and third.stats.parsed == 0
