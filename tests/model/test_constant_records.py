"""What a Constant records of its #define (refs, measured types, OR-of-names shape), what a graph
records of headers that failed and of #defines no unit could evaluate: read by libclang, and kept
through the kernel cache's codec and through snapshots."""

from __future__ import annotations

from pathlib import Path

from abiguard.model import Constant, get_target
from abiguard.sources import SourceOptions
from abiguard.sources.clang.headers import read_headers
from abiguard.sources.kernel import codec
from abiguard.sources.snapshot import read_snapshot, write_snapshot

HEADER = """
struct fsx { int a; char b[4]; };
typedef struct fsx fsx_t;
enum { A_X, A_Y, __A_MAX };
#define A_MAX (__A_MAX - 1)
#define _IOC(d, t, n, s) (((d) << 30) | ((t) << 8) | (n) | ((s) << 16))
#define _IOW(t, n, s) _IOC(1, (t), (n), (sizeof(s)))
#define FS_IOC _IOW('f', 3, struct fsx)
#define FS_IOC_T _IOW('f', 4, fsx_t)
#define F_ONE (1U << 0)
#define F_TWO (1U << 1)
#define F_MASK (F_ONE | \\
    F_TWO)
#define F_SUM (F_ONE + F_TWO)
#define NOT_AN_INT struct fsx
"""


def test_constants_record_what_their_expansion_names(tmp_path: Path) -> None:
    (tmp_path / "a.h").write_text(HEADER)
    (tmp_path / "broken.h").write_text("#include \"a.h\"\nstruct bad { uint32_t x; };\n")
    graph = read_headers([tmp_path], [get_target("i386")], SourceOptions(use_cache=False))[0]
    c = graph.constants
    assert c["A_MAX"] == Constant("A_MAX", 1, "a.h:5", ("__A_MAX",))
    assert (c["FS_IOC"].refs, c["FS_IOC"].measures, c["FS_IOC"].flag_union) == (("_IOW",), ("struct fsx",), False)
    assert c["FS_IOC_T"].measures == ("fsx_t",)
    assert (c["F_MASK"].value, c["F_MASK"].refs, c["F_MASK"].flag_union) == (3, ("F_ONE", "F_TWO"), True)
    assert (c["F_SUM"].refs, c["F_SUM"].flag_union) == (("F_ONE", "F_TWO"), False)
    assert "NOT_AN_INT" not in c and "NOT_AN_INT" in graph.unevaluated
    [failure] = graph.failures
    assert (failure.header, failure.where, failure.culprit) == ("broken.h", "broken.h:2", "broken.h")
    assert "uint32_t" in failure.message

    again = codec.load(codec.dump_graph(graph))
    assert dict(again.constants) == dict(graph.constants)
    assert again.unevaluated == graph.unevaluated
    write_snapshot([graph], tmp_path / "snap.json")
    [loaded] = read_snapshot(tmp_path / "snap.json", [])
    assert dict(loaded.constants) == dict(graph.constants)
    assert (tuple(loaded.failures), loaded.unevaluated) == (tuple(graph.failures), graph.unevaluated)


def test_enumerators_record_whether_their_value_is_written_out(tmp_path: Path) -> None:
    # fuse.h numbers every entry and leaves the count to the compiler; an attribute is no initializer.
    (tmp_path / "e.h").write_text("#define BASE 4\nenum fuse_notify_code { FUSE_NOTIFY_POLL = 1, FUSE_NOTIFY_RETRIEVE"
                                  " = BASE + 1, FUSE_NOTIFY_OLD __attribute__((deprecated)), FUSE_NOTIFY_CODE_MAX };\n")
    graph = read_headers([tmp_path], [get_target("x86_64")], SourceOptions(use_cache=False))[0]
    [enum] = [graph[t] for t in graph.ids_named("fuse_notify_code")]
    spelled = [(e.name, e.value, e.explicit) for e in enum.enumerators]
    assert spelled == [("FUSE_NOTIFY_POLL", 1, True), ("FUSE_NOTIFY_RETRIEVE", 5, True),
                       ("FUSE_NOTIFY_OLD", 6, False), ("FUSE_NOTIFY_CODE_MAX", 7, False)]
    again = codec.load(codec.dump_graph(graph))
    write_snapshot([graph], tmp_path / "snap.json")
    [loaded] = read_snapshot(tmp_path / "snap.json", [])
    for kept in (again, loaded):
        [enum] = [kept[t] for t in kept.ids_named("fuse_notify_code")]
        assert [(e.name, e.value, e.explicit) for e in enum.enumerators] == spelled
