"""Every severity rule, in one place. Each rule says why; none is keyed on a particular type's name.

breaking: existing binaries misread memory. review: safe only if the kernel copies by a user-supplied
size. compatible: old binaries keep working. api: binaries keep working, source may not compile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..model import Constant, Enumerator, Kind
from .changes import Change
from .findings import Severity
from .kinds import ChangeKind as K
from .kinds import Placement
from .shape import GraphView

B, R, C, A = Severity.BREAKING, Severity.REVIEW, Severity.COMPATIBLE, Severity.API

_SIZE_VER = re.compile(r"^(?P<prefix>\w+?)_SIZE_VER\d*$")


@dataclass(frozen=True)
class TypeFacts:
    """What the rules need to know about the type a change belongs to."""

    embedded: bool = False  # held by value (member, array element, typedef of one) by another ABI type
    extensible: bool = False  # carries or negotiates its own size
    size_note: str = ""  # why it is extensible, for the message
    only_growth: bool = True  # every own change is an append (or compatible by itself)
    sentinels: frozenset[str] = frozenset()  # counts that moved with new entries (see enum_sentinels)
    made_flexible: bool = False  # a trailing one- or zero-element array became a flexible array member


# --- facts ------------------------------------------------------------------------------
def extensible_because(view: GraphView, tid: int, constants: Mapping[str, Constant], new_size: int,
                       known: str = "") -> str:
    """Why the kernel copies this struct by a size user space passes, so appending is safe ("" if not).

    Evidence: a known size-negotiated type (`known`: the package's data/size_negotiated.toml or the
    user's `[[size_negotiated]]` entries, each naming the syscall and the kernel function that copies
    it -- bpf(2) passes sizeof(union bpf_attr), which carries no size of its own); an integer member
    named `size` (perf_event_attr, sched_attr carry it); or `<PREFIX>_SIZE_VER<n>` constants whose
    prefix words all occur in the struct's name or whose value equals the new size (clone_args has
    CLONE_ARGS_SIZE_VER0..2).
    """
    if known:
        return known
    g = view.graph
    t = g[tid]
    for m in view.flat(tid):
        if m.path in ("size", "sz") and g[g.strip(m.type_id)].kind == Kind.INT:
            return f"appending is safe: it carries its own size in `{m.path}`"
    words = set(filter(None, (t.name or view.typedef_names().get(tid, "")).upper().split("_")))
    for name, const in sorted(constants.items()):
        match = _SIZE_VER.match(name)
        if match is None:
            continue
        prefix_words = set(filter(None, match["prefix"].upper().split("_")))
        if (prefix_words and prefix_words <= words) or const.value == new_size:
            return f"appending is safe: {name} versions its size"
    return ""


def reserved_identifier(name: str) -> bool:
    """C11 7.1.3: a name starting with `__` or `_` and a capital letter belongs to the implementation."""
    return len(name) > 1 and name[0] == "_" and (name[1] == "_" or name[1].isupper())


@dataclass(frozen=True)
class _CountShape:
    """Where a would-be count sits in one version of its enum."""

    below: int  # distinct values of the entries it counts (every value under it)
    followers: tuple[str, ...]  # enumerators after it, each one below it: the enum's own maximum
    numbered: bool  # every entry before it writes its value out; it alone is left to the compiler


def _count_shape(enumerators: Sequence[Enumerator], name: str) -> _CountShape | None:
    """The shape of `name` if it sits where a count sits, else None: it has the value C gives an
    enumerator left to the compiler (one more than the entry declared before it; 0 when first: a
    set with no entries yet), strictly above every other value, and whatever is declared after it
    is one below it (`NETDEV_A_NAPI_MAX = (__NETDEV_A_NAPI_MAX - 1)`)."""
    at = next((i for i, e in enumerate(enumerators) if e.name == name), -1)
    if at < 0:
        return None
    value = enumerators[at].value
    if value != (enumerators[at - 1].value + 1 if at else 0):
        return None
    if any(e.value >= value for i, e in enumerate(enumerators) if i != at):
        return None
    after = enumerators[at + 1:]
    if any(e.value != value - 1 for e in after):
        return None
    entries = enumerators[:at]
    numbered = not enumerators[at].explicit and all(e.explicit for e in entries)
    return _CountShape(len({e.value for e in entries}), tuple(e.name for e in after), numbered)


def _derives_bound(constants: Mapping[str, Constant], name: str, value: int) -> bool:
    """A `#define` names `name` and computes another value from it (`#define IFLA_MAX (__IFLA_MAX - 1)`)."""
    return any(name in c.refs and c.value != value for c in constants.values())


def enum_sentinels(old: Sequence[Enumerator], new: Sequence[Enumerator], old_constants: Mapping[str, Constant],
                   new_constants: Mapping[str, Constant]) -> frozenset[str]:
    """Enumerators that count the entries before them and moved because entries were added there,
    with the maximum the enum derives from such a count. Moving is compatible: old binaries hold the
    old count only as a bound of the values they know, and each of those keeps its meaning.

    Shape, in both versions (_count_shape): one above the entry before it, the top value, followed
    only by the enum's maximum; and it moved up as values appeared below it. Not "by exactly as many
    values": netlink attributes start at 1, so the first one given to an empty set (`RX_BUF_LEN = 1`
    before `__NETDEV_A_IO_URING_PROVIDER_INFO_MAX`, upstream 04e0c4cd) moves the count from 0 to 2.
    Shape alone is not enough: an entry inserted before the last real value moves that value in
    exactly this way, and that is a break. So the headers must also say it is a count:
    - its name is reserved to the implementation (C's rule, not a word list): user code is told not
      to spell it, so it is no value of the interface. UAPI spells its counts so (`__IFLA_MAX`,
      `__MAX_BPF_MAP_TYPE`), and BTF, which keeps no macros, still carries the name. A reserved name
      in the middle of an enum, or moved by more than the entries added, is still judged a value; or
    - a `#define` computes another value from it in both versions (`#define IFLA_MAX (__IFLA_MAX - 1)`):
      a bound derived from it. A plain alias is no evidence: `#define TCAA_MAX TCA_ROOT_TAB` names
      a real value; or
    - every entry before it writes its value out and it alone is left to the compiler, in both
      versions (`PERF_RECORD_CALLCHAIN_DEFERRED = 22, PERF_RECORD_MAX,`): numbered entries cannot be
      pushed by an insertion, so it moved only because the list grew. The front end records this
      (model.Enumerator.explicit); BTF cannot, so there it is no evidence.
    Counts with none of these read as breaking when they move (the enums of 6.1's vfio.h, whose
    entries are implicit and whose counts unmarked: `VFIO_PCI_NUM_IRQS`).
    An array sized by a count needs no rule here: the struct holding it changes size and is judged so.
    """
    before = {e.name: e.value for e in old}
    after = {e.name: e.value for e in new}
    if not (after.keys() - before.keys()):
        return frozenset()
    out: set[str] = set()
    for name, value in before.items():
        moved = after.get(name, value) - value
        if moved <= 0:
            continue
        old_shape, new_shape = _count_shape(old, name), _count_shape(new, name)
        if old_shape is None or new_shape is None or new_shape.below <= old_shape.below:
            continue
        if not (reserved_identifier(name) or (old_shape.numbered and new_shape.numbered)
                or (_derives_bound(old_constants, name, value) and _derives_bound(new_constants, name, after[name]))):
            continue
        out.add(name)
        out.update(f for f in new_shape.followers if f in old_shape.followers)
    return frozenset(out)


@dataclass(frozen=True)
class ConstantFacts:
    """What the rules need to know about a `#define` whose value changed, from what the front end
    recorded of its expansion (see model.Constant)."""

    follows_count: str = ""  # the count enumerator (or macro) it names, which moved by the same amount
    mask_grew: bool = False  # an OR of named flags that kept every old bit and gained some
    resized: tuple[str, ...] = ()  # "sizeof(struct x) changed 28 -> 24": types its expansion measures


def mask_grew(old: int, new: int, flag_union: bool, operands_known: bool) -> bool:
    """A mask of flags (the body ORs named constants or enumerators, each one known) that kept
    every bit it had and gained some."""
    return flag_union and operands_known and old >= 0 and new >= 0 and old & ~new == 0 and new != old


# --- rules ------------------------------------------------------------------------------
def type_added(c: Change, f: TypeFacts) -> Severity:
    """A new type cannot be used by an existing binary."""
    return C


def type_removed(c: Change, f: TypeFacts) -> Severity:
    """Code using a removed type no longer builds, and its contract is gone."""
    return B


def growth(c: Change, f: TypeFacts) -> Severity:
    """A struct grew (members appended, or its size).

    Embedded by value it moves everything after it: breaking. Reached only through pointers it is
    safe if the kernel copies by a user-supplied size (extensible: compatible), else review.
    Shrinking, or growth that comes with other breaking changes, is breaking -- except the shrink of a
    fake flexible array made real (`data[1]` -> `data[]`): every member keeps its offset, only the
    unused tail element and padding leave sizeof (a constant derived from that sizeof is judged apart).
    """
    if f.embedded or not f.only_growth:
        return B
    if c.kind == K.SIZE_CHANGED and c.old is not None and c.new is not None and c.new < c.old:
        return C if f.made_flexible else B
    return C if f.extensible else R


def alignment(c: Change, f: TypeFacts) -> Severity:
    """A new alignment moves the type inside anything embedding it; alone, allocation may differ --
    unless the kernel copies it by a size the caller passes (extensible), which never looks at alignment."""
    if f.embedded or not f.only_growth:
        return B
    return C if f.extensible else R


def member_added(c: Change, f: TypeFacts) -> Severity:
    """New members in padding, in reserved space or inside a union that keeps its size move nothing.

    A member wrapped into an anonymous union beside new members keeps its place: the new ones are
    aliases of its storage. Appended members follow the growth rule; inserted ones move the members
    after them, and ones laid over storage old members still use make old and new binaries disagree.
    """
    if c.where in (Placement.IN_HOLE, Placement.IN_RESERVED, Placement.UNION):
        return C
    if c.where == Placement.APPENDED:
        return growth(c, f)
    return B


def made_flexible(c: Change, f: TypeFacts) -> Severity:
    """`data[1]`/`data[0]` -> `data[]`: same offset, same element type; old code indexed past the declared
    bound already, so its accesses land where they did."""
    return C


def reserved_used(c: Change, f: TypeFacts) -> Severity:
    """Reserved/padding space (by layout, not by name) taken by new members at the same offsets."""
    return C


def member_removed(c: Change, f: TypeFacts) -> Severity:
    """Binaries reading a removed member read whatever now sits there."""
    return B


def member_moved(c: Change, f: TypeFacts) -> Severity:
    """An existing member at a new offset, size or bit position is read from the wrong place."""
    return B


def enum_resized(c: Change, f: TypeFacts) -> Severity:
    """Every member, array and parameter of the enum's type changes size with it."""
    return B


def retyped(c: Change, f: TypeFacts) -> Severity:
    """A new type with the same layout (incl. signedness-only) is source-level; else layout changed."""
    return A if c.layout_identical or c.signedness_only else B


def renamed(c: Change, f: TypeFacts) -> Severity:
    """Same place, same layout, new name: binaries agree, source using the old name breaks."""
    return A


def enumerator_added(c: Change, f: TypeFacts) -> Severity:
    """New values mean nothing to old binaries, which never produce them."""
    return C


def enumerator_changed(c: Change, f: TypeFacts) -> Severity:
    """Values are compiled into binaries; a count moving with the entries added before it is expected
    (what makes an enumerator a count: enum_sentinels)."""
    return C if c.member in f.sentinels else B


def value_gone(c: Change, f: TypeFacts) -> Severity:
    """A value binaries were compiled with no longer exists or means something else."""
    return B


def constant_to_enumerator(c: Change, f: TypeFacts) -> Severity:
    """A #define that became an enumerator of the same name and value: binaries and expressions
    agree; only source that tests it with `#ifdef` notices."""
    return A


def header_broken(c: Change, f: TypeFacts) -> Severity:
    """A header that compiled no longer does: every program including it stops building. The
    declarations it hides are not judged (they were not read), so this one finding carries the break."""
    return B


def constant_added(c: Change, f: TypeFacts) -> Severity:
    """A new constant changes nothing that was compiled before."""
    return C


def constant_changed(c: Change, f: ConstantFacts) -> Severity:
    """A value binaries were compiled with now means something else: breaking. Two exceptions,
    both read from what the expansion names, never from the constant's own name:

    - it follows a count: its body names the last enumerator of an enum (or a macro that does),
      which moved by the same amount because enumerators were appended before it and is judged
      compatible itself (`#define IFLA_MAX (__IFLA_MAX - 1)`); old binaries only know smaller
      values, which keep their meaning;
    - a mask of valid flags (`(A | B | C)` of named flags) that kept every old bit and gained new
      ones: every value old binaries build is still valid. A mask that loses a bit stays breaking.

    A value derived from a type's size (`_IOW(..., struct x)`) stays breaking; the reason is that
    sizeof changed, which the message says.
    """
    if f.resized:
        return B
    return C if f.follows_count or f.mask_grew else B


def signedness(c: Change, f: TypeFacts) -> Severity:
    """Same bits, different interpretation in source: api."""
    return A


def effect(c: Change, f: TypeFacts) -> Severity:
    """A type whose layout changed is embedded by value: everything on the chain moves or resizes."""
    return B


RULES: dict[K, Callable[[Change, TypeFacts], Severity]] = {
    K.TYPE_ADDED: type_added,
    K.FUNC_ADDED: type_added,
    K.TYPE_REMOVED: type_removed,
    K.ENUM_SIZE_CHANGED: enum_resized,
    K.FUNC_REMOVED: type_removed,
    K.SIZE_CHANGED: growth,
    K.ALIGN_CHANGED: alignment,
    K.MEMBER_ADDED: member_added,
    K.MEMBER_REPLACED: reserved_used,
    K.RESERVED_SHRUNK: reserved_used,
    K.MEMBER_REMOVED: member_removed,
    K.MEMBER_MOVED: member_moved,
    K.MEMBER_OFFSET_CHANGED: member_moved,
    K.MEMBER_SIZE_CHANGED: member_moved,
    K.ARRAY_ELEMENT_SIZE_CHANGED: member_moved,
    K.BITFIELD_CHANGED: member_moved,
    K.ARRAY_MADE_FLEXIBLE: made_flexible,
    K.MEMBER_TYPE_CHANGED: retyped,
    K.TYPEDEF_RETARGETED: retyped,
    K.FUNC_PROTO_CHANGED: retyped,
    K.MEMBER_RENAMED: renamed,
    K.TYPE_RENAMED: renamed,
    K.ENUMERATOR_RENAMED: renamed,
    K.ENUMERATOR_ADDED: enumerator_added,
    K.ENUMERATOR_VALUE_CHANGED: enumerator_changed,
    K.ENUMERATOR_REMOVED: value_gone,
    K.CONSTANT_REMOVED: value_gone,
    K.CONSTANT_VALUE_CHANGED: value_gone,
    K.CONSTANT_ADDED: constant_added,
    K.HEADER_NO_LONGER_COMPILES: header_broken,
    K.CONSTANT_TO_ENUMERATOR: constant_to_enumerator,
    K.ENUM_SIGNEDNESS_CHANGED: signedness,
    K.EMBEDDED_TYPE_CHANGED: effect,
}


CONSTANT_RULES: dict[K, Callable[[Change, ConstantFacts], Severity]] = {
    K.CONSTANT_VALUE_CHANGED: constant_changed,
}


def severity(c: Change, facts: TypeFacts) -> Severity:
    """The one severity of a change."""
    return RULES[c.kind](c, facts)


def constant_severity(c: Change, facts: ConstantFacts) -> Severity:
    """The one severity of a change to a `#define`."""
    rule = CONSTANT_RULES.get(c.kind)
    return rule(c, facts) if rule is not None else RULES[c.kind](c, TypeFacts())


def is_growth_change(c: Change) -> bool:
    """Changes that the growth rule judges (the rest are judged on their own)."""
    return c.kind in (K.SIZE_CHANGED, K.ALIGN_CHANGED) or (c.kind == K.MEMBER_ADDED and c.where == Placement.APPENDED)
