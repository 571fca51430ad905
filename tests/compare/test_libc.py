"""Types a libc's headers declare are in the graphs like any other, and findings on them say so: a
`libc: true` field in JSON, a remark in text, a waiver key that matches exactly them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.compare import load_waivers, run_diff
from abiguard.errors import AbiguardError
from abiguard.model import get_target
from abiguard.sources import SourceOptions, load_source

HEADER = "#include <sys/socket.h>\nstruct peer { int id; struct sockaddr addr; };\n"
SOCKET_H = "struct sockaddr {{ unsigned short sa_family; char sa_data[{n}]; }};\n#define AF_INET 2\n"
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def two_libcs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A header using struct sockaddr, and two libc include dirs whose sockaddr differ in size."""
    (tmp_path / "src").mkdir()
    header = tmp_path / "src" / "net.h"
    header.write_text(HEADER)
    dirs = []
    for name, n in (("old-libc", 14), ("new-libc", 30)):
        (tmp_path / name / "sys").mkdir(parents=True)
        (tmp_path / name / "sys" / "socket.h").write_text(SOCKET_H.format(n=n))
        dirs.append(tmp_path / name)
    return header, dirs[0], dirs[1]


def _graphs(header: Path, libc: Path):
    return load_source(str(header), [get_target("x86_64")], SourceOptions(libc_include=(libc,)))


def test_libc_types_are_in_the_graph_marked(two_libcs: tuple[Path, Path, Path]) -> None:
    header, old_libc, _ = two_libcs
    (graph,) = _graphs(header, old_libc)
    assert graph.libc == f"--libc-include {old_libc.resolve()}"
    sockaddr, peer = graph.resolve("struct sockaddr"), graph.resolve("struct peer")
    assert graph.is_libc(sockaddr) and graph[sockaddr].location == "<libc>/sys/socket.h:1"
    assert not graph.is_libc(peer) and graph.size_of(peer) == 20
    assert "AF_INET" not in graph.constants  # the libc's macros are not the source's


def test_findings_on_libc_types_carry_libc(two_libcs: tuple[Path, Path, Path]) -> None:
    header, old_libc, new_libc = two_libcs
    result = run_diff(_graphs(header, old_libc), _graphs(header, new_libc))
    by_type = {}
    for f in result.findings:
        by_type.setdefault(f.type, []).append(f)
    assert by_type["struct sockaddr"] and all(f.libc for f in by_type["struct sockaddr"])
    assert by_type["struct peer"] and not any(f.libc for f in by_type["struct peer"])
    assert all(f.to_json()["libc"] is True for f in by_type["struct sockaddr"])
    assert all("libc" not in f.to_json() for f in by_type["struct peer"])
    assert result.notes == [f"OLD x86_64: libc headers: --libc-include {old_libc.resolve()}",
                            f"NEW x86_64: libc headers: --libc-include {new_libc.resolve()}"]


def test_a_libc_waiver_silences_the_libc_types_only(two_libcs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    header, old_libc, new_libc = two_libcs
    path = tmp_path / "waivers.toml"
    path.write_text('[[waiver]]\nlibc = true\nreason = "the libc grew its sockaddr"\nexpires = 2026-12-31\n'
                    '[[waiver]]\ntype = "struct peer"\nlibc = true\nreason = "never matches"\n'
                    'expires = 2026-12-31\n')
    result = run_diff(_graphs(header, old_libc), _graphs(header, new_libc), waivers=load_waivers(path, TODAY))
    for f in result.findings:
        assert (f.waived_by == "the libc grew its sockaddr") == (f.type == "struct sockaddr"), f
    assert result.verdict.label == "breaking"  # peer, which embeds it, still breaks


@pytest.mark.parametrize(("entry", "error"), [
    ('libc = "yes"\nreason = "r"\nexpires = 2026-12-31\n', "'libc' must be true or false"),
    ('libc = false\nreason = "r"\nexpires = 2026-12-31\n', "missing 'type'"),
    ('reason = "r"\nexpires = 2026-12-31\n', "missing 'type'"),
])
def test_bad_libc_waivers_are_errors(tmp_path: Path, entry: str, error: str) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text("[[waiver]]\n" + entry)
    with pytest.raises(AbiguardError, match=error):
        load_waivers(path, TODAY)


def test_cli_says_libc_in_text_and_json(two_libcs: tuple[Path, Path, Path], tmp_path: Path, capsys) -> None:
    header, old_libc, new_libc = two_libcs
    snap = tmp_path / "old.json"
    with pytest.raises(SystemExit) as done:
        main(["snapshot", str(header), "--arch", "x86_64", "--libc-include", str(old_libc), "-o", str(snap)])
    assert done.value.code == 0
    assert f"abiguard: note: {header}: x86_64: libc headers: --libc-include" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["diff", str(snap), str(header), "--arch", "x86_64", "--libc-include", str(new_libc)])
    assert done.value.code == 1
    text = capsys.readouterr().out
    assert "at <libc>/sys/socket.h:1 (a libc type" in text
    assert f"note: OLD x86_64: libc headers: --libc-include {old_libc.resolve()}" in text
    with pytest.raises(SystemExit):
        main(["diff", str(snap), str(header), "--arch", "x86_64", "--libc-include", str(new_libc), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert {f["type"] for f in doc["findings"] if f.get("libc")} == {"struct sockaddr"}
    assert len(doc["notes"]) == 2


@pytest.mark.parametrize("source", ["header", "kernel"])
def test_a_missing_libc_include_dir_is_one_error(two_libcs: tuple[Path, Path, Path], tmp_path: Path, capsys,
                                                 source: str) -> None:
    spec = str(two_libcs[0]) if source == "header" else f"kernel:{tmp_path}"  # checked before the tree
    with pytest.raises(SystemExit) as done:
        main(["layout", "peer", spec, "--arch", "x86_64,s390x", "--libc-include", str(tmp_path / "no")])
    assert done.value.code == 2
    assert capsys.readouterr().err == f"abiguard: error: {tmp_path / 'no'}: no such directory (--libc-include)\n"
