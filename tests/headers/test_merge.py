"""merge_units on rows equals the plain reference merge: same types, ids, constants, diagnostics."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from abiguard.model import TypeGraph
from abiguard.model.target import TARGETS
from abiguard.model.types import Kind, Member, Param, Type
from abiguard.sources.clang.headers import merge_units, parse_unit
from abiguard.sources.clang.unit import UnitResult
from abiguard.sources.kernel import codec

from .merge_reference import reference_merge

HEADERS = {
    "list.h": "struct node { struct node *next, *prev; int v; };\n"
              "struct pa; struct pb { struct pa *a; int x; }; struct pa { struct pb *b; };\n",
    "fwd.h": "struct later; union ulater; struct two;\n"
             "struct user { struct later *p; union ulater *u; struct two *t; };\n"
             "struct cyc { struct cyc *self; struct later *l; };\n"
             "struct user2 { struct later *p; union ulater *u; };\n",
    "def.h": '#include "list.h"\n#include "fwd.h"\n'
             "struct later { char c; struct node n; };\nunion ulater { int i; long l; };\n"
             "struct two { int a; };\n",
    "clash1.h": "struct clash { int a; };\n#define CLASH 1\n#define SAME 7\nstruct two { char a[3]; };\n",
    "clash2.h": "struct clash { long a; };\n#define CLASH 2\n#define SAME 7\n",
    "funcs.h": '#include "list.h"\n'
               "typedef int (*handler_t)(struct node *, int, ...);\n"
               "struct ops { handler_t h; void (*cb)(struct ops *); unsigned f : 3, g : 5;\n"
               "  enum kind { K1 = 1, K2 = 5 } kind; int arr[4][2]; const volatile int *p; };\n"
               "int run_ops(struct ops *o, const char *why);\n",
}
TUS = [("list.h",), ("fwd.h",), ("def.h",), ("clash1.h", "funcs.h"), ("clash2.h", "funcs.h", "fwd.h")]


def _units(tmp_path: Path, arch: str) -> list[UnitResult]:
    for name, text in HEADERS.items():
        (tmp_path / name).write_text(text)
    return [parse_unit("".join(f'#include "{h}"\n' for h in tu), str(tmp_path / f"tu{i}.c"), [tmp_path],
                       TARGETS[arch]) for i, tu in enumerate(TUS)]


def _assert_same(graph: TypeGraph, units: list, arch: str) -> None:
    types, constants, diagnostics = reference_merge(units, TARGETS[arch])
    assert list(graph.types) == types
    assert list(graph.constants.items()) == list(constants.items())
    assert tuple(graph.diagnostics) == diagnostics


def test_real_units_merge_as_the_reference_does(tmp_path: Path) -> None:
    for arch in ("x86_64", "arm"):
        units = _units(tmp_path, arch)
        assert all(u.ok for u in units), [u.diagnostics for u in units]
        for order in (units, units[::-1], units[2:] + units[:2]):
            graph = merge_units(order, TARGETS[arch], "test")
            _assert_same(graph, order, arch)
        graph = merge_units(units, TARGETS[arch], "test")
        # What makes the case worth checking: cycles, resolved and unresolved forwards, conflicts.
        node = graph[graph.resolve("struct node")]
        assert graph[graph[node.members[0].type].ref] is node
        user = graph[graph.resolve("struct user")]
        pointees = [graph[graph[m.type].ref].kind for m in user.members]
        assert pointees == [Kind.STRUCT, Kind.UNION, Kind.FWD]  # two has two definitions
        text = "\n".join(d.message for d in graph.diagnostics)
        assert "conflicting definitions of struct clash" in text and "conflicting values of CLASH" in text
        assert "SAME" not in text
        # One struct each, though some TUs saw only forward declarations of what they point to.
        assert [graph[i].kind for i in graph.ids_named("node")] == [Kind.STRUCT]
        assert [graph[i].kind for i in graph.ids_named("user2")] == [Kind.STRUCT]
        assert [graph[i].kind for i in graph.ids_named("cyc")] == [Kind.STRUCT]


def test_units_from_the_codec_merge_the_same(tmp_path: Path) -> None:
    """The kernel reader's path: units decoded lazily from codec bytes, graphs through the cache."""
    units = _units(tmp_path, "riscv64")
    loaded = [codec.load(codec.dump_unit(u)) for u in units]
    graph = merge_units(loaded, TARGETS["riscv64"], "test")
    _assert_same(graph, units, "riscv64")
    again = codec.load(codec.dump_graph(graph))
    assert list(again.types) == list(graph.types) and dict(again.constants) == dict(graph.constants)
    assert again.ids_named("node") == graph.ids_named("node")
    clone = pickle.loads(pickle.dumps(graph))  # graphs cross process boundaries
    assert clone.types == graph.types and clone.ids_named("ops") == graph.ids_named("ops")


_NAMES = st.sampled_from(["a", "b", ""])


@st.composite
def _unit(draw: st.DrawFn) -> UnitResult:
    """A random unit: a few types whose references point anywhere in it, cycles included."""
    n = draw(st.integers(1, 7))
    ref = st.integers(0, n)
    types = [Type(Kind.VOID)]
    for _ in range(n):
        kind = draw(st.sampled_from([Kind.STRUCT, Kind.UNION, Kind.PTR, Kind.FWD, Kind.TYPEDEF, Kind.INT,
                                     Kind.FUNC_PROTO, Kind.CONST]))
        if kind in (Kind.STRUCT, Kind.UNION):
            members = tuple(Member(draw(_NAMES), draw(ref), 32 * k) for k in range(draw(st.integers(0, 2))))
            types.append(Type(kind, draw(_NAMES), draw(st.sampled_from([4, 8])), members=members, location="x.h:1"))
        elif kind == Kind.FWD:
            types.append(Type(kind, draw(_NAMES), kind_flag=draw(st.booleans())))
        elif kind == Kind.INT:
            types.append(Type(kind, "int", draw(st.sampled_from([4, 8])), int_bits=32))
        elif kind == Kind.FUNC_PROTO:
            params = tuple(Param(draw(_NAMES), draw(ref)) for _ in range(draw(st.integers(0, 2))))
            types.append(Type(kind, ref=draw(ref), params=params))
        else:
            types.append(Type(kind, draw(_NAMES) if kind == Kind.TYPEDEF else "", ref=draw(ref)))
    return UnitResult("u.c", TARGETS["x86_64"], tuple(types), {}, (), {})


def _defined(unit: UnitResult) -> UnitResult:
    """The unit with each forward declaration turned into a definition: merged with the original,
    the forwards get redirected and whatever points at them must then merge with this copy."""
    types = tuple(Type(Kind.UNION if t.kind_flag else Kind.STRUCT, t.name, 4, location="y.h:1")
                  if t.kind == Kind.FWD else t for t in unit.types)
    return replace(unit, types=types)


@st.composite
def _unit_lists(draw: st.DrawFn) -> list[UnitResult]:
    units = draw(st.lists(_unit(), min_size=1, max_size=3))
    if draw(st.booleans()):
        units.insert(draw(st.integers(0, len(units))), _defined(units[0]))
    return units


@settings(max_examples=300, deadline=None)
@given(_unit_lists())
def test_random_graphs_merge_as_the_reference_does(units: list[UnitResult]) -> None:
    graph = merge_units(units, TARGETS["x86_64"], "random")
    _assert_same(graph, units, "x86_64")
    lazy = [codec.load(codec.dump_unit(u)) for u in units]
    assert list(merge_units(lazy, TARGETS["x86_64"], "random").types) == list(graph.types)
