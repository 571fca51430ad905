"""Parse one C translation unit for one target: its types, integer macros, errors and the files it read."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clang.cindex import Cursor, CursorKind, Diagnostic, TranslationUnit, TranslationUnitLoadError

from ...errors import AbiguardError
from ...gc_pause import gc_paused
from ...model import Target
from ...model.graph import Diagnostic as GraphDiagnostic
from ...model.types import Constant, Type
from ..libc import LibcHeaders
from .constants import (
    DefineSite,
    Generated,
    MacroCandidate,
    MacroScan,
    constant_of,
    define_sites,
    evaluate_macros,
    generated,
    judge,
    line_of,
    name_sites,
    probed,
    scan_macros,
)
from .libclang import (
    BUILTIN_INCLUDE,
    BUILTIN_PREFIX,
    LIBC_PREFIX,
    PARSE_OPTIONS,
    FileNames,
    children,
    compiler_args,
    located_diagnostics,
    new_index,
)
from .type_builder import TypeBuilder

_TYPE_DECLS = frozenset(k.value for k in (
    CursorKind.STRUCT_DECL, CursorKind.UNION_DECL, CursorKind.ENUM_DECL, CursorKind.TYPEDEF_DECL,
    CursorKind.FUNCTION_DECL,
))
_VAR_DECL = CursorKind.VAR_DECL.value
_WANTED = _TYPE_DECLS | {_VAR_DECL}


@dataclass(frozen=True)
class UnitResult:
    """What one TU yielded for one target; picklable so worker processes can return it.

    `types[0]` is void and ids are local to this unit; `files` maps every file the TU read to the
    sha256 of its content; `entries` maps each of them to the header the main file included that
    brought it in; `error_files` are the files clang reported errors in.
    """

    filename: str
    target: Target
    types: tuple[Type, ...]
    constants: dict[str, Constant]
    diagnostics: tuple[GraphDiagnostic, ...]
    files: dict[str, str]
    entries: dict[str, str] = field(default_factory=dict)
    error_files: tuple[str, ...] = ()
    libc: bool = False  # the TU read libc headers
    unevaluated: tuple[str, ...] = ()  # #defines in effect whose body the front end found no integer in

    @property
    def ok(self) -> bool:
        """True when the TU compiled without errors."""
        return not self.diagnostics


class _Locator:
    """Names files the way C includes them: relative to the include directory that holds them."""

    def __init__(self, include_dirs: Sequence[Path], main: str, libc_dirs: Sequence[Path] = ()) -> None:
        # In include-path order: the source's own root comes first, so its files are named from it.
        self._roots = [(_norm(str(d)), "") for d in include_dirs] + [(str(BUILTIN_INCLUDE), BUILTIN_PREFIX + "/")]
        self._roots += [(_norm(str(d)), LIBC_PREFIX + "/") for d in libc_dirs]
        self._main = main
        self._cache: dict[str, str] = {}
        self.names = FileNames()

    def file(self, name: str) -> str:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        shown = name
        if name != self._main:
            path = _norm(name)
            for root, prefix in self._roots:
                if path.startswith(root + os.sep):
                    shown = prefix + path[len(root) + 1:]
                    break
        self._cache[name] = shown
        return shown

    def cursor(self, cursor: Cursor) -> str:
        name, line, _ = self.names.cursor_start(cursor)
        return f"{self.file(name)}:{line}" if name is not None else ""


def _norm(name: str) -> str:
    return os.path.normpath(os.path.abspath(name))


class _SourceTexts:
    """File contents as bytes (macro extents are byte offsets), read once per file."""

    def __init__(self, unsaved: Mapping[str, str]) -> None:
        self._data: dict[str, bytes] = {k: v.encode("utf-8", "surrogateescape") for k, v in unsaved.items()}

    def find(self, path: str) -> bytes | None:
        """The file's bytes, None when there is no such file."""
        if path in self._data or os.path.isfile(path):
            return self.get(path)
        return None

    def get(self, path: str) -> bytes:
        data = self._data.get(path)
        if data is None:
            try:
                data = Path(path).read_bytes()
            except OSError:
                data = b""
            self._data[path] = data
        return data


def _inclusions(tu: TranslationUnit, filename: str) -> tuple[list[str], dict[str, str]]:
    """Every file the TU read (normalized, the main file first) and the file that first included each."""
    main = _norm(filename)
    parents: dict[str, str] = {}
    order: list[str] = [main]
    for inc in tu.get_includes():
        child = _norm(inc.include.name)
        if child not in parents and child != main:
            parents[child] = _norm(inc.source.name)
            order.append(child)
    return order, parents


def _through_libc(order: Sequence[str], parents: Mapping[str, str], libc_prefixes: tuple[str, ...]) -> set[str]:
    """The files under the libc directories, and the ones first included by one of those (the
    tree's own linux/sockios.h, which glibc's <sys/ioctl.h> includes): what the libc brought in.
    Our freestanding headers are the compiler's, whoever includes them first."""
    out: set[str] = set()
    builtin = str(BUILTIN_INCLUDE) + os.sep
    for name in order:  # an includer comes before the files it includes
        if name.startswith(libc_prefixes) or (parents.get(name) in out and not name.startswith(builtin)):
            out.add(name)
    return out


def _read_files(order: Sequence[str], parents: Mapping[str, str], sources: _SourceTexts) -> tuple[dict, dict]:
    """sha256 of every file the TU read, and the top-level include each one came through."""
    main = order[0]
    digests = {name: hashlib.sha256(sources.get(name)).hexdigest() for name in order}
    entries: dict[str, str] = {}
    for name in order[1:]:
        top = name
        seen = 0
        while parents.get(top, main) != main and seen < len(parents):
            top = parents[top]
            seen += 1
        entries[name] = top
    return digests, entries


def _active_site(scan: MacroScan, name: str, active: Mapping[str, tuple[str, int]], sources: _SourceTexts,
                 foreign: tuple[str, ...], twins: Collection[str]) -> tuple[str, int, DefineSite] | None:
    """(file, offset, site) of the #define of `name` in effect at the end of the TU, None if there
    is none (or it is one of our freestanding headers' or the libc's: `foreign` directories). The
    scan does not read the libc: for a name the libc #defines too (`twins`), its one site found
    proves nothing, and no probe asked which one is in effect."""
    sites = scan.sites[name]
    if len(sites) == 1 and name not in twins:
        path, offset = sites[0]
    elif name in active:
        # The probe's note points into the body: the #define is the last one of the name before it.
        file, inside = active[name]
        path = _norm(file)
        offsets = [o for o in name_sites(sources.get(path)).get(name, ()) if o <= inside]
        if not offsets:
            return None
        offset = offsets[-1]
    else:
        return None
    if path.startswith(foreign):
        return None
    return path, offset, define_sites(sources.get(path))[offset]


def parse_unit(
    text: str,
    filename: str,
    include_dirs: Sequence[Path],
    target: Target,
    defines: Sequence[str] = (),
    unsaved: Mapping[str, str] | None = None,
    skip_files: Collection[str] = frozenset(),
    libc: LibcHeaders | None = None,
) -> UnitResult:
    """Parse `text` (named `filename`) for `target` and collect its types, integer macros and errors.

    `unsaved` maps further file names to contents that replace (or stand in for) files on disk.
    `skip_files` (normalized absolute paths): files whose own declarations another TU records; only
    the types this TU's other files use are taken from them. Their macros are still evaluated here:
    a macro's value can need what other headers of the TU declare (`_IOWR(..., struct fiemap)`).
    `libc`: the libc headers searched last. Like our freestanding headers they are not the source:
    only the types the source's declarations use are taken from them (located `<libc>/...`), and
    none of their macros.
    """
    # The cursors, types and macro sites of a TU hold no cycles; collections in between would rescan
    # a worker's memoized header texts tens of times per TU (a tenth of a kernel read's time).
    with gc_paused():
        unit = _parse_unit(text, filename, include_dirs, target, defines, unsaved, skip_files, libc,
                           with_constants=True)
        if unit is None:
            # The text ends inside a declaration (an unclosed brace in a header): the generated
            # declarations were swallowed into it. Parse again without them for clean types.
            unit = _parse_unit(text, filename, include_dirs, target, defines, unsaved, skip_files, libc,
                               with_constants=False)
            assert unit is not None
    return unit


def _parse_unit(
    text: str,
    filename: str,
    include_dirs: Sequence[Path],
    target: Target,
    defines: Sequence[str],
    unsaved: Mapping[str, str] | None,
    skip_files: Collection[str],
    libc: LibcHeaders | None,
    with_constants: bool,
) -> UnitResult | None:
    args = compiler_args(target, include_dirs, defines, libc)
    extra = list((unsaved or {}).items())
    contents = {_norm(name): content for name, content in [(filename, text), *extra]}
    sources = _SourceTexts(contents)
    libc_dirs = libc.dirs if libc is not None else ()
    # Files that are not the source's: their declarations are taken only as far as it uses them.
    libc_prefixes = tuple(_norm(str(d)) + os.sep for d in libc_dirs)
    foreign = (str(BUILTIN_INCLUDE) + os.sep, *libc_prefixes)
    # The integer macros are evaluated in this same parse: lines that ask the front end about every
    # name the headers #define (by their text) go after the TU's own text (see generated()).
    dirs = [_norm(str(d)) for d in include_dirs] + [str(BUILTIN_INCLUDE)]
    main = _norm(filename)
    if with_constants:
        scan = scan_macros(sources.get(main), main, dirs, sources.find, foreign)
        # Where a name has one #define, that is the one in effect if the name is a macro at the end;
        # where it has several, the front end says which (a probe).
        probes = [name for name in (*scan.compiled, *scan.literal) if len(scan.sites[name]) > 1]
        probes.sort(key=lambda name: name in scan.risky)  # one that may derail the parser last
        gen = generated(text, scan.compiled, [*scan.compiled, *scan.literal], probes)
    else:
        scan = MacroScan([], [], {})
        gen = Generated(text, text.count("\n") + 3, 0)  # past the end: nothing generated
    index = new_index()
    try:
        tu = index.parse(filename, args=args, unsaved_files=[(filename, gen.source), *extra], options=PARSE_OPTIONS)
    except TranslationUnitLoadError as e:
        raise AbiguardError(filename, f"libclang could not parse it for {target.name}: {e}") from None
    locator = _Locator(include_dirs, filename, libc_dirs)

    builder = TypeBuilder(locator.cursor)
    names = locator.names
    first_line = gen.first_line
    file_recorded: dict[str, bool] = {}  # file name -> are its own declarations this TU's to record
    order, parents = _inclusions(tu, filename)
    # What only the libc brought in is not this TU's to record: its own TU records a UAPI header
    # such a libc includes, and another libc (the gcc oracle's) may not include it at all.
    from_libc = _through_libc(order, parents, libc_prefixes) if libc_prefixes else set()
    var_decls: list[Cursor] = []  # the generated declarations among them, for judge()
    for cursor in children(tu.cursor, _WANTED):
        if cursor._kind_id == _VAR_DECL:
            var_decls.append(cursor)
            continue
        file, line, _ = names.cursor_start(cursor)
        # Not a builtin, and not a tag some macro declared inside a generated declaration.
        if file is not None and (line < first_line - 1 or file != filename):
            recorded = file_recorded.get(file)
            if recorded is None:
                path = _norm(file)
                recorded = file_recorded[file] = path not in from_libc and (not skip_files or path not in skip_files)
            if recorded:
                builder.add_declaration(cursor)
    all_diagnostics = located_diagnostics(tu, names)
    judged = (judge(all_diagnostics, var_decls, filename, gen, scan.compiled, names, scan.measuring)
              if with_constants else None)
    if with_constants and judged is None:
        return None
    types = builder.finish()

    diagnostics: list[GraphDiagnostic] = []
    error_files: list[str] = []
    for located in all_diagnostics:
        if located.severity < Diagnostic.Error:
            continue
        d = located.diagnostic
        if located.file is None:
            where = "<command line>"  # -D/-I problems, or clang's own predefines
        elif located.line >= first_line - 1 and located.file == filename:
            continue  # a generated line: a macro that is no integer constant, or a probe
        elif located.file == filename:
            # The text ended inside a declaration; clang's note points at what was left open.
            opened = next((n for n in d.children if n.location.file and n.location.file.name != filename), None)
            if opened is None:
                where = filename
            else:
                where = f"{locator.file(opened.location.file.name)}:{opened.location.line}"
                error_files.append(_norm(opened.location.file.name))
            diagnostics.append(GraphDiagnostic(where, f"{target.name}: {d.spelling}"
                                               + (f" ({opened.spelling})" if opened is not None else "")))
            continue
        else:
            where = f"{locator.file(located.file)}:{located.line}"
            error_files.append(_norm(located.file))
        diagnostics.append(GraphDiagnostic(where, f"{target.name}: {d.spelling}"))
    if diagnostics and not error_files and not with_constants:
        error_files.append(_norm(filename))  # only the TU's own text is to blame

    constants: dict[str, Constant] = {}  # none when a header left a declaration open: untrustworthy
    retry: list[MacroCandidate] = []
    unevaluated: list[str] = []
    if judged is not None:
        active = probed(all_diagnostics, filename, gen, names)
        twins = set().union(*(name_sites(sources.get(p)) for p in order if p.startswith(libc_prefixes))) \
            if libc_prefixes else set()
        compiled = set(scan.compiled)
        swallowed = {scan.compiled[pos] for pos in judged.swallowed}
        for name in (*scan.compiled, *scan.literal):
            if name in judged.undefined:
                continue
            found = _active_site(scan, name, active, sources, foreign, twins)
            if found is None:
                continue
            path, offset, site = found
            if not site.plausible:
                continue  # the #define in effect is no integer expression
            candidate = MacroCandidate(name, f"{locator.file(path)}:{line_of(sources.get(path), offset)}", site.shape)
            if name in judged.values:
                constants[name] = constant_of(candidate, judged.values[name], judged.measures.get(name, ()))
            elif name in swallowed:
                retry.append(candidate)
            elif site.literal is not None and name not in compiled:
                # A literal's value needs no compiler once the front end says which #define is in effect.
                constants[name] = constant_of(candidate, site.literal)
            else:
                unevaluated.append(name)
    files, entries = _read_files(order, parents, sources)
    del tu
    if judged is not None:
        # Files the scan could not follow (`#include MACRO`): their macros are asked in a parse of
        # their own, at the place of their last #define.
        unseen: dict[str, MacroCandidate] = {}
        for path in files:
            if path in scan.files or path.startswith(foreign) or path in from_libc:
                continue
            data = sources.get(path)
            for offset, site in define_sites(data).items():
                if site.plausible and site.name not in scan.sites:
                    unseen[site.name] = MacroCandidate(site.name, f"{locator.file(path)}:{line_of(data, offset)}",
                                                       site.shape)
        retry += unseen.values()
    if retry:
        constants.update(evaluate_macros(index, filename, text, args, extra, retry))
        unevaluated += [c.name for c in retry if c.name not in constants]
    return UnitResult(
        filename=filename,
        target=target,
        types=tuple(types),
        constants=dict(sorted(constants.items())),
        diagnostics=tuple(dict.fromkeys(diagnostics)),
        files=files,
        entries=entries,
        error_files=tuple(dict.fromkeys(error_files)),
        libc=any(path.startswith(libc_prefixes) for path in files) if libc_prefixes else False,
        unevaluated=tuple(sorted(set(unevaluated))),
    )
