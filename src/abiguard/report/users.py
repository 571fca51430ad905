"""`abiguard users` results: who embeds a type by value (with the member path), who only points at it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UnknownName
from ..model import COMPOSITE_KINDS, Kind, TypeGraph
from ..model.containment import Containment, Reach, describe_path

# Kinds worth listing: named places a programmer can look up. Anonymous structs, arrays and
# modifiers on the way show up inside the path of the named type that holds them.
_LISTED = COMPOSITE_KINDS | {Kind.TYPEDEF, Kind.VAR}


@dataclass(frozen=True, slots=True)
class User:
    """One type that reaches the queried type."""

    type_id: int
    kind: str  # struct | union | typedef | var
    name: str
    path: str  # `bpf_perf_event_data.regs (via typedef bpf_user_pt_regs_t)`


@dataclass(frozen=True, slots=True)
class UsersResult:
    """By-value embedders and pointer-only users of one type on one arch."""

    arch: str
    name: str
    by_value: tuple[User, ...]
    by_pointer: tuple[User, ...]


def _listed(graph: TypeGraph, reaches: Sequence[Reach]) -> tuple[User, ...]:
    users = []
    for r in reaches:
        t = graph[r.user]
        if t.kind not in _LISTED or not t.name:
            continue
        kind = "var" if t.kind == Kind.VAR else graph.describe(r.user).split()[0]
        users.append(User(r.user, kind, t.name, describe_path(graph, r)))
    return tuple(sorted(users, key=lambda u: (u.name, u.kind, u.path, u.type_id)))


def find_users(graph: TypeGraph, type_id: int, containment: Containment | None = None) -> UsersResult:
    """Embedders of `type_id` and the types that reach it through exactly one pointer."""
    index = containment or Containment(graph)
    name = graph.describe(type_id) if graph[type_id].name else graph.c_name(type_id)
    query = type_id
    behind = graph.strip(type_id)
    if graph[type_id].kind == Kind.TYPEDEF and graph[behind].kind in COMPOSITE_KINDS and not graph[behind].name:
        # `typedef struct {...} foo;` (s390's user_pt_regs): the typedef is the struct's only name,
        # and the struct is what members hold, with or without the typedef
        query = behind
    by_value = _listed(graph, [r for r in index.embedders(query) if r.user != type_id])
    by_pointer = _listed(graph, [r for r in index.pointer_users(query, max_pointers=1) if r.user != type_id])
    return UsersResult(graph.target.name, name, by_value, by_pointer)


def render_users(results: Sequence[UsersResult], fmt: str = "text") -> str:
    """Text (one section per arch) or JSON (one object, or a list for several arches)."""
    if fmt not in ("text", "json"):
        raise UnknownName("format", f"unknown users format '{fmt}' (known: text, json)")
    if fmt == "json":
        objs = [
            {
                "arch": r.arch,
                "name": r.name,
                "by_value": [_user_json(u) for u in r.by_value],
                "by_pointer": [_user_json(u) for u in r.by_pointer],
            }
            for r in results
        ]
        return json.dumps(objs[0] if len(objs) == 1 else objs, indent=2) + "\n"
    lines: list[str] = []
    for r in results:
        if len(results) > 1:
            lines.append(f"== {r.arch} ==")
        lines.append(f"{r.name}: embedded by value in {len(r.by_value)} type(s):")
        lines.extend(f"  {u.kind} {u.name}: {u.path}" for u in r.by_value)
        lines.append(f"{r.name}: reached only through a pointer by {len(r.by_pointer)} type(s):")
        lines.extend(f"  {u.kind} {u.name}: {u.path}" for u in r.by_pointer)
    return "\n".join(lines) + "\n"


def _user_json(u: User) -> dict[str, object]:
    return {"kind": u.kind, "name": u.name, "path": u.path}
