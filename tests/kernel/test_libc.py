"""Kernel UAPI headers that include libc ones (<sys/socket.h>, <sys/time.h> ...) are parsed with the
ziglang wheel's glibc, or the libc directories given with --libc-include; without any, they are skipped
with one warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from abiguard.model import COMPOSITE_KINDS, Kind, TypeGraph
from abiguard.model.target import ALL_ARCHES, TARGETS
from abiguard.sources import SourceOptions
from abiguard.sources.clang.libclang import BUILTIN_INCLUDE
from abiguard.sources.kernel import load_kernel
from abiguard.sources.kernel.install import install_headers
from abiguard.sources.kernel.planning import plan_headers
from abiguard.sources.kernel.tree import COMMON_PATHS, arch_paths, read_tree
from abiguard.sources.libc import GAP_FILL, libc_for, zig_libc_for

from .conftest import ABIGUARD, kernel_make_headers, make_mini_tree

# Headers of 6.1 that include a libc header (with what, for x86_64), skipped before there was a libc.
NEEDS_LIBC = ("linux/if.h", "linux/route.h", "linux/netfilter_ipv4/ip_tables.h", "linux/input.h",
              "linux/mptcp.h", "linux/soundcard.h", "linux/cec.h", "linux/auto_fs.h", "linux/dvb/dmx.h",
              "linux/shm.h", "linux/netfilter_bridge.h")
# linux/sockios.h: glibc's <sys/ioctl.h> includes it (the tree's, as any Linux header).
MINI_LIBC_ROOTS = ("linux/if.h", "linux/route.h", "linux/input.h", "linux/input-event-codes.h", "linux/mptcp.h",
                   "linux/time.h", "linux/sockios.h")


def _zig_libc(arch: str):
    libc = libc_for(TARGETS[arch])
    if libc is None:
        pytest.skip("the ziglang wheel is not installed (scripts/setup.sh installs abiguard[libc])")
    return libc


@pytest.mark.parametrize("arch", ALL_ARCHES)
def test_every_arch_gets_zigs_glibc_and_only_its_libc_parts(arch: str) -> None:
    libc = _zig_libc(arch)
    assert libc.kind == "glibc"
    arch_dir, generic, gaps = libc.dirs
    assert arch_dir.name.endswith("-linux-gnu") and generic.name == "generic-glibc" and gaps == GAP_FILL
    assert all(d.is_dir() for d in libc.dirs)
    # zig's copies of the Linux headers are never on the path: the tree's UAPI must win.
    assert not any(d.name.endswith("-linux-any") for d in libc.dirs)
    assert not any((d / "linux").is_dir() or (d / "asm").is_dir() for d in libc.dirs)
    assert libc.has("sys/socket.h") and libc.has("netinet/in.h") and not libc.has("linux/if.h")
    minor = int(libc.defines[0].removeprefix("__GLIBC_MINOR__="))
    assert f"glibc 2.{minor} " in libc.description and minor >= 36


def test_libc_include_overrides_the_wheel(tmp_path: Path) -> None:
    (tmp_path / "sys").mkdir()
    (tmp_path / "sys" / "socket.h").write_text("struct sockaddr { unsigned short sa_family; char sa_data[14]; };\n")
    libc = libc_for(TARGETS["s390x"], [tmp_path])
    assert libc is not None and libc.kind == "libc" and libc.dirs == (tmp_path.resolve(), GAP_FILL)
    assert libc.has("sys/socket.h") and not libc.has("netinet/in.h")
    assert libc.defines == () and str(tmp_path) in libc.description


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["x86_64", "s390x", "riscv32"])
def test_no_header_is_skipped_for_want_of_libc(linux_source: Path, arch: str) -> None:
    libc = _zig_libc(arch)
    target = TARGETS[arch]
    inst = install_headers(read_tree(linux_source, None, [*COMMON_PATHS, *arch_paths(target.kernel_arch)]).files,
                           target.kernel_arch)
    builtin = lambda name: (BUILTIN_INCLUDE / name).is_file()  # noqa: E731
    without = plan_headers(inst, builtin)
    assert {h for h, _ in without.failures} >= set(NEEDS_LIBC)  # what the libc now makes parseable
    plan = plan_headers(inst, builtin, libc.has)
    assert plan.failures == ()
    assert plan.libc_roots >= set(NEEDS_LIBC)
    # Each TU holding such headers holds only headers that include the same libc headers.
    libc_chunks = [c for c in plan.chunks if plan.libc_roots.intersection(c)]
    assert all(set(c) <= plan.libc_roots for c in libc_chunks)
    socket_users = next(c for c in libc_chunks if "linux/if.h" in c)
    assert {"linux/route.h", "linux/netfilter_ipv4/ip_tables.h"} <= set(socket_users)
    assert "linux/input.h" not in socket_users  # <sys/time.h>, whose struct timeval linux/time.h defines too
    if arch == "x86_64":  # <unistd.h> under #if only: with the libc users, alone, not in a plain TU
        assert ("linux/a.out.h",) in plan.chunks and "linux/a.out.h" in plan.libc_roots


def _named(graph: TypeGraph) -> dict[tuple[int, str], set[int]]:
    """(kind, name) -> sizes of the tree's own named types (the libc's left out), forward declarations too."""
    out: dict[tuple[int, str], set[int]] = {}
    for i in graph.ids():
        t = graph[i]
        if t.name and not graph.is_libc(i):
            out.setdefault((int(t.kind), t.name), set()).add(t.size)
    return out


@pytest.mark.slow
def test_the_libc_only_adds_to_the_graph(linux_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every type and constant read without libc headers is there with them, the same; more are."""
    import abiguard.sources.kernel as kernel

    _zig_libc("x86_64")
    spec, target = f"kernel:{linux_source}", TARGETS["x86_64"]
    (with_libc,) = load_kernel(spec, [target], cache_root=tmp_path / "a").graphs
    monkeypatch.setattr(kernel, "libc_for", lambda target, given=(): None)
    (without,) = load_kernel(spec, [target], cache_root=tmp_path / "b").graphs
    before = {name: c.value for name, c in without.constants.items()}
    after = {name: c.value for name, c in with_libc.constants.items()}
    assert before.items() <= after.items() and len(after) > len(before) + 1000
    old, new = _named(without), _named(with_libc)
    # struct sockaddr was a forward declaration (linux/socket.h's pointers) and is now glibc's definition.
    assert {k for k in old if k not in new} == {(int(Kind.FWD), "sockaddr")}
    assert all(old[k] == new[k] for k in old if k in new)
    assert len(new) > len(old) + 300


@pytest.mark.slow
def test_libc_types_enter_the_graph_marked_as_libc(linux_source: Path, tmp_path: Path) -> None:
    _zig_libc("s390x")
    tree = make_mini_tree(linux_source, tmp_path / "tree", roots=MINI_LIBC_ROOTS)
    read = load_kernel(f"kernel:{tree}", [TARGETS["s390x"]], SourceOptions(), cache_root=tmp_path / "cache")
    (graph,) = read.graphs
    assert set(MINI_LIBC_ROOTS) <= set(read.stats.merged_roots["s390x"])
    assert not [d for d in graph.diagnostics if "skipped" in d.message or "conflicting" in d.message]
    assert graph.libc.startswith("glibc 2.") and "s390x-linux-gnu" in graph.libc
    ifreq, sockaddr = graph.resolve("struct ifreq"), graph.resolve("struct sockaddr")
    assert graph.size_of(ifreq) == 40 and not graph.is_libc(ifreq)
    assert graph.is_libc(sockaddr) and graph[sockaddr].location.startswith("<libc>/")
    assert graph.size_of(graph.resolve("struct input_event")) == 24
    # linux/time.h and glibc both define struct timeval: the name means the tree's, both are kept.
    timevals = [i for i in graph.ids_named("timeval") if graph[i].kind in COMPOSITE_KINDS]
    assert sorted(graph.is_libc(i) for i in timevals) == [False, True]
    assert not graph.is_libc(graph.resolve("struct timeval"))
    # Only what the UAPI uses comes from the libc: no functions, no libc macros.
    assert all(graph[i].kind in COMPOSITE_KINDS or graph[i].name for i in graph.ids() if graph.is_libc(i))
    assert len([i for i in graph.ids() if graph.is_libc(i)]) < 40
    assert "AF_INET" not in graph.constants and "IFNAMSIZ" in graph.constants
    assert not any(c.location.startswith("<libc>") for c in graph.constants.values())


@pytest.mark.slow
def test_without_libc_one_warning_names_what_was_skipped(linux_source: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import abiguard.sources.kernel as kernel

    monkeypatch.setattr(kernel, "libc_for", lambda target, given=(): None)
    tree = make_mini_tree(linux_source, tmp_path / "tree", roots=MINI_LIBC_ROOTS)
    read = load_kernel(f"kernel:{tree}", [TARGETS["s390x"]], SourceOptions(), cache_root=tmp_path / "cache")
    (graph,) = read.graphs
    assert graph.libc == ""
    lines = [d.message for d in graph.diagnostics if "libc" in d.message]
    assert len(lines) == 1
    assert "none were found" in lines[0] and "abiguard[libc]" in lines[0] and "--libc-include" in lines[0]
    assert "<sys/socket.h>: " in lines[0] and "linux/if.h" in lines[0] and "linux/input.h" in lines[0]
    assert not graph.ids_named("ifreq") and not graph.ids_named("sockaddr")
    assert "linux/time.h" in read.stats.merged_roots["s390x"]


@pytest.mark.slow
def test_libc_include_takes_debians_cross_libc(linux_source: Path, tmp_path: Path) -> None:
    debian = Path("/usr/s390x-linux-gnu/include")
    if not (debian / "sys" / "socket.h").is_file():
        pytest.skip("libc6-dev-s390x-cross is not installed (scripts/setup.sh installs it)")
    tree = make_mini_tree(linux_source, tmp_path / "tree", roots=MINI_LIBC_ROOTS)
    read = load_kernel(f"kernel:{tree}", [TARGETS["s390x"]], SourceOptions(libc_include=(debian,)),
                       cache_root=tmp_path / "cache")
    (graph,) = read.graphs
    assert graph.libc == f"--libc-include {debian}"
    assert not [d for d in graph.diagnostics if "skipped" in d.message]
    sockaddr = graph.resolve("struct sockaddr")
    assert graph.is_libc(sockaddr) and graph.size_of(sockaddr) == 16
    assert graph.size_of(graph.resolve("struct ifreq")) == 40


def _gcc_says_size(arch: str, include: Path, spelled: str, size: int) -> bool | None:
    """Whether the arch's gcc, with its Debian cross libc, gives `spelled` this size; None without a gcc."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    from gcc_layout_oracle import FREESTANDING_FLAGS, find_gcc

    gcc = find_gcc(TARGETS[arch])
    if gcc is None:
        return None
    src = f"#include <linux/if.h>\n_Static_assert(sizeof({spelled}) == {size}, \"size\");\n"
    proc = subprocess.run([gcc, *FREESTANDING_FLAGS, "-fsyntax-only", "-I", str(include), "-x", "c", "-"],
                          input=src, capture_output=True, text=True)
    if proc.returncode != 0 and "static assertion failed" not in proc.stderr:
        pytest.fail(f"{arch}: gcc cannot compile linux/if.h: {proc.stderr[-1500:]}")
    return proc.returncode == 0


@pytest.mark.slow
def test_layout_ifreq_on_every_arch_is_gccs(linux_source: Path, kernel_cache_dir: Path) -> None:
    _zig_libc("x86_64")
    env = {**os.environ, "XDG_CACHE_HOME": str(kernel_cache_dir.parent)}
    proc = subprocess.run([str(ABIGUARD), "layout", "ifreq", f"kernel:{linux_source}", "--arch", "all",
                           "--format", "json"], capture_output=True, text=True, env=env, timeout=3600)
    assert proc.returncode == 0, proc.stderr
    layouts = {item["arch"]: item for item in json.loads(proc.stdout)}
    assert list(layouts) == list(ALL_ARCHES)
    notes = [line for line in proc.stderr.splitlines() if line.startswith("abiguard: note: ")]
    assert sorted(a for line in notes for a in line.split(": ")[3].split(", ")) == sorted(ALL_ARCHES)
    assert all("libc headers: glibc 2." in line for line in notes)
    assert "libc" not in "".join(line for line in proc.stderr.splitlines() if "warning" in line)
    for arch, layout in layouts.items():
        assert layout["size"] == (40 if TARGETS[arch].pointer_size == 8 else 32), arch
        include = kernel_make_headers(linux_source, TARGETS[arch].kernel_arch)
        assert _gcc_says_size(arch, include, "struct ifreq", layout["size"]) in (True, None), arch


def _fake_zig(root: Path, dirs: tuple[str, ...], glibc_versions: tuple[tuple[int, int, int], ...] = ()) -> Path:
    """A lib/libc tree shaped like the ziglang wheel's: include/<dir>/ and glibc/abilists (lib names,
    then the glibc versions it knows)."""
    include = root / "lib" / "libc" / "include"
    for d in dirs:
        (include / d).mkdir(parents=True)
    if glibc_versions:
        (root / "lib" / "libc" / "glibc").mkdir(parents=True)
        head = bytes([2]) + b"c\0m\0" + bytes([len(glibc_versions)])
        (root / "lib" / "libc" / "glibc" / "abilists").write_bytes(head + bytes(b for v in glibc_versions for b in v))
    return include


def test_glibc_where_zig_has_it_musl_otherwise(tmp_path: Path) -> None:
    include = _fake_zig(tmp_path, ("x86-linux-gnu", "generic-glibc", "x86_64-linux-musl", "aarch64-linux-musl",
                                   "generic-musl", "x86_64-linux-any", "any-linux-any"),
                        ((2, 0, 0), (2, 36, 0), (2, 41, 1)))
    glibc = zig_libc_for(TARGETS["x86_64"], include, "0.0-test")
    assert glibc is not None and glibc.kind == "glibc" and glibc.defines == ("__GLIBC_MINOR__=41",)
    assert glibc.dirs == (include / "x86-linux-gnu", include / "generic-glibc", GAP_FILL)
    assert glibc.description == "glibc 2.41 (ziglang 0.0-test: x86-linux-gnu, generic-glibc)"
    musl = zig_libc_for(TARGETS["aarch64"], include, "0.0-test")
    assert musl is not None and musl.kind == "musl" and musl.defines == ()
    assert musl.dirs == (include / "aarch64-linux-musl", include / "generic-musl", GAP_FILL)
    assert zig_libc_for(TARGETS["sparc64"], include, "0.0-test") is None  # neither: today's behaviour


def test_zig_glibc_of_unknown_release_is_not_used(tmp_path: Path) -> None:
    include = _fake_zig(tmp_path, ("x86-linux-gnu", "generic-glibc", "x86_64-linux-musl", "generic-musl"))
    libc = zig_libc_for(TARGETS["x86_64"], include, "0.0-test")
    assert libc is not None and libc.kind == "musl"  # without abilists, __GLIBC_MINOR__ is unknown
