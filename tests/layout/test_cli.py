"""CLI behaviour of `layout` and `users`: one-line errors with exit 2, output files, formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli

AMBIGUOUS_C = r"""
struct bar { int x; };
struct foo { long y; };
typedef struct bar foo;      /* `foo` names two different types */
typedef struct foo foo_same; /* and this one is unambiguous */
foo f1; struct foo f2; foo_same f3;
"""


@pytest.fixture
def ambiguous_object(compile_c) -> Path:
    return compile_c(AMBIGUOUS_C, target="bpf", name="ambiguous")


def _one_error_line(proc, *fragments: str) -> None:
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("abiguard: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command", ["layout", "users"])
def test_unknown_type(command: str, ambiguous_object: Path) -> None:
    proc = run_cli(command, "no_such_type", str(ambiguous_object))
    _one_error_line(proc, str(ambiguous_object), "no type named 'no_such_type'")


@pytest.mark.parametrize("command", ["layout", "users"])
def test_ambiguous_name_is_explained(command: str, ambiguous_object: Path) -> None:
    proc = run_cli(command, "foo", str(ambiguous_object))
    _one_error_line(proc, "'foo' is ambiguous", "struct foo", "typedef foo", "keyword")
    ok = run_cli(command, "struct foo", str(ambiguous_object))
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize("command", ["layout", "users"])
def test_missing_file(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.o"
    _one_error_line(run_cli(command, "foo", str(missing)), str(missing), "no such file")


def test_not_a_type_source(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 64)
    _one_error_line(run_cli("layout", "foo", str(junk)), str(junk))


def test_bad_format_is_a_usage_error(ambiguous_object: Path) -> None:
    proc = run_cli("layout", "struct foo", str(ambiguous_object), "--format", "xml")
    assert proc.returncode == 2 and "Invalid value for '--format'" in proc.stderr


def test_typedef_of_same_named_struct_and_output_file(ambiguous_object: Path, tmp_path: Path) -> None:
    out = tmp_path / "layout.json"
    proc = run_cli("layout", "foo_same", str(ambiguous_object), "--format", "json", "-o", str(out))
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    data = json.loads(out.read_text())
    assert (data["kind"], data["type"], data["size"]) == ("typedef", "struct foo", 8)
    assert data["members"] == [
        {"name": "y", "type": "long", "offset": 0, "size": 8, "bit_offset": 0, "bit_size": 0}
    ]


def test_failed_run_writes_no_output_file(ambiguous_object: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "layout.txt"
    proc = run_cli("layout", "no_such_type", str(ambiguous_object), "-o", str(out))
    assert proc.returncode == 2 and not out.exists()
    assert list(outdir.iterdir()) == []
