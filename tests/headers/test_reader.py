"""The header reader's TypeGraph: kinds, names, members, enums, constants, locations, options."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pytest

from abiguard.errors import AbiguardError
from abiguard.model import TypeGraph
from abiguard.model.target import TARGETS, host_target, parse_arch_list
from abiguard.model.types import ENUM_KINDS, IntEncoding, Kind
from abiguard.sources import SourceOptions, load_source
from abiguard.sources.clang.headers import merge_units, parse_unit, read_headers


def _members(g: TypeGraph, spec: str) -> dict[str, tuple[int, int, str]]:
    """name -> (bit offset, bit size, C type) of a struct's direct members."""
    t = g[g.resolve(spec)]
    return {m.name: (m.bit_offset, m.bit_size, g.c_name(m.type)) for m in t.members}


def test_ids_start_at_one_and_void_is_zero(layout_graphs: dict[str, TypeGraph]) -> None:
    g = layout_graphs["x86_64"]
    assert g[0].kind == Kind.VOID
    assert all(g[i].kind != Kind.VOID for i in g.ids())
    for i in g.ids():
        t = g[i]
        refs = [t.ref, *(m.type for m in t.members), *(p.type for p in t.params)]
        assert all(0 <= r < len(g) for r in refs), g.describe(i)


def test_int_names_and_encodings(layout_graphs: dict[str, TypeGraph]) -> None:
    g = layout_graphs["aarch64"]
    ints = {g[i].name: g[i] for i in g.ids() if g[i].kind == Kind.INT}
    assert ints["unsigned int"].encoding == IntEncoding.NONE and ints["unsigned int"].size == 4
    assert ints["long long"].encoding == IntEncoding.SIGNED and ints["long long"].size == 8
    assert ints["_Bool"].encoding == IntEncoding.BOOL
    # char is unsigned on aarch64, signed on x86_64
    assert ints["char"].encoding == IntEncoding.CHAR
    x86 = layout_graphs["x86_64"]
    char = next(x86[i] for i in x86.ids() if x86[i].kind == Kind.INT and x86[i].name == "char")
    assert char.encoding == IntEncoding.CHAR | IntEncoding.SIGNED


def test_struct_members_offsets_and_sizes_per_arch(layout_graphs: dict[str, TypeGraph]) -> None:
    g64, g32 = layout_graphs["x86_64"], layout_graphs["i386"]
    # __u64 is 4-byte aligned inside structs on i386 only; the aligned typedef restores 8.
    assert _members(g64, "struct abg_i386")["b"][0] == 64
    assert _members(g32, "struct abg_i386")["b"][0] == 32
    assert _members(g32, "struct abg_i386")["e"][0] == 256
    assert g32.align_of(g32.resolve("__aligned_u64")) == 8
    assert g32.align_of(g32.resolve("__u64")) == 4
    assert g64[g64.resolve("struct abg_long")].size == 48
    for arch in ("i386", "arm", "ppc", "mips", "riscv32"):
        assert layout_graphs[arch][layout_graphs[arch].resolve("struct abg_long")].size == 24, arch
    packed = g64[g64.resolve("struct abg_packed")]
    assert (packed.size, packed.align) == (15, 1)
    aligned = g64[g64.resolve("struct abg_aligned")]
    assert (aligned.size, aligned.align) == (32, 32)
    assert _members(g64, "struct abg_aligned")["b"][0] == 128


def test_bitfields_and_anonymous_members(layout_graphs: dict[str, TypeGraph]) -> None:
    g = layout_graphs["x86_64"]
    bits = _members(g, "struct abg_bits")
    assert bits["a"] == (0, 3, "unsigned int")
    assert bits["b"] == (3, 5, "unsigned int")
    assert bits["d"][1] == 40
    assert "" not in bits  # the unnamed `: 0` bitfield is padding, not a member
    assert g[g.resolve("struct abg_bits")].kind_flag
    anon = g[g.resolve("struct abg_anon")]
    unnamed = [m for m in anon.members if not m.name]
    assert len(unnamed) == 1 and g[unnamed[0].type].kind == Kind.UNION and not g[unnamed[0].type].name
    union = g[unnamed[0].type]
    assert [m.name for m in union.members] == ["", "whole", "ext"]
    assert g[union.members[0].type].kind == Kind.STRUCT
    # a named member of an unnamed struct type keeps its name
    ext = g[union.members[2].type]
    assert ext.kind == Kind.STRUCT and not ext.name and [m.name for m in ext.members] == ["tag", "payload"]


def test_arrays_flexible_and_nested(layout_graphs: dict[str, TypeGraph]) -> None:
    g = layout_graphs["x86_64"]
    flex = g[g.resolve("struct abg_flex")]
    items = g[flex.members[1].type]
    assert items.kind == Kind.ARRAY and items.nelems == 0 and flex.size == 8
    zero = g[g.resolve("struct abg_zero")]
    assert g[zero.members[1].type].nelems == 0 and zero.size == 4
    nested = _members(g, "struct abg_nested")
    assert nested["m"][2] == "__u16 [3][5]"
    assert nested["l"][0] == 32 * 8 and nested["tail"][0] == (32 + 96) * 8


def test_enums(layout_graphs: dict[str, TypeGraph]) -> None:
    g = layout_graphs["x86_64"]
    neg = g[g.resolve("enum abg_neg")]
    assert neg.kind == Kind.ENUM and neg.signed and neg.size == 4
    assert {e.name: e.value for e in neg.enumerators} == {"ABG_N_MIN": -(2**31), "ABG_N_NEG": -1, "ABG_N_POS": 7}
    u32 = g[g.resolve("enum abg_u32")]
    assert not u32.signed and u32.enumerators[0].value == 0xFFFFFFFF
    big = g[g.resolve("enum abg_64")]
    assert big.kind == Kind.ENUM64 and big.size == 8 and not big.signed
    assert [e.value for e in big.enumerators] == [1 << 32, (1 << 64) - 1]
    s64 = g[g.resolve("enum abg_s64")]
    assert s64.kind == Kind.ENUM64 and s64.signed and s64.enumerators[0].value == -(1 << 32)
    anon = [g[i] for i in g.ids() if g[i].kind in ENUM_KINDS and not g[i].name]
    assert any(e.name == "ABG_ANON_X" and e.value == 42 for t in anon for e in t.enumerators)
    te = g[g.resolve("abg_enum_t")]
    assert te.kind == Kind.TYPEDEF and g[te.ref].kind == Kind.ENUM and not g[te.ref].name


def test_typedef_chains_qualifiers_and_functions(layout_graphs: dict[str, TypeGraph]) -> None:
    g = layout_graphs["x86_64"]
    chain = g.resolve("u32_chain3")
    assert g[chain].kind == Kind.TYPEDEF
    const = g[g[chain].ref]
    assert const.kind == Kind.CONST and g[const.ref].name == "u32_chain2"
    assert g[g.strip(chain)].name == "unsigned int"
    ptrs = _members(g, "struct abg_ptrs")
    assert ptrs["name"][2] == "const char *"
    assert ptrs["cb"][2] == "int (*)(void *, long)"
    assert ptrs["reg"][2] == "volatile __u32 *"


def test_locations_are_relative_to_the_source_root(layout_graphs: dict[str, TypeGraph]) -> None:
    g = layout_graphs["x86_64"]
    assert g[g.resolve("struct abg_bits")].location == "abg/bits.h:4"
    assert g[g.resolve("__u64")].location == "abg/types.h:8"
    assert g[g.resolve("size_t")].location.startswith("<builtin>/stddef.h:")
    assert g.constants["ABG_ONE"].location == "abg/consts.h:4"


def test_structurally_identical_types_appear_once(layout_graphs: dict[str, TypeGraph]) -> None:
    g = layout_graphs["x86_64"]
    named = [(g[i].kind, g[i].name) for i in g.ids() if g[i].name and g[i].kind != Kind.FUNC]
    assert len(named) == len(set(named))
    ptr_targets = [g[i].ref for i in g.ids() if g[i].kind == Kind.PTR]
    assert len(ptr_targets) == len(set(ptr_targets))


def test_constants_evaluated_per_arch(layout_graphs: dict[str, TypeGraph]) -> None:
    g = layout_graphs["x86_64"]
    values = {name: c.value for name, c in g.constants.items()}
    assert values["ABG_SHIFTED"] == 4096
    assert values["ABG_NEGATIVE"] == -42
    assert values["ABG_U64_MAX"] == (1 << 64) - 1
    assert values["ABG_LONG_BITS"] == 64 and layout_graphs["arm"].constants["ABG_LONG_BITS"].value == 32
    assert values["ABG_SIZE_LONG"] == 48 and values["ABG_OFFSET_TAIL"] == 128
    assert values["ABG_CHAR"] == ord("f")
    assert values["ABG_ENUM_REF"] == 5
    for dropped in ("ABG_STRING", "ABG_TYPE", "ABG_EMPTY", "ABG_FN", "ABG_UNDEFINED_REF", "ABG_IOC"):
        assert dropped not in values
    assert "INT_MAX" not in values and "NULL" not in values  # builtin headers' macros are not the source's
    # ioctl numbers carry each arch's encoding and the arch's struct size
    assert values["ABG_IOC_FIEMAP"] == 0xC030660B
    assert layout_graphs["mips"].constants["ABG_IOC_FIEMAP"].value == 0xC018660B
    assert layout_graphs["ppc64"].constants["ABG_IOC_FIEMAP"].value == 0xC030660B
    assert layout_graphs["sparc64"].constants["ABG_IOC_NOSIZE"].value == 0x20007801
    assert layout_graphs["aarch64"].constants["ABG_IOC_NOSIZE"].value == 0x7801


def test_parse_unit_reports_files_with_hashes_and_pickles(layout_header_dir: Path) -> None:
    target = TARGETS["riscv64"]
    main = layout_header_dir / "main.c"
    unit = parse_unit('#include <abg/consts.h>\n', str(main), [layout_header_dir], target)
    assert unit.ok and unit.target == target
    expected = {str(layout_header_dir / n) for n in ("abg/consts.h", "abg/layout.h", "abg/types.h")}
    assert expected <= set(unit.files)
    for name in expected:
        assert unit.files[name] == hashlib.sha256(Path(name).read_bytes()).hexdigest()
    assert unit.files[str(main)] == hashlib.sha256(b"#include <abg/consts.h>\n").hexdigest()
    assert any(name.endswith("data/include/stdint.h") for name in unit.files)
    clone = pickle.loads(pickle.dumps(unit))
    assert clone == unit
    graph = merge_units([clone], target, "test")
    assert graph.constants["ABG_IOC_NOSIZE"].value == 0x7801
    assert graph.resolve("struct abg_long")


def test_parse_unit_unsaved_files(tmp_path: Path) -> None:
    unsaved = {str(tmp_path / "gen" / "virt.h"): "struct virt { long v; };\n#define VIRT_SIZE sizeof(struct virt)\n"}
    unit = parse_unit('#include "gen/virt.h"\n', str(tmp_path / "m.c"), [tmp_path], TARGETS["ppc"], (), unsaved)
    graph = merge_units([unit], TARGETS["ppc"], "virt")
    assert graph[graph.resolve("struct virt")].size == 4
    assert graph.constants["VIRT_SIZE"].value == 4
    assert graph[graph.resolve("struct virt")].location == "gen/virt.h:1"


def test_merge_dedupes_across_units_and_resolves_forwards(tmp_path: Path) -> None:
    (tmp_path / "a.h").write_text(
        "struct shared { int x; long y; };\nstruct later;\nstruct user { struct later *p; };\n"
    )
    (tmp_path / "b.h").write_text('#include "a.h"\nstruct later { char c; };\n')
    t = TARGETS["x86_64"]
    ua = parse_unit('#include "a.h"\n', str(tmp_path / "ua.c"), [tmp_path], t)
    ub = parse_unit('#include "b.h"\n', str(tmp_path / "ub.c"), [tmp_path], t)
    assert any(x.kind == Kind.FWD and x.name == "later" for x in ua.types)
    g = merge_units([ua, ub], t, "ab")
    assert len(g.ids_named("shared")) == 1 and len(g.ids_named("user")) == 1
    assert [g[i].kind for i in g.ids_named("later")] == [Kind.STRUCT]
    user = g[g.resolve("struct user")]
    assert g[g[user.members[0].type].ref].kind == Kind.STRUCT
    assert not g.diagnostics


def test_merge_keeps_conflicting_definitions_and_reports_them(tmp_path: Path) -> None:
    (tmp_path / "one.h").write_text("struct clash { int a; };\n#define CLASH 1\n")
    (tmp_path / "two.h").write_text("struct clash { long a; };\n#define CLASH 2\n")
    t = TARGETS["x86_64"]
    units = [parse_unit(f'#include "{n}"\n', str(tmp_path / f"{n}.c"), [tmp_path], t) for n in ("one.h", "two.h")]
    g = merge_units(units, t, "clash")
    assert sorted(g[i].size for i in g.ids_named("clash")) == [4, 8]
    text = "\n".join(str(d) for d in g.diagnostics)
    assert "conflicting definitions of struct clash: one.h:1, two.h:1" in text
    assert "conflicting values of CLASH: 1 (one.h:2), 2 (two.h:2)" in text
    assert g.constants["CLASH"].value == 1


def test_broken_header_is_reported_and_the_rest_still_read(tmp_path: Path) -> None:
    (tmp_path / "good1.h").write_text("struct good1 { int a; };\n#define GOOD1 1\n")
    (tmp_path / "broken.h").write_text("struct fine_in_broken { int a; };\n\nstruct bad { unknown_t x; };\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good2.h").write_text("#include <good1.h>\nstruct good2 { struct good1 g; long b; };\n")
    graphs = read_headers([tmp_path], parse_arch_list("x86_64,s390x"), SourceOptions())
    for g in graphs:
        assert g[g.resolve("struct good1")].size == 4
        assert g[g.resolve("struct good2")].size == 16
        assert g.constants["GOOD1"].value == 1
        assert g.resolve("struct fine_in_broken")
        # a struct whose definition had errors has no trustworthy layout: only its name is kept
        assert [g[i].kind for i in g.ids_named("bad")] == [Kind.FWD]
        messages = [str(d) for d in g.diagnostics]
        assert messages == [f"broken.h:3: {g.target.name}: unknown type name 'unknown_t'"]


def test_fatal_include_error_isolated(tmp_path: Path) -> None:
    (tmp_path / "a.h").write_text("struct a { int x; };\n")
    (tmp_path / "b.h").write_text("#include <no-such-libc-header.h>\nstruct b { int y; };\n")
    (tmp_path / "c.h").write_text("struct c { short z; };\n")
    (g,) = read_headers([tmp_path], [TARGETS["arm"]], SourceOptions())
    assert g.resolve("struct a") and g.resolve("struct c")
    assert [str(d) for d in g.diagnostics] == ["b.h:1: arm: 'no-such-libc-header.h' file not found"]


def test_include_dirs_and_defines(tmp_path: Path) -> None:
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "dep.h").write_text("typedef unsigned long dep_t;\n")
    src = tmp_path / "src"
    src.mkdir()
    (src / "top.h").write_text(
        "#include <dep.h>\n#ifdef WITH_EXTRA\nstruct extra { dep_t d[EXTRA_N]; };\n#endif\nstruct base { dep_t d; };\n"
    )
    opts = SourceOptions(include_dirs=(inc,), defines=("WITH_EXTRA", "EXTRA_N=3"))
    (g,) = read_headers([src / "top.h"], [TARGETS["mips64el"]], opts)
    assert g[g.resolve("struct extra")].size == 24
    assert g[g.resolve("dep_t")].location == "dep.h:1"
    (plain,) = read_headers([src / "top.h"], [TARGETS["mips64el"]], SourceOptions(include_dirs=(inc,)))
    assert not plain.ids_named("extra") and not plain.diagnostics


def test_directory_source_is_complete_and_deterministic(tmp_path: Path) -> None:
    for name in ("z.h", "a/b.h", "a/a.h", "m/deep/er.h"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tag = name.replace("/", "_").replace(".", "_")
        path.write_text(f"struct s_{tag} {{ int v; }};\n")
    (tmp_path / ".pc" / "old").mkdir(parents=True)
    (tmp_path / ".pc" / "old" / "z.h").write_text("struct s_z_h { long stale; };\n")
    (tmp_path / "notes.txt").write_text("struct not_a_header { int x; };\n")
    (tmp_path / "code.c").write_text("struct not_a_header_either { int x; };\n")
    first = read_headers([tmp_path], [TARGETS["x86_64"]], SourceOptions())[0]
    again = read_headers([tmp_path], [TARGETS["x86_64"]], SourceOptions())[0]
    names = [first[i].name for i in first.ids() if first[i].kind == Kind.STRUCT]
    assert names == ["s_a_a_h", "s_a_b_h", "s_m_deep_er_h", "s_z_h"]
    assert first.types == again.types


def test_default_target_is_host(tmp_path: Path) -> None:
    (tmp_path / "h.h").write_text("struct h { long l; };\n")
    (g,) = read_headers([tmp_path / "h.h"], [], SourceOptions())
    assert g.target == host_target()


def test_load_source_dispatches_headers(tmp_path: Path) -> None:
    (tmp_path / "h.h").write_text("struct h { long l; };\n")
    graphs = load_source(str(tmp_path / "h.h"), parse_arch_list("i386,x86_64"), SourceOptions())
    assert [g[g.resolve("struct h")].size for g in graphs] == [4, 8]


def test_bad_paths_and_arches_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(AbiguardError, match="no such file"):
        read_headers([tmp_path / "missing.h"], [], SourceOptions())
    (tmp_path / "empty").mkdir()
    with pytest.raises(AbiguardError, match=r"no \*\.h headers"):
        read_headers([tmp_path / "empty"], [], SourceOptions())
    with pytest.raises(AbiguardError, match="unknown architecture 'vax'"):
        parse_arch_list("x86_64,vax")


def test_unclosed_brace_does_not_swallow_later_headers(tmp_path: Path) -> None:
    (tmp_path / "a_open.h").write_text("struct open_one {\n    int x;\n")
    (tmp_path / "b_after.h").write_text("struct after { long y; };\n#define AFTER_SIZE sizeof(struct after)\n")
    (g,) = read_headers([tmp_path], [TARGETS["s390x"]], SourceOptions())
    after = g[g.resolve("struct after")]
    assert after.size == 8 and after.location == "b_after.h:1"
    assert g.constants["AFTER_SIZE"].value == 8
    assert any("a_open.h" in d.location for d in g.diagnostics)
    assert not any("b_after.h" in d.location for d in g.diagnostics)


def test_macro_that_derails_the_parser_does_not_lose_later_constants(tmp_path: Path) -> None:
    """DERAIL expands to `{`, opening a statement expression that would swallow later declarations."""
    (tmp_path / "m.h").write_text(
        "#define BEFORE 1\n#define LB {\n#define DERAIL LB\n#define AFTER1 11\n#define AFTER2 (AFTER1 * 2)\n"
    )
    (g,) = read_headers([tmp_path], [TARGETS["riscv64"]], SourceOptions())
    assert {n: c.value for n, c in g.constants.items()} == {"BEFORE": 1, "AFTER1": 11, "AFTER2": 22}
    assert g.constants["AFTER2"].location == "m.h:5"


def test_bad_define_is_one_diagnostic(tmp_path: Path) -> None:
    for name in ("a.h", "b.h", "c.h"):
        (tmp_path / name).write_text(f"struct {name[0]} {{ int v; }};\n")
    (g,) = read_headers([tmp_path], [TARGETS["ppc64"]], SourceOptions(defines=("1BAD=3",)))
    assert [str(d) for d in g.diagnostics] == ["<command line>: ppc64: macro name must be an identifier"]
    assert all(g.resolve(f"struct {n}") for n in "abc")


def test_forward_stays_forward_when_definitions_conflict(tmp_path: Path) -> None:
    (tmp_path / "p.h").write_text("struct two;\nstruct holder { struct two *p; };\n")
    (tmp_path / "q.h").write_text("struct two { int a; };\n")
    (tmp_path / "r.h").write_text("struct two { char a[3]; };\n")
    t = TARGETS["arm"]
    units = [parse_unit(f'#include "{n}"\n', str(tmp_path / f"{n}.c"), [tmp_path], t) for n in ("p.h", "q.h", "r.h")]
    g = merge_units(units, t, "fwd")
    holder = g[g.resolve("struct holder")]
    assert g[g[holder.members[0].type].ref].kind == Kind.FWD
    assert sorted(g[i].size for i in g.ids_named("two") if g[i].kind == Kind.STRUCT) == [3, 4]


def test_functions_and_prototypes(tmp_path: Path) -> None:
    (tmp_path / "f.h").write_text(
        "int add(int a, int b);\nstatic inline long twice(long v) { return v * 2; }\n"
        "int logf_(const char *fmt, ...);\ntypedef void (*cb_t)(void);\nint knr();\n"
    )
    (g,) = read_headers([tmp_path], [TARGETS["x86_64"]], SourceOptions())
    funcs = {g[i].name: g[i] for i in g.ids() if g[i].kind == Kind.FUNC}
    assert funcs["add"].linkage == 2 and funcs["twice"].linkage == 0
    add = g[funcs["add"].ref]
    assert add.kind == Kind.FUNC_PROTO and [p.name for p in add.params] == ["a", "b"]
    assert g.c_name(funcs["logf_"].ref) == "int (const char *, ...)"
    assert g.c_name(g[g.resolve("cb_t")].ref) == "void (*)(void)"
    assert g[funcs["knr"].ref].params == ()
    assert funcs["add"].location == "f.h:1"


def test_macros_behind_computed_includes_are_still_evaluated(tmp_path: Path) -> None:
    """Macro names are guessed from the headers' text; a computed #include hides some from the guess."""
    (tmp_path / "inner.inc").write_text("#define INNER (6 * 7)\n")
    (tmp_path / "outer.h").write_text('#define WHICH "inner.inc"\n#include WHICH\n#define OUTER (INNER + 1)\n')
    (g,) = read_headers([tmp_path / "outer.h"], [TARGETS["sparc64"]], SourceOptions())
    assert {n: c.value for n, c in g.constants.items()} == {"INNER": 42, "OUTER": 43}
    assert g.constants["INNER"].location == "inner.inc:1"


def test_unclosed_struct_alone_keeps_only_its_own_members(tmp_path: Path) -> None:
    (tmp_path / "open.h").write_text("#define SOME 1\nstruct open_one {\n    int x;\n")
    (g,) = read_headers([tmp_path / "open.h"], [TARGETS["x86_64"]], SourceOptions())
    struct = g[g.resolve("struct open_one")]
    assert [m.name for m in struct.members] == ["x"]
    assert str(g.diagnostics[0]) == "open.h:2: x86_64: expected '}' (to match this '{')"
    assert not g.constants  # nothing after an unfinished declaration can be trusted


def test_literal_defines_follow_the_active_definition(tmp_path: Path) -> None:
    """Plain literals take their value from the text, but only the definition the preprocessor kept
    counts: #if branches, redefinitions and #undef decide, as for every other macro."""
    (tmp_path / "lit.h").write_text(
        "#define HEX 0x10\n#define PAREN (8UL)\n#define OCT 010\n#define BIN 0b101\n#define BIG 0xFFFFFFFFFFFFFFFFULL\n"
        "#define GONE 1\n#undef GONE\n"
        "#ifdef __s390x__\n#define PICK 1\n#else\n#define PICK 2\n#endif\n"
        "#define TWICE 3\n#undef TWICE\n#define TWICE 4\n"
        "#define MIXED 5\n#undef MIXED\n#define MIXED (2 + 5)\n"
        "#define TOO_WIDE 0x1FFFFFFFFFFFFFFFF\n"
    )
    for arch, pick in (("s390x", 1), ("arm", 2)):
        (g,) = read_headers([tmp_path], [TARGETS[arch]], SourceOptions())
        values = {n: c.value for n, c in g.constants.items()}
        assert values == {"HEX": 16, "PAREN": 8, "OCT": 8, "BIN": 5, "BIG": 2**64 - 1, "PICK": pick, "TWICE": 4,
                          "MIXED": 7}
        assert g.constants["PICK"].location == f"lit.h:{9 if pick == 1 else 11}"
        assert g.constants["TWICE"].location == "lit.h:15"


def test_the_define_in_effect_is_found_through_deep_expansions(tmp_path: Path) -> None:
    """A name #defined in two headers expands through a dozen macros: the front end's note still
    names the #define in effect, which differs per arch here."""
    chain = ["#define M0 (1 + 2)", *(f"#define M{i} M{i - 1}" for i in range(1, 12))]
    (tmp_path / "c.h").write_text("\n".join([*chain, "#define DEEP M11", "#define ONCE M11"]) + "\n")
    (tmp_path / "d.h").write_text("#ifdef __s390x__\n#define DEEP (M3 + 1)\n#endif\n")
    for arch, deep in (("s390x", (4, "d.h:2")), ("arm", (3, "c.h:13"))):
        (g,) = read_headers([tmp_path], [TARGETS[arch]], SourceOptions())
        assert (g.constants["DEEP"].value, g.constants["DEEP"].location) == deep
        assert (g.constants["ONCE"].value, g.constants["ONCE"].location) == (3, "c.h:14")
