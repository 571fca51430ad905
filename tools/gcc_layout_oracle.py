"""GCC as an oracle for abiguard's layouts: does the cross compiler agree with a TypeGraph?

For one TypeGraph (one arch) and the C prelude that declares its types (usually `#include` lines),
this writes a C file of `_Static_assert`s -- sizeof/_Alignof of every named struct, union, enum and
typedef, offsetof and sizeof of every member path (through anonymous members and unnamed struct
members), every enumerator and every integer constant -- and compiles it with the target's gcc
(`-fsyntax-only`). Bitfields cannot be asked with offsetof, so gcc compiles the prelude with
`-g -gdwarf-5` too and the bitfield offsets and widths are read back from its DWARF.

Library use: `run_oracle(graph, prelude, include_dirs, defines)` -> OracleReport.
Command line: `python tools/gcc_layout_oracle.py HEADER_OR_DIR... [--arch a,b] [-I DIR] [-D X=1]`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFRelocationError
from elftools.dwarf.die import DIE
from elftools.elf.elffile import ELFFile

from abiguard.model import Target, TypeGraph
from abiguard.model.types import COMPOSITE_KINDS, ENUM_KINDS, Kind
from abiguard.sources.clang.libclang import BUILTIN_INCLUDE, BUILTIN_PREFIX

_MAX_U64 = (1 << 64) - 1
# gcc's own freestanding headers; _LIBC_LIMITS_H_ stops its limits.h from pulling in a libc one,
# which cross compilers without a target libc do not have.
FREESTANDING_FLAGS = ("-ffreestanding", "-D_LIBC_LIMITS_H_")


@dataclass(frozen=True)
class Check:
    """One assertion: what it says in words, and the C expression that must hold."""

    what: str
    expr: str


@dataclass
class OracleReport:
    """What gcc said about one graph: counts, disagreements, and checks it could not judge."""

    arch: str
    compiler: str
    checked: int = 0
    bitfields_checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    unjudged: list[str] = field(default_factory=list)  # gcc found the expression not constant
    compile_errors: list[str] = field(default_factory=list)  # errors outside any check

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.compile_errors

    def summary(self) -> str:
        return (
            f"{self.arch} ({self.compiler}): {self.checked} checks, {self.bitfields_checked} bitfields, "
            f"{len(self.mismatches)} mismatches, {len(self.unjudged)} unjudged, "
            f"{len(self.compile_errors)} compile errors"
        )


def find_clang(target: Target) -> str | None:
    """The system clang if it can compile for `target` (a second oracle where no gcc exists)."""
    clang = shutil.which("clang")
    if clang is None:
        return None
    probe = subprocess.run([clang, "-target", target.triple, "-fsyntax-only", "-x", "c", "-"],
                           input="int x;\n", capture_output=True, text=True)
    return clang if probe.returncode == 0 else None


def find_gcc(target: Target) -> str | None:
    """The gcc that compiles for `target` on this machine, or None."""
    names = [f"{target.gcc_prefix}-gcc"] if target.gcc_prefix else []
    host = subprocess.run(["gcc", "-dumpmachine"], capture_output=True, text=True).stdout.strip() if shutil.which(
        "gcc"
    ) else ""
    if target.gcc_prefix and host.replace("-pc-", "-").replace("-unknown-", "-") == target.gcc_prefix:
        names.append("gcc")
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def libc_include_dirs(gcc: str) -> list[Path]:
    """The target libc's header directories a gcc searches: for a Debian cross gcc its
    libc6-dev-<arch>-cross directory (/usr/<triple>/include, never the host's /usr/include it also
    lists), for a native one /usr/include/<triple> and /usr/include. Empty when there is none."""
    machine = subprocess.run([gcc, "-dumpmachine"], capture_output=True, text=True).stdout.strip()
    own = Path(subprocess.run([gcc, "-print-file-name=include"], capture_output=True, text=True).stdout.strip())
    proc = subprocess.run([gcc, "-xc", "-E", "-v", "-"], input="", capture_output=True, text=True)
    listed, inside = [], False
    for line in proc.stderr.splitlines():
        if line.startswith("#include <...> search starts here:"):
            inside = True
        elif line.startswith("End of search list."):
            inside = False
        elif inside and line.startswith(" "):
            listed.append(Path(line.strip()).resolve())
    listed = [d for d in listed if d != own.resolve() and "gcc" not in d.parts and d.is_dir()]
    cross = [d for d in listed if d.name == "include" and d.parent.name == machine]
    if cross:
        return cross
    return [d for d in listed if d != Path("/usr/local/include")]


# --- what to check ---------------------------------------------------------------------------
def _c_literal(value: int) -> str:
    """`value` as a C literal of a type that holds it exactly."""
    if value < 0:
        return f"({value + 1}LL - 1)"
    return f"{value}ULL" if value <= _MAX_U64 else str(value)


def _spellings(graph: TypeGraph) -> dict[int, str]:
    """How C code names each checkable struct/union/enum: `struct tag`, or a typedef of an unnamed one."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for tid in graph.ids():
        t = graph[tid]
        # No location: a compiler-internal type (e.g. __va_list_tag), not nameable in portable C.
        if t.name and t.location and (t.kind in COMPOSITE_KINDS or t.kind in ENUM_KINDS):
            word = {Kind.STRUCT: "struct", Kind.UNION: "union"}.get(t.kind, "enum")
            spelled = f"{word} {t.name}"
            if spelled not in taken:  # a conflicting second definition cannot be named apart
                names[tid] = spelled
                taken.add(spelled)
    for tid in graph.ids():
        t = graph[tid]
        if t.kind == Kind.TYPEDEF and t.name:
            target = graph[t.ref]
            if (target.kind in COMPOSITE_KINDS or target.kind in ENUM_KINDS) and not target.name:
                names.setdefault(t.ref, t.name)
    return names


def _complete(graph: TypeGraph, tid: int) -> bool:
    """True when sizeof() is valid for the type (not void, function, forward or flexible array)."""
    s = graph.strip(tid)
    t = graph[s]
    if t.kind in (Kind.VOID, Kind.FWD, Kind.FUNC, Kind.FUNC_PROTO):
        return False
    if t.kind == Kind.ARRAY:
        return t.nelems > 0 and _complete(graph, t.ref)
    return True


def _member_paths(graph: TypeGraph, tid: int, prefix: str = "", base: int = 0, depth: int = 0) -> Iterator:
    """(path, bit offset, bit size, type id) of every member reachable by a C member designator."""
    if depth > 8:
        return
    for m in graph[tid].members:
        offset = base + m.bit_offset
        inner = graph.strip(m.type)
        it = graph[inner]
        if not m.name:
            # C11 anonymous struct/union: its fields are named as if they were ours.
            if it.kind in COMPOSITE_KINDS:
                yield from _member_paths(graph, inner, prefix, offset, depth + 1)
            continue
        path = prefix + m.name
        yield path, offset, m.bit_size, m.type
        if m.bit_size:
            continue
        if it.kind in COMPOSITE_KINDS and not it.name:
            yield from _member_paths(graph, inner, path + ".", offset, depth + 1)
        elif it.kind == Kind.ARRAY and it.nelems:
            elem = graph.strip(it.ref)
            if graph[elem].kind in COMPOSITE_KINDS and not graph[elem].name:
                yield from _member_paths(graph, elem, path + "[0].", offset, depth + 1)


def layout_checks(graph: TypeGraph, constants: bool = True) -> list[Check]:
    """Every assertion gcc can judge about the graph's layouts, enumerators and constants."""
    checks: list[Check] = []
    spelled = _spellings(graph)
    for tid, name in spelled.items():
        t = graph[tid]
        checks.append(Check(f"sizeof({name}) == {t.size}", f"sizeof({name}) == {t.size}"))
        align = graph.align_of(tid)
        checks.append(Check(f"_Alignof({name}) == {align}", f"_Alignof({name}) == {align}"))
        if t.location.startswith(BUILTIN_PREFIX):
            continue  # our freestanding headers name private members differently from gcc's
        if t.kind in ENUM_KINDS:
            for e in t.enumerators:
                checks.append(Check(f"{e.name} == {e.value}", f"({e.name}) == {_c_literal(e.value)}"))
            continue
        for path, bit_offset, bit_size, mtype in _member_paths(graph, tid):
            if bit_size:
                continue  # checked through DWARF
            member = f"(({name} *)0)->{path}"
            checks.append(Check(f"offsetof({name}, {path}) == {bit_offset // 8}",
                                f"__builtin_offsetof({name}, {path}) == {bit_offset // 8}"))
            if _complete(graph, mtype):
                size = graph.size_of(mtype)
                checks.append(Check(f"sizeof({name}.{path}) == {size}", f"sizeof({member}) == {size}"))
    seen_typedefs: set[str] = set(spelled.values())
    for tid in graph.ids():
        t = graph[tid]
        if t.kind != Kind.TYPEDEF or not t.name or not t.location or t.name in seen_typedefs:
            continue
        if not _complete(graph, tid):
            continue
        seen_typedefs.add(t.name)
        size, align = graph.size_of(tid), graph.align_of(tid)
        checks.append(Check(f"sizeof({t.name}) == {size}", f"sizeof({t.name}) == {size}"))
        checks.append(Check(f"_Alignof({t.name}) == {align}", f"_Alignof({t.name}) == {align}"))
    if constants:
        for name, c in sorted(graph.constants.items()):
            checks.append(Check(f"{name} == {c.value}", f"({name}) == {_c_literal(c.value)}"))
    return checks


def _bitfields_from_graph(graph: TypeGraph) -> dict[tuple[str, str], tuple[int, int]]:
    out = {}
    for tid, name in _spellings(graph).items():
        if graph[tid].kind in COMPOSITE_KINDS:
            for path, bit_offset, bit_size, _ in _member_paths(graph, tid):
                if bit_size:
                    out[(name, path)] = (bit_offset, bit_size)
    return out


# --- running gcc -----------------------------------------------------------------------------
_DIAG = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>\d+):(?:\d+:)? (?P<sev>error|note|warning): (?P<msg>.*)$")


def _is_clang(cc: str) -> bool:
    return "clang" in Path(cc).name


def _diag_flags(cc: str) -> list[str]:
    """Plain, unlimited, one-line diagnostics."""
    if _is_clang(cc):
        return ["-ferror-limit=0", "-fno-caret-diagnostics", "-fno-color-diagnostics"]
    return ["-fmax-errors=0", "-fdiagnostics-plain-output", "-fno-diagnostics-show-caret"]


def _compile_checks(gcc: str, prelude: str, checks: Sequence[Check], flags: Sequence[str], work: Path) -> tuple:
    src = work / "abiguard_oracle_checks.c"
    head = prelude.rstrip("\n") + "\n/* abiguard oracle checks */\n"
    first = head.count("\n") + 1
    src.write_text(head + "".join(f'_Static_assert({c.expr}, "abg#{i}");\n' for i, c in enumerate(checks)))
    cmd = [gcc, "-std=gnu11", *FREESTANDING_FLAGS, "-fsyntax-only", *_diag_flags(gcc), *flags, str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    failed: dict[int, str] = {}
    unjudged: dict[int, str] = {}
    stray: list[str] = []
    pending: tuple[str, str] | None = None  # an error inside a header, waiting for its expansion note

    def attribute(line_no: int, msg: str) -> None:
        idx = line_no - first
        if not 0 <= idx < len(checks):
            stray.append(msg)
        elif "not constant" in msg or "not an integer constant" in msg or "not an integral constant" in msg:
            unjudged.setdefault(idx, msg)
        else:
            failed.setdefault(idx, msg)

    for raw in proc.stderr.splitlines():
        m = _DIAG.match(raw)
        if not m:
            continue
        in_src = Path(m["file"]).name == src.name
        if m["sev"] == "error":
            if pending:
                stray.append(pending[1])
            pending = None
            tag = re.search(r'"abg#(\d+)"', m["msg"])
            if tag:
                failed.setdefault(int(tag[1]), m["msg"])
            elif in_src:
                attribute(int(m["line"]), m["msg"])
            else:
                pending = (raw, f"{m['file']}:{m['line']}: {m['msg']}")
        elif m["sev"] == "note" and pending and in_src and "in expansion of macro" in m["msg"]:
            attribute(int(m["line"]), pending[1])
            pending = None
    if pending:
        stray.append(pending[1])
    if "compilation terminated" in proc.stderr or "fatal error:" in proc.stderr:
        # A fatal error (e.g. a missing #include): gcc judged none of the assertions.
        stray.append(f"gcc stopped early: {proc.stderr.strip()[-1000:]}")
        return {}, dict.fromkeys(range(len(checks)), "not judged: gcc stopped early"), stray
    if proc.returncode != 0 and not (failed or unjudged or stray):
        stray.append(proc.stderr.strip()[-2000:] or f"{gcc} failed ({proc.returncode})")
    return failed, unjudged, stray


def _dwarf_bitfields(gcc: str, prelude: str, flags: Sequence[str], work: Path) -> tuple[dict, list[str]]:
    """(spelling, member path) -> (bit offset, bit size) of every bitfield, as gcc's DWARF says."""
    src, obj = work / "abiguard_oracle_dwarf.c", work / "abiguard_oracle_dwarf.so"
    src.write_text(prelude)
    # gcc links (-shared -nostdlib), so the DWARF is already relocated: pyelftools cannot apply
    # every arch's relocations to an object file's debug sections (e.g. MIPS). clang serves
    # targets without a cross toolchain, so it can only make an object (with its own assembler).
    link = ["-c", "-fintegrated-as"] if _is_clang(gcc) else ["-shared", "-nostdlib"]
    cmd = [gcc, "-std=gnu11", *FREESTANDING_FLAGS, "-g", "-gdwarf-5", "-fno-eliminate-unused-debug-types",
           *link, "-w", *flags, str(src), "-o", str(obj)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {}, [f"{Path(gcc).name} -g failed: {proc.stderr.strip()[-2000:]}"]
    out: dict[tuple[str, str], tuple[int, int]] = {}
    with obj.open("rb") as f:
        elf = ELFFile(f)
        big_endian = not elf.little_endian
        try:
            dwarf = elf.get_dwarf_info()
        except ELFRelocationError as e:
            return {}, [f"cannot read the DWARF of {Path(gcc).name}'s object: {e}"]
        for cu in dwarf.iter_CUs():
            for die in cu.iter_DIEs():
                spelled = _die_spelling(die)
                if spelled is None:
                    continue
                record = die.get_DIE_from_attribute("DW_AT_type") if die.tag == "DW_TAG_typedef" else die
                for path, offset, size in _die_bitfields(record, big_endian, "", 0, 0):
                    out.setdefault((spelled, path), (offset, size))
    return out, []


def _name(die: DIE) -> str | None:
    attr = die.attributes.get("DW_AT_name")
    return attr.value.decode() if attr else None


def _die_spelling(die: DIE) -> str | None:
    if die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
        if "DW_AT_declaration" in die.attributes or _name(die) is None:
            return None
        return ("struct " if die.tag == "DW_TAG_structure_type" else "union ") + _name(die)
    if die.tag == "DW_TAG_typedef" and "DW_AT_type" in die.attributes:
        target = die.get_DIE_from_attribute("DW_AT_type")
        if target.tag in ("DW_TAG_structure_type", "DW_TAG_union_type") and _name(target) is None:
            return _name(die)
    return None


def _strip_die(die: DIE) -> DIE:
    while die.tag in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type") and (
        "DW_AT_type" in die.attributes
    ):
        die = die.get_DIE_from_attribute("DW_AT_type")
    return die


_FORM_BITS = {"DW_FORM_data1": 8, "DW_FORM_data2": 16, "DW_FORM_data4": 32, "DW_FORM_data8": 64}


def _signed(attr: object) -> int:
    """An attribute value read as two's complement when its form is a plain (unsigned) data form."""
    value, bits = attr.value, _FORM_BITS.get(attr.form)
    return value - (1 << bits) if bits and value >= 1 << (bits - 1) else value


def _member_location(die: DIE) -> int:
    attr = die.attributes.get("DW_AT_data_member_location")
    if attr is None:
        return 0
    if isinstance(attr.value, int):
        return attr.value
    ops = list(attr.value)  # DW_OP_plus_uconst <uleb128>
    if ops and ops[0] == 0x23:
        value, shift = 0, 0
        for b in ops[1:]:
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        return value
    return 0


def _die_bitfields(record: DIE, big_endian: bool, prefix: str, base: int, depth: int) -> Iterator:
    if depth > 8:
        return
    for child in record.iter_children():
        if child.tag != "DW_TAG_member":
            continue
        a = child.attributes
        name = _name(child)
        byte_loc = _member_location(child)
        if "DW_AT_bit_size" in a:
            size = a["DW_AT_bit_size"].value
            if "DW_AT_data_bit_offset" in a:
                offset = a["DW_AT_data_bit_offset"].value
            else:
                # DWARF 2 style: bits left of the field's most significant bit in its storage unit.
                unit = a["DW_AT_byte_size"].value if "DW_AT_byte_size" in a else _strip_die(
                    child.get_DIE_from_attribute("DW_AT_type")).attributes["DW_AT_byte_size"].value
                left = _signed(a["DW_AT_bit_offset"])  # negative when a packed field straddles its unit
                offset = byte_loc * 8 + (left if big_endian else unit * 8 - left - size)
            if name:
                yield prefix + name, base + offset, size
            continue
        inner = _strip_die(child.get_DIE_from_attribute("DW_AT_type"))
        if inner.tag not in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_array_type"):
            continue
        if name is None:
            yield from _die_bitfields(inner, big_endian, prefix, base + byte_loc * 8, depth + 1)
        elif inner.tag != "DW_TAG_array_type" and _name(inner) is None:
            yield from _die_bitfields(inner, big_endian, f"{prefix}{name}.", base + byte_loc * 8, depth + 1)
        elif inner.tag == "DW_TAG_array_type":
            elem = _strip_die(inner.get_DIE_from_attribute("DW_AT_type"))
            if elem.tag in ("DW_TAG_structure_type", "DW_TAG_union_type") and _name(elem) is None:
                yield from _die_bitfields(elem, big_endian, f"{prefix}{name}[0].", base + byte_loc * 8, depth + 1)


def run_oracle(
    graph: TypeGraph,
    prelude: str,
    include_dirs: Sequence[Path] = (),
    defines: Sequence[str] = (),
    gcc: str | None = None,
    constants: bool = True,
    bitfields: bool = True,
    extra_flags: Sequence[str] = (),
    nostdinc: bool = True,
    system_include: Path | None = None,
    libc_dirs: Sequence[Path] = (),
) -> OracleReport:
    """Compare `graph` with what the target's gcc (or a clang) computes for the same declarations.

    `nostdinc` (default) hides the host's /usr/include, as abiguard's reader does for libclang;
    the compiler's own freestanding headers stay, unless `system_include` names others (e.g.
    abiguard's, to judge the reader rather than the choice of headers). `libc_dirs` (e.g.
    libc_include_dirs(gcc)) are searched last, as abiguard searches a libc's headers.
    """
    gcc = gcc or find_gcc(graph.target)
    if gcc is None:
        raise FileNotFoundError(f"no gcc for {graph.target.name} on this machine")
    flags = [*(f"-I{d}" for d in include_dirs), *(f"-D{d}" for d in defines), *extra_flags]
    for d in libc_dirs:
        flags += ["-idirafter", str(d)]
    if nostdinc:
        # Like abiguard's libclang setup: the compiler's own headers only, no host libc that
        # could supply different definitions (glibc's struct ip_msfilter, sigset_t, ...).
        query = ["-print-resource-dir"] if _is_clang(gcc) else ["-print-file-name=include"]
        own = subprocess.run([gcc, *query], capture_output=True, text=True).stdout.strip()
        own = str(Path(own) / "include") if _is_clang(gcc) else own
        flags = ["-nostdinc", "-isystem", str(system_include or own), *flags]
    if _is_clang(gcc):
        flags = ["-target", graph.target.triple, *flags]
    report = OracleReport(graph.target.name, Path(gcc).name)
    checks = layout_checks(graph, constants=constants)
    with tempfile.TemporaryDirectory(prefix="abiguard-oracle-") as tmp:
        work = Path(tmp)
        failed, unjudged, stray = _compile_checks(gcc, prelude, checks, flags, work)
        report.checked = len(checks) - len(unjudged)
        report.mismatches += [f"{checks[i].what}: gcc says {msg}" for i, msg in sorted(failed.items())]
        report.unjudged += [f"{checks[i].what}: {msg}" for i, msg in sorted(unjudged.items())]
        report.compile_errors += stray
        if bitfields:
            ours = _bitfields_from_graph(graph)
            if ours:
                theirs, errors = _dwarf_bitfields(gcc, prelude, flags, work)
                # An object pyelftools cannot relocate is no compile error: its bitfields stay unjudged.
                report.compile_errors += [e for e in errors if not e.startswith("cannot read the DWARF")]
                if errors:  # no object, no DWARF: the bitfields stay unjudged, not wrong
                    report.unjudged += [f"bitfield {k[0]}.{k[1]}: {errors[0][:80]}" for k in sorted(ours)]
                    ours = {}
                for key, (offset, size) in sorted(ours.items()):
                    report.bitfields_checked += 1
                    got = theirs.get(key)
                    if got != (offset, size):
                        report.mismatches.append(
                            f"bitfield {key[0]}.{key[1]}: ours bit {offset} width {size}, gcc DWARF {got}"
                        )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: read headers with abiguard for each arch, then ask that arch's gcc."""
    from abiguard.model.target import ALL_ARCHES, parse_arch_list
    from abiguard.sources import SourceOptions
    from abiguard.sources.clang.headers import collect_headers, read_headers

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--arch", default=",".join(ALL_ARCHES))
    ap.add_argument("-I", dest="include", action="append", default=[], type=Path)
    ap.add_argument("-D", dest="define", action="append", default=[])
    ap.add_argument("--no-constants", action="store_true")
    ap.add_argument("--show", type=int, default=20, help="mismatches to print per arch")
    ap.add_argument("--clang", action="store_true",
                    help="use the system clang (with abiguard's freestanding headers) where no gcc exists")
    args = ap.parse_args(argv)
    options = SourceOptions(include_dirs=tuple(args.include), defines=tuple(args.define))
    compilers = {t.name: find_gcc(t) or (find_clang(t) if args.clang else None) for t in parse_arch_list(args.arch)}
    for name, cc in compilers.items():
        if cc is None:
            print(f"{name}: no compiler for this arch here, skipped")
    targets = [t for t in parse_arch_list(args.arch) if compilers[t.name]]
    hs = collect_headers(args.paths, options)
    prelude = "".join(f'#include "{h}"\n' for h in hs.headers)
    bad = 0
    for graph in read_headers(list(args.paths), targets, options):
        cc = compilers[graph.target.name]
        assert cc is not None
        report = run_oracle(graph, prelude, hs.include_dirs, hs.defines, gcc=cc, constants=not args.no_constants,
                            system_include=BUILTIN_INCLUDE if _is_clang(cc) else None)
        print(report.summary())
        for line in (report.mismatches + report.compile_errors)[: args.show]:
            print("   ", line)
        bad += not report.ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
