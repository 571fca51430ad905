"""Property test: random C structs compiled by clang for BPF; our layout equals pahole's and the compiler's."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import require_tool
from .oracle import compare_with_pahole
from .pahole_text import run_pahole

SCALARS = ("char", "unsigned char", "short", "unsigned short", "int", "unsigned int", "long long",
           "unsigned long long", "_Bool", "void *", "enum e8")
BITFIELD_TYPES = {"unsigned char": 8, "unsigned short": 16, "unsigned int": 32, "unsigned long long": 64,
                  "int": 32, "enum e8": 32}
PRELUDE = "enum e8 { E8_A, E8_B = 200 };\n"


@st.composite
def members(draw: st.DrawFn, prefix: str, depth: int = 0) -> list[str]:
    count = draw(st.integers(min_value=1, max_value=7))
    out: list[str] = []
    for i in range(count):
        name = f"{prefix}_{i}"  # unique also across anonymous members, whose fields share one scope
        choice = draw(st.sampled_from(["scalar", "scalar", "array", "bitfield", "bitfield", "nested"]))
        if choice == "nested" and depth < 2:
            keyword = draw(st.sampled_from(["struct", "union"]))
            inner = " ".join(draw(members(name, depth + 1)))
            anonymous = draw(st.booleans())
            out.append(f"{keyword} {{ {inner} }}{'' if anonymous else ' ' + name};")
        elif choice == "bitfield":
            typ = draw(st.sampled_from(sorted(BITFIELD_TYPES)))
            width = draw(st.integers(min_value=1, max_value=BITFIELD_TYPES[typ]))
            out.append(f"{typ} {name}:{width};")
        elif choice == "array":
            typ = draw(st.sampled_from(SCALARS))
            out.append(f"{typ} {name}[{draw(st.integers(min_value=1, max_value=5))}];")
        else:
            typ = draw(st.sampled_from(SCALARS))
            aligned = draw(st.sampled_from(["", "", "", " __attribute__((aligned(16)))"]))
            out.append(f"{typ} {name}{aligned};")
    return out


@st.composite
def struct_source(draw: st.DrawFn) -> str:
    body = " ".join(draw(members("m")))
    packed = draw(st.sampled_from(["", "", "__attribute__((packed)) "]))
    return f"{PRELUDE}struct {packed}rnd {{ {body} }};\nstruct rnd v;\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=struct_source(), target=st.sampled_from(["bpf", "bpfeb"]))
def test_random_struct_matches_pahole_and_clang(source: str, target: str) -> None:
    clang = require_tool("clang")
    require_tool("pahole")
    from abiguard.report.layout import build_layout, layout_json
    from abiguard.sources.btf.reader import read_btf_file

    with tempfile.TemporaryDirectory() as tmp:
        src, obj = Path(tmp) / "rnd.c", Path(tmp) / "rnd.o"
        src.write_text(source)
        subprocess.run([clang, "-target", target, "-g", "-O2", "-c", str(src), "-o", str(obj)],
                       check=True, capture_output=True)
        graph = read_btf_file(obj)
        compare_with_pahole(graph, "rnd", run_pahole(obj, ["rnd"])["rnd"])
        # the compiler itself: offsetof for every member reachable by name, sizeof of the struct
        data = layout_json(build_layout(graph, graph.resolve("struct rnd")), graph)
        asserts = [f'_Static_assert(sizeof(struct rnd) == {data["size"]}, "size");']

        def walk(items: list[dict], path: str) -> None:
            for m in items:
                here = f"{path}.{m['name']}" if path and m["name"] else (m["name"] or path)
                if m["name"] and not m["bit_size"]:
                    asserts.append(f'_Static_assert(__builtin_offsetof(struct rnd, {here}) == {m["offset"]}, "");')
                if "members" in m:
                    walk(m["members"], here)

        walk(data["members"], "")
        check = Path(tmp) / "check.c"
        check.write_text(source + "\n".join(asserts) + "\n")
        proc = subprocess.run([clang, "-target", target, "-fsyntax-only", str(check)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr + source
