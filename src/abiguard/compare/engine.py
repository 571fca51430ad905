"""The comparer: two TypeGraphs per arch in, findings with severities and impact chains out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import AbiguardError, UnknownName
from ..gc_pause import gc_paused
from ..model import COMPOSITE_KINDS, ENUM_KINDS, Kind, TypeGraph
from ..model.diagnostics import arch_label, notes_by_arch
from ..model.target import arch_sort_key
from . import rules
from .changes import Change, TypeDiff, diff_composite, diff_constants, diff_pair
from .failures import Breakage, BrokenHeader
from .findings import DiffResult, Finding, Severity
from .impact import Cause, Impact
from .kinds import ChangeKind as K
from .layouts import LayoutPair, layouts_for
from .match import Matching, TypeKey, match_types
from .messages import effect_message, embedding_message, own_message, presence_message, renamed_type_message
from .negotiated import NegotiatedTypes, builtin_negotiated
from .shape import GraphView
from .waivers import Waivers

_NAMED_HIDDEN = 8  # hidden declarations named in a header finding; the rest are counted


class _Scope:
    """The types (by display name) `--type` roots reach in either version; None roots = everything."""

    def __init__(self, roots: Sequence[str], views: Iterable[tuple[GraphView, dict[int, TypeKey]]]) -> None:
        self.names: set[str] = set()
        self.constants: set[str] = set()
        self.found: set[str] = set()
        for view, keys in views:
            g = view.graph
            start: list[int] = []
            for spec in roots:
                bare = spec.removeprefix("#define ").strip()
                if bare in g.constants:
                    self.constants.add(bare)
                    self.found.add(spec)
                try:
                    start.append(g.resolve(spec))
                    self.found.add(spec)
                except AbiguardError:
                    continue
            for tid in _reachable(g, start):
                key = keys.get(tid)
                if key is not None:
                    self.names.add(key.display)

    def covers(self, finding: Finding) -> bool:
        if finding.type.startswith("#define "):
            return finding.type.removeprefix("#define ") in self.constants
        return finding.type in self.names


def _reachable(g: TypeGraph, start: list[int]) -> set[int]:
    """Every type reachable from `start` by members, pointers, typedefs, arrays and prototypes."""
    seen: set[int] = set()
    stack = list(start)
    while stack:
        tid = stack.pop()
        if tid in seen or tid <= 0 or tid >= len(g):
            continue
        seen.add(tid)
        t = g[tid]
        if t.kind in COMPOSITE_KINDS:
            stack.extend(m.type for m in t.members)
        elif t.kind == Kind.FUNC_PROTO:
            stack.append(t.ref)
            stack.extend(p.type for p in t.params)
        elif t.ref:
            stack.append(t.ref)
    return seen


def compare_graphs(old: TypeGraph, new: TypeGraph, roots: Sequence[str] = (),
                   negotiated: NegotiatedTypes | None = None) -> list[Finding]:
    """Findings for one arch, sorted: every change with its severity and, for effects, its chain."""
    with gc_paused():
        return _Comparison(old, new, roots, negotiated or builtin_negotiated()).run()


class _Comparison:
    def __init__(self, old: TypeGraph, new: TypeGraph, roots: Sequence[str], negotiated: NegotiatedTypes) -> None:
        self.negotiated = negotiated
        self.old, self.new = GraphView(old), GraphView(new)
        self.arch = new.target.name
        self.matching: Matching = match_types(self.old, self.new)
        self.diffs: dict[TypeKey, TypeDiff] = {}
        for key, oid, nid in self.matching.pairs:
            diff = diff_pair(key, self.old, oid, self.new, nid)
            if diff is not None and diff.changes:
                self.diffs[key] = diff
        self._follow_layout_changes()
        self.impact = Impact(self.new, self.matching, self.diffs)
        self.scope = (_Scope(roots, [(self.old, self.matching.old_keys), (self.new, self.matching.new_keys)])
                      if roots else None)
        self.roots_found = self.scope.found if self.scope else set()

    def _follow_layout_changes(self) -> None:
        """Types embedding (by value) a type whose size or alignment changed changed too: diff them."""
        pairs = {key: (oid, nid) for key, oid, nid in self.matching.pairs}
        work = [d.new_id for d in self.diffs.values() if d.layout_changed]
        if not work:
            return
        users = self.new.by_value_users()
        new_keys = self.matching.new_keys
        seen: set[int] = set(work)
        while work:
            tid = work.pop()
            for user in users.get(tid, ()):
                if user in seen:
                    continue
                seen.add(user)
                key = new_keys.get(user)
                t = self.new.types[user]
                if key is None or t.kind not in COMPOSITE_KINDS:
                    work.append(user)  # typedef, array, qualifier, anonymous member: keep climbing
                    continue
                diff = self.diffs.get(key)
                if diff is None and key in pairs:
                    diff = diff_composite(key, self.old, pairs[key][0], self.new, user)
                    if not diff.changes:
                        continue
                    self.diffs[key] = diff
                if diff is not None and diff.layout_changed:
                    work.append(user)

    def run(self) -> list[Finding]:
        findings: list[Finding] = []
        breakage = Breakage(self.old.graph, self.new.graph)
        renamed, removed, added = self._renamed_types()
        findings += renamed
        findings += self._presence(removed, self.old, removed=True, breakage=breakage)
        findings += self._presence(added, self.new, removed=False)
        attributed = {key: self.impact.attribute(d) for key, d in sorted(self.diffs.items())}
        # A root with an effect in another type is embedded by value (the growth rule needs this). Every
        # named type is ABI: `--type` chooses what is reported, not how severe a change is.
        embedded = {cause.root for pairs in attributed.values() for _, cause in pairs if cause is not None}
        for key, pairs in attributed.items():
            findings += self._type_findings(self.diffs[key], pairs, key in embedded)
        judge = _ConstantJudge(self.old, self.new, self.diffs)
        for c in map(judge.removal, diff_constants(self.old.graph.constants, self.new.graph.constants)):
            const = self.new.graph.constants.get(c.member or "") or self.old.graph.constants.get(c.member or "")
            label = f"#define {c.member}"
            if c.kind == K.CONSTANT_REMOVED and const and (breakage.hides(const.location, label)
                                                           or breakage.stalls(const.name, label)):
                continue
            facts = judge.facts(c)
            findings.append(self._finding(c, f"#define {c.member}", None, rules.constant_severity(c, facts),
                                          root=f"#define {c.member}", location=const.location if const else "",
                                          message=_constant_message(c, facts)))
        findings += [self._header_finding(broken) for broken in breakage.broken]
        if self.scope is not None:
            findings = [f for f in findings if self.scope.covers(f)]
        return sorted(findings, key=Finding.sort_key)

    def layouts(self, findings: Sequence[Finding]) -> dict[str, LayoutPair]:
        """Old and new layouts of the changed structs and unions these findings name."""
        pairs = {key.display: (oid, nid) for key, oid, nid in self.matching.pairs if key in self.diffs}
        return layouts_for((f.type for f in findings), self.old, self.new, pairs)

    def _header_finding(self, broken: BrokenHeader) -> Finding:
        c = Change(K.HEADER_NO_LONGER_COMPILES, None, None, broken.message)
        message = f"{broken.culprit} no longer compiles: {broken.where}: {broken.message}"
        if broken.included_by:
            message += f"; so neither do the headers including it: {', '.join(broken.included_by)}"
        if broken.hidden:
            names = sorted(broken.hidden)
            shown = ", ".join(names[:_NAMED_HIDDEN]) + (f" and {len(names) - _NAMED_HIDDEN} more"
                                                       if len(names) > _NAMED_HIDDEN else "")
            what = "declaration it held is" if len(names) == 1 else "declarations they held are"
            message += f"; {len(names)} {what} not judged: {shown}"
        name = f"header {broken.culprit}"
        return self._finding(c, name, None, rules.severity(c, rules.TypeFacts()), root=name,
                             location=broken.where, message=message)

    # --- added / removed types --------------------------------------------------------
    def _rename_key(self, view: GraphView, tid: int) -> tuple[object, ...] | None:
        """What must agree for a removed and an added type to be one type renamed: everything but its name."""
        t = view.types[tid]
        if t.kind in COMPOSITE_KINDS:
            members = tuple((m.path, m.bit_offset, m.bit_size, view.layout(m.type_id)) for m in view.flat(tid))
            return (int(t.kind), t.size, members)
        if t.kind in ENUM_KINDS:
            return ("enum", t.size, tuple((e.name, e.value) for e in t.enumerators))
        if t.kind == Kind.TYPEDEF:
            return ("typedef", view.ref(t.ref))
        return None

    def _renamed_types(self) -> tuple[list[Finding], list[tuple[TypeKey, int]], list[tuple[TypeKey, int]]]:
        """A type removed and one added with the same layout and members, one each: a rename (api)."""
        def by_key(entries: list[tuple[TypeKey, int]], view: GraphView) -> dict[object, list[tuple[TypeKey, int]]]:
            out: dict[object, list[tuple[TypeKey, int]]] = {}
            for key, tid in entries:
                if key.anon_enum or key.kind == "func":
                    continue
                rk = self._rename_key(view, tid)
                if rk is not None:
                    out.setdefault(rk, []).append((key, tid))
            return out

        gone = by_key(self.matching.removed, self.old)
        fresh = by_key(self.matching.added, self.new)
        findings: list[Finding] = []
        paired: set[TypeKey] = set()
        for rk, olds in gone.items():
            news = fresh.get(rk, [])
            if len(olds) != 1 or len(news) != 1 or olds[0][0].kind != news[0][0].kind:
                continue
            (okey, _), (nkey, nid) = olds[0], news[0]
            paired.update((okey, nkey))
            c = Change(K.TYPE_RENAMED, None, okey.display, nkey.display, layout_identical=True)
            findings.append(self._finding(c, nkey.display, None, rules.severity(c, rules.TypeFacts()),
                                          root=nkey.display, location=self.new.types[nid].location,
                                          message=renamed_type_message(okey.display, nkey.display)))
        removed = [(k, t) for k, t in self.matching.removed if k not in paired]
        added = [(k, t) for k, t in self.matching.added if k not in paired]
        return findings, removed, added

    def _presence(self, entries: list[tuple[TypeKey, int]], view: GraphView, removed: bool,
                  breakage: Breakage | None = None) -> list[Finding]:
        out = []
        for key, tid in sorted(entries):
            t = view.graph[tid]
            if t.kind == Kind.TYPEDEF and view.typedef_names().get(t.ref) == t.name:
                continue  # `typedef struct {...} name;`: the aggregate is reported under that name
            if breakage is not None and breakage.hides(t.location, key.display):
                continue  # not read in NEW: not judged, reported with the header that broke
            func = key.kind == "func"
            kind = (K.FUNC_REMOVED if func else K.TYPE_REMOVED) if removed else (K.FUNC_ADDED if func else K.TYPE_ADDED)
            c = Change(kind, None, view.spelled(tid) if removed else None, None if removed else view.spelled(tid))
            out.append(self._finding(c, key.display, None, rules.severity(c, rules.TypeFacts()), root=key.display,
                                     location=t.location, message=presence_message(key.display, removed)))
        return out

    # --- one changed type ---------------------------------------------------------------
    def _type_findings(self, diff: TypeDiff, pairs: list[tuple[Change, Cause | None]],
                       embedded: bool) -> list[Finding]:
        key = diff.key
        nt = self.new.graph[diff.new_id]
        facts = self._facts(diff, pairs, embedded)
        out: list[Finding] = []
        for c, cause in pairs:
            if cause is None:
                sev = rules.severity(c, facts)
                out.append(self._finding(c, key.display, c.member, sev, root=key.display, location=nt.location,
                                         message=own_message(key.display, c, facts)))
            else:
                sev = rules.severity(Change(K.EMBEDDED_TYPE_CHANGED), facts)
                out.append(self._finding(c, key.display, c.member, sev, root=cause.root.display,
                                         chain=cause.chain, location=nt.location,
                                         message=effect_message(key.display, c, cause.root.display,
                                                                self.diffs.get(cause.root), cause.chain)))
        own_breaking = any(f.severity == Severity.BREAKING and f.root == key.display for f in out)
        kind = nt.kind
        if own_breaking and not diff.layout_changed and (kind in COMPOSITE_KINDS or kind == Kind.TYPEDEF
                                                         or kind in ENUM_KINDS):
            out += self._embedding_effects(diff)
        return out

    def _facts(self, diff: TypeDiff, pairs: list[tuple[Change, Cause | None]], embedded: bool) -> rules.TypeFacts:
        nt, ot = self.new.graph[diff.new_id], self.old.graph[diff.old_id]
        sentinels: frozenset[str] = frozenset()
        extensible = False
        size_note = ""
        if nt.kind in ENUM_KINDS and ot.kind in ENUM_KINDS:
            sentinels = rules.enum_sentinels(ot.enumerators, nt.enumerators, self.old.graph.constants,
                                             self.new.graph.constants)
        elif nt.kind in COMPOSITE_KINDS and diff.size_changed:
            known = self.negotiated.lookup(diff.key.display)
            size_note = rules.extensible_because(self.new, diff.new_id, self.new.graph.constants, diff.new_size,
                                                 known.note() if known else "")
            extensible = bool(size_note)
        made_flexible = any(c.kind == K.ARRAY_MADE_FLEXIBLE and cause is None for c, cause in pairs)
        base = rules.TypeFacts(embedded=embedded, extensible=extensible, size_note=size_note, sentinels=sentinels,
                               made_flexible=made_flexible)
        only_growth = not any(
            rules.severity(c, base) == Severity.BREAKING
            for c, cause in pairs
            if cause is None and not rules.is_growth_change(c)
        )
        return rules.TypeFacts(embedded=embedded, extensible=extensible, size_note=size_note,
                               only_growth=only_growth, sentinels=sentinels, made_flexible=made_flexible)

    def _embedding_effects(self, diff: TypeDiff) -> list[Finding]:
        """A same-size layout change still changes every type embedding it: one finding per embedding."""
        out = []
        root = diff.key
        for key, path, chain in self.impact.embedders(diff.new_id):
            c = Change(K.EMBEDDED_TYPE_CHANGED, path)
            msg = embedding_message(root.display, key.display, path, chain)
            out.append(self._finding(c, key.display, path, rules.severity(c, rules.TypeFacts()), root=root.display,
                                     chain=chain, location=self.new.graph[diff.new_id].location, message=msg))
        return out

    def _finding(self, c: Change, type_name: str, member: str | None, severity: Severity, root: str,
                 message: str, chain: tuple[str, ...] = (), location: str = "") -> Finding:
        return Finding(arch=self.arch, severity=severity, kind=c.kind, type=type_name, member=member,
                       old=c.old, new=c.new, message=message, root=root, chain=chain, location=location)


class _ConstantJudge:
    """The facts of changed `#define`s, from what the graphs record of their expansions."""

    def __init__(self, old: GraphView, new: GraphView, diffs: dict[TypeKey, TypeDiff]) -> None:
        self.old, self.new = old.graph, new.graph
        self.counts: dict[str, tuple[int, int]] = {}  # enumerator -> (old, new) of counts that moved
        for diff in diffs.values():
            ot, nt = self.old[diff.old_id], self.new[diff.new_id]
            if ot.kind in ENUM_KINDS and nt.kind in ENUM_KINDS:
                before = {e.name: e.value for e in ot.enumerators}
                after = {e.name: e.value for e in nt.enumerators}
                for name in rules.enum_sentinels(ot.enumerators, nt.enumerators, self.old.constants,
                                                 self.new.constants):
                    self.counts[name] = (before[name], after[name])
        self._follows: dict[str, str] = {}
        self._enumerators: dict[str, int] | None = None

    def facts(self, c: Change) -> rules.ConstantFacts:
        if c.kind != K.CONSTANT_VALUE_CHANGED or c.member not in self.new.constants:
            return rules.ConstantFacts()
        new = self.new.constants[c.member]
        return rules.ConstantFacts(
            follows_count=self.follows(c.member, set()),
            mask_grew=rules.mask_grew(c.old, c.new, new.flag_union,
                                      all(self._named_value(ref) for ref in new.refs)),
            resized=self._resized(new.measures),
        )

    def follows(self, name: str, seen: set[str]) -> str:
        """The moved count `name`'s body names in both versions, directly or through macros that
        follow it, having moved by the same amount; "" when there is none."""
        if name in self._follows:
            return self._follows[name]
        seen.add(name)
        old, new = self.old.constants[name], self.new.constants[name]
        delta = new.value - old.value
        found = ""
        for ref in (r for r in new.refs if r in old.refs and r not in seen):
            count = self.counts.get(ref)
            if count is not None and count[1] - count[0] == delta:
                found = ref
            elif ref in self.old.constants and ref in self.new.constants:
                moved = self.new.constants[ref].value - self.old.constants[ref].value
                if moved == delta and self.follows(ref, seen):
                    found = self.follows(ref, seen)
            if found:
                break
        self._follows[name] = found
        return found

    def _named_value(self, name: str) -> bool:
        """True when `name` is a constant or an enumerator of NEW."""
        return name in self.new.constants or self.enumerator(name) is not None

    def enumerator(self, name: str) -> int | None:
        """The value of the enumerator `name` in NEW, None when there is none."""
        if self._enumerators is None:
            self._enumerators = {}
            for tid in self.new.ids():
                if self.new[tid].kind in ENUM_KINDS:
                    for e in self.new[tid].enumerators:
                        self._enumerators.setdefault(e.name, e.value)
        return self._enumerators.get(name)

    def removal(self, c: Change) -> Change:
        """A #define gone from NEW while an enumerator of the same name is there (BTF_MAX_TYPE moved
        into `enum btf_max`) is no removal: the same value under the same name, or a changed value."""
        value = self.enumerator(c.member or "") if c.kind == K.CONSTANT_REMOVED else None
        if value is None:
            return c
        kind = K.CONSTANT_TO_ENUMERATOR if value == c.old else K.CONSTANT_VALUE_CHANGED
        return Change(kind, c.member, c.old, value, detail="now an enumerator")

    def _resized(self, measures: tuple[str, ...]) -> tuple[str, ...]:
        """"sizeof(T) changed a -> b" for each type the expansion measures whose size changed."""
        out = []
        for spelled in measures:
            try:
                before = self.old.size_of(self.old.resolve(spelled))
                after = self.new.size_of(self.new.resolve(spelled))
            except AbiguardError:
                continue  # a type one version lacks: the constant's own change says enough
            if before != after:
                out.append(f"sizeof({spelled}) changed {before} -> {after}")
        return tuple(out)


def _constant_message(c: Change, facts: rules.ConstantFacts) -> str:
    if c.kind == K.CONSTANT_ADDED:
        return f"#define {c.member} added ({c.new})"
    if c.kind == K.CONSTANT_REMOVED:
        return f"#define {c.member} removed (was {c.old})"
    if c.kind == K.CONSTANT_TO_ENUMERATOR:
        return f"#define {c.member} is now an enumerator with the same value ({c.new})"
    head = f"#define {c.member} changed {c.old} -> {c.new}" + (f" ({c.detail})" if c.detail else "")
    if facts.resized:
        return f"{head}: {'; '.join(facts.resized)}"
    if facts.follows_count:
        return f"{head}: it follows {facts.follows_count}, which counts the entries and grew as entries were added"
    if facts.mask_grew:
        return f"{head}: a mask of flags that keeps every old bit and adds {c.new & ~c.old:#x}"
    return head


def _libc_notes(old: list[TypeGraph], new: list[TypeGraph]) -> list[str]:
    """Which libc headers each version was read with, once per libc: its types are in the graphs."""
    arches_of: dict[str, dict[str, list[str]]] = {}  # libc -> side -> arches
    for side, graphs in (("OLD", old), ("NEW", new)):
        for g in graphs:
            if g.libc:
                arches_of.setdefault(g.libc, {}).setdefault(side, []).append(g.target.name)
    lines = []
    for libc, sides in arches_of.items():
        if sides.get("OLD") == sides.get("NEW"):
            lines.append(f"{', '.join(sides['NEW'])}: libc headers: {libc}")
        else:
            lines += [f"{side} {', '.join(arches)}: libc headers: {libc}" for side, arches in sides.items()]
    return lines


def _diagnostics(old: list[TypeGraph], new: list[TypeGraph]) -> list[str]:
    """Readers' diagnostics, once each: a header failing in both versions is one line, not two, and
    one failing on several arches is one line naming them ("all arches" when it is every one)."""
    sides_of: dict[tuple[str, str], dict[str, list[str]]] = {}
    for side, graphs in (("OLD", old), ("NEW", new)):
        for key, arches in notes_by_arch(graphs, anonymous_source=True).items():
            sides_of.setdefault(key, {})[side] = sorted(arches)
    total = len({g.target.name for g in (*old, *new)})
    lines = []
    for (where, message), sides in sorted(sides_of.items()):
        if sides.get("OLD") == sides.get("NEW"):
            lines.append(f"{where}: {arch_label(sides['NEW'], total)}: {message}")
        else:
            lines += [f"{side} {where}: {arch_label(sides[side], total)}: {message}"
                      for side in ("OLD", "NEW") if side in sides]
    return lines


def run_diff(old: list[TypeGraph], new: list[TypeGraph], roots: Sequence[str] = (),
             waivers: Waivers | None = None) -> DiffResult:
    """Compare graphs paired by arch; collect readers' diagnostics; apply waivers."""
    old_by = {g.target.name: g for g in old}
    new_by = {g.target.name: g for g in new}
    common = [a for a in old_by if a in new_by]
    if not common and len(old) == 1 and len(new) == 1:
        raise AbiguardError(new[0].source, f"describes {new[0].target.name}, but OLD "
                            f"({old[0].source}) describes {old[0].target.name}: read both for one architecture")
    if not common:
        raise AbiguardError(new[0].source if new else None, "OLD and NEW share no architecture")
    common.sort(key=arch_sort_key)
    result = DiffResult(arches=common)
    result.errors += _diagnostics(old, new)
    result.notes += _libc_notes(old, new)
    missing = [a for a in dict.fromkeys([*old_by, *new_by]) if a not in common]
    if missing:
        result.errors.append(f"not compared (only in one version): {', '.join(missing)}")
    found: set[str] = set()
    findings: list[Finding] = []
    negotiated = builtin_negotiated().extended(waivers.size_negotiated if waivers is not None else ())
    for arch in common:
        with gc_paused():
            comparison = _Comparison(old_by[arch], new_by[arch], roots, negotiated)
            arch_findings = comparison.run()
            result.layouts.update(((arch, name), pair) for name, pair in comparison.layouts(arch_findings).items())
        findings += arch_findings
        found |= comparison.roots_found
    unknown = [r for r in roots if r not in found]
    if unknown:
        raise UnknownName("type", f"no type or constant {', '.join(map(repr, unknown))} in OLD or NEW")
    if waivers is not None:
        findings, notes = waivers.apply(findings)
        result.errors += notes
    result.findings = sorted(findings, key=Finding.sort_key)
    return result
