"""Oracle helpers: `bpftool btf dump ... format raw` beside the same text rendered from our TypeGraph."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from abiguard.model import IntEncoding, Kind, TypeGraph

_LINKAGE = {0: "static", 1: "global", 2: "extern"}
_INT_ENCODING = {0: "(none)", IntEncoding.SIGNED: "SIGNED", IntEncoding.CHAR: "CHAR", IntEncoding.BOOL: "BOOL"}


def bpftool_raw(bpftool: str, path: Path, base: Path | None = None) -> list[str]:
    """bpftool's raw dump of a BTF or ELF file, one string per type (member lines joined with newlines)."""
    cmd = [bpftool, *(["-B", str(base)] if base is not None else []), "btf", "dump", "file", str(path), "format", "raw"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return split_records(proc.stdout)


def split_records(text: str) -> list[str]:
    """One string per `[id] ...` record, with its tab-indented member lines."""
    records: list[str] = []
    for line in text.splitlines():
        if line.startswith("\t") and records:
            records[-1] += "\n" + line
        elif line.startswith("["):
            records.append(line)
    return records


def render_raw(graph: TypeGraph, ids: Sequence[int]) -> list[str]:
    """Our types in bpftool's raw format (bpftool 7.1 spelling), one string per id."""
    return [render_one(graph, i) for i in ids]


def render_one(graph: TypeGraph, tid: int) -> str:
    t = graph[tid]
    k = t.kind
    head = f"[{tid}] {k.name} '{t.name or '(anon)'}'"
    lines: list[str] = []
    if k == Kind.INT:
        enc = _INT_ENCODING.get(int(t.encoding), "UNKN")
        head += f" size={t.size} bits_offset={t.int_offset} nr_bits={t.int_bits} encoding={enc}"
    elif k in (Kind.PTR, Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPEDEF, Kind.TYPE_TAG):
        head += f" type_id={t.ref}"
    elif k == Kind.ARRAY:
        head += f" type_id={t.ref} index_type_id={t.index_type} nr_elems={t.nelems}"
    elif k in (Kind.STRUCT, Kind.UNION):
        head += f" size={t.size} vlen={len(t.members)}"
        for m in t.members:
            line = f"\t'{m.name or '(anon)'}' type_id={m.type} bits_offset={m.bit_offset}"
            if m.bit_size:
                line += f" bitfield_size={m.bit_size}"
            lines.append(line)
    elif k in (Kind.ENUM, Kind.ENUM64):
        head += f" encoding={'SIGNED' if t.signed else 'UNSIGNED'} size={t.size} vlen={len(t.enumerators)}"
        suffix = ("LL" if t.signed else "ULL") if k == Kind.ENUM64 else ""
        lines += [f"\t'{e.name or '(anon)'}' val={e.value}{suffix}" for e in t.enumerators]
    elif k == Kind.FWD:
        head += f" fwd_kind={'union' if t.kind_flag else 'struct'}"
    elif k == Kind.FUNC:
        head += f" type_id={t.ref} linkage={_LINKAGE.get(t.linkage, '(unknown)')}"
    elif k == Kind.FUNC_PROTO:
        head += f" ret_type_id={t.ref} vlen={len(t.params)}"
        lines += [f"\t'{p.name or '(anon)'}' type_id={p.type}" for p in t.params]
    elif k == Kind.VAR:
        head += f" type_id={t.ref}, linkage={_LINKAGE.get(t.linkage, '(unknown)')}"
    elif k == Kind.DATASEC:
        head += f" size={t.size} vlen={len(t.vars)}"
        for v in t.vars:
            target = graph[v.type]
            lines.append(
                f"\ttype_id={v.type} offset={v.offset} size={v.size} ({target.kind.name} '{target.name or '(anon)'}')"
            )
    elif k == Kind.FLOAT:
        head += f" size={t.size}"
    elif k == Kind.DECL_TAG:
        head += f" type_id={t.ref} component_idx={t.component_idx}"
    return "\n".join([head, *lines])


def assert_same_as_bpftool(graph: TypeGraph, expected: list[str], first_id: int = 1) -> None:
    """Every record bpftool printed equals ours for the same id, and we have no extra ids."""
    assert len(graph) - first_id == len(expected), f"{len(graph) - first_id} types, bpftool has {len(expected)}"
    ours = render_raw(graph, range(first_id, len(graph)))
    diffs = [(a, b) for a, b in zip(ours, expected, strict=True) if a != b]
    shown = "\n".join(f"ours:    {a}\nbpftool: {b}" for a, b in diffs[:10])
    assert not diffs, f"{len(diffs)} of {len(expected)} types differ from bpftool:\n{shown}"
