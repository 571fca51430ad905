"""Snapshots: a compact, deterministic JSON baseline of TypeGraphs (one per arch) to diff against later."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..errors import AbiguardError
from ..fileio import atomic_write
from ..model import (
    Constant,
    Diagnostic,
    Enumerator,
    HeaderFailure,
    IntEncoding,
    Kind,
    Member,
    Param,
    SecVar,
    Target,
    Type,
    TypeGraph,
    get_target,
)

FORMAT = "abiguard-snapshot"
# 2: constants carry refs, measures and flag_union, graphs their header failures; 3: an enumerator may
# say its value is written out (a third element). Older versions still read.
VERSION = 3
_DEFAULTS = {f.name: f.default for f in fields(Type) if f.name != "kind"}


def _encode_type(t: Type) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": t.kind.name.lower()}
    for name, default in _DEFAULTS.items():
        value = getattr(t, name)
        if value == default:
            continue
        if name == "members":
            value = [[m.name, m.type, m.bit_offset, m.bit_size] for m in value]
        elif name == "enumerators":
            value = [[e.name, e.value, *([1] if e.explicit else [])] for e in value]
        elif name == "params":
            value = [[p.name, p.type] for p in value]
        elif name == "vars":
            value = [[v.type, v.offset, v.size] for v in value]
        elif name == "encoding":
            value = int(value)
        out[name] = value
    return out


def _decode_type(raw: Any, where: str) -> Type:
    if not isinstance(raw, dict) or "kind" not in raw:
        raise ValueError(f"{where}: not a type object")
    kwargs = dict(raw)
    kwargs["kind"] = Kind[str(kwargs["kind"]).upper()]
    unknown = set(kwargs) - set(_DEFAULTS) - {"kind"}
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if "members" in kwargs:
        kwargs["members"] = tuple(Member(str(n), int(t), int(o), int(b)) for n, t, o, b in kwargs["members"])
    if "enumerators" in kwargs:
        kwargs["enumerators"] = tuple(Enumerator(str(n), int(v), bool(explicit and explicit[0]))
                                      for n, v, *explicit in kwargs["enumerators"])
    if "params" in kwargs:
        kwargs["params"] = tuple(Param(str(n), int(t)) for n, t in kwargs["params"])
    if "vars" in kwargs:
        kwargs["vars"] = tuple(SecVar(int(t), int(o), int(s)) for t, o, s in kwargs["vars"])
    if "encoding" in kwargs:
        kwargs["encoding"] = IntEncoding(int(kwargs["encoding"]))
    return Type(**kwargs)


def _decode_constant(row: list[Any]) -> tuple[str, Constant]:
    """A constant row: [name, value, location] (version 1) or with refs, measures and flag_union."""
    name, value, location, *rest = row
    if len(rest) not in (0, 3):
        raise ValueError(f"constant {name!r} has {len(row)} fields")
    refs, measures, flag_union = rest or ([], [], False)
    return str(name), Constant(str(name), int(value), str(location), tuple(map(str, refs)),
                               tuple(map(str, measures)), bool(flag_union))


def snapshot_json(graphs: Sequence[TypeGraph]) -> str:
    """The snapshot text for these graphs: sorted keys, one type per line, stable across runs."""
    lines = [f'{{"format": "{FORMAT}", "version": {VERSION}, "graphs": [']
    for gi, graph in enumerate(graphs):
        header = {
            "arch": graph.target.name,
            "source": graph.source,
            "constants": [[c.name, c.value, c.location, list(c.refs), list(c.measures), c.flag_union]
                          for c in sorted(graph.constants.values(), key=lambda c: c.name)],
            "diagnostics": [[d.location, d.message] for d in graph.diagnostics],
            **({"libc": graph.libc} if graph.libc else {}),
            "failures": [[f.header, f.where, f.message, list(f.hides)] for f in graph.failures],
            "unevaluated": sorted(graph.unevaluated),
        }
        lines.append(json.dumps(header, sort_keys=True)[:-1] + ', "types": [')
        count = len(graph)
        for tid in range(1, count):
            sep = "," if tid < count - 1 else ""
            lines.append(json.dumps(_encode_type(graph[tid]), sort_keys=True) + sep)
        lines.append("]}" + ("," if gi < len(graphs) - 1 else ""))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def write_snapshot(graphs: Sequence[TypeGraph], path: Path) -> None:
    """Write atomically (temp file + rename); `.gz` names are gzip-compressed."""
    data = snapshot_json(graphs).encode()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    atomic_write(path, data)


def is_snapshot(path: Path) -> bool:
    """Cheap sniff: does this file start like a snapshot?"""
    try:
        with path.open("rb") as f:
            head = f.read(64)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b":
        return path.name.endswith((".json.gz", ".snapshot.gz"))
    return head.startswith(b'{"format": "' + FORMAT.encode())


def read_snapshot(path: Path, targets: list[Target]) -> list[TypeGraph]:
    """Graphs stored in a snapshot, restricted to `targets` when given (each must be present)."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        doc = json.loads(raw)
    except (OSError, EOFError, gzip.BadGzipFile, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AbiguardError(path, f"not a readable snapshot: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise AbiguardError(path, "not an abiguard snapshot")
    if doc.get("version") not in (1, 2, VERSION):
        raise AbiguardError(path, f"snapshot version {doc.get('version')} is not supported (want {VERSION})")
    graphs: list[TypeGraph] = []
    try:
        for gi, g in enumerate(doc["graphs"]):
            target = get_target(str(g["arch"]))
            types = [Type(Kind.VOID)]
            for ti, t in enumerate(g["types"], start=1):
                types.append(_decode_type(t, f"graph {gi} type {ti}"))
            _check_refs(types, f"graph {gi}")
            graphs.append(
                TypeGraph(
                    target,
                    types,
                    source=str(g.get("source") or path),
                    constants=dict(_decode_constant(c) for c in g["constants"]),
                    diagnostics=[Diagnostic(str(loc), str(msg)) for loc, msg in g["diagnostics"]],
                    libc=str(g.get("libc", "")),
                    failures=[HeaderFailure(str(h), str(w), str(m), tuple(map(str, hides)))
                              for h, w, m, hides in g.get("failures", [])],
                    unevaluated=frozenset(map(str, g.get("unevaluated", []))),
                )
            )
    except AbiguardError as e:
        raise AbiguardError(path, e.message) from None
    except (KeyError, TypeError, ValueError) as e:
        raise AbiguardError(path, f"malformed snapshot: {e}") from None
    if not targets:
        return graphs
    by_arch = {g.target.name: g for g in graphs}
    missing = [t.name for t in targets if t.name not in by_arch]
    if missing:
        raise AbiguardError(path, f"snapshot has no graph for {', '.join(missing)} (has {', '.join(by_arch)})")
    return [by_arch[t.name] for t in targets]


def _check_refs(types: list[Type], where: str) -> None:
    count = len(types)
    for tid, t in enumerate(types):
        refs = [t.ref, t.index_type, *(m.type for m in t.members), *(p.type for p in t.params),
                *(v.type for v in t.vars)]
        bad = [r for r in refs if not 0 <= r < count]
        if bad:
            raise ValueError(f"{where} type {tid}: reference to type {bad[0]} out of range")
