"""The words of a finding: one sentence a maintainer would write, for every kind of change."""

from __future__ import annotations

from collections.abc import Sequence

from .changes import Change, TypeDiff
from .kinds import ChangeKind as K
from .kinds import Placement
from .rules import TypeFacts

_MOVES = (K.MEMBER_OFFSET_CHANGED, K.MEMBER_MOVED)


def _bytes(n: object) -> str:
    return f"{n} byte" if n == 1 else f"{n} bytes"


def extent_text(extent: object) -> str:
    """`4 bytes at offset 8`, `3 bits at bit 34`, `no storage at offset 8`."""
    if isinstance(extent, dict):
        if "bit_offset" in extent:
            return f"{extent['bit_size']} bits at bit {extent['bit_offset']}"
        if not extent["size"]:
            return f"no storage at offset {extent['offset']}"
        return f"{_bytes(extent['size'])} at offset {extent['offset']}"
    return str(extent)


def _names(paths: str) -> str:
    """`a`, `a and b`, `a, b and 3 more`: the old members a new one meets, as the change recorded them."""
    items = [p for p in paths.split(", ") if p]
    if len(items) > 3:
        return f"{', '.join(items[:2])} and {len(items) - 2} more"
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def _size_of(value: object) -> object:
    return value["size"] if isinstance(value, dict) and "size" in value else value


def _added(where: str, c: Change, facts: TypeFacts) -> str:
    ext = extent_text(c.new)
    others = _names(c.detail)
    if c.where == Placement.APPENDED:
        text = f"{where} ({ext}) was added at the end" + (f", sharing storage with {others}" if others else "")
        return text + (f"; {facts.size_note}" if facts.extensible and facts.size_note else "")
    if c.where == Placement.IN_HOLE:
        if isinstance(c.new, dict) and not c.new.get("size") and "offset" in c.new:
            return f"{where} was added at offset {c.new['offset']}; it takes no space and no member moved"
        return f"{where} ({ext}) was added in padding; no member moved"
    if c.where == Placement.IN_RESERVED:
        return f"{where} ({ext}) was added in space that {others} gave up; no member moved"
    if c.where == Placement.UNION:
        if others:
            return f"{where} ({ext}) was added as an alias of {others}, sharing its storage; no member moved"
        return f"{where} ({ext}) was added as another member of a union; no member moved"
    if c.where == Placement.OVERLAPS:
        return f"{where} ({ext}) was added over storage that {others} still uses"
    return f"{where} ({ext}) was inserted where {others} used to be, moving the members after it"


def own_message(name: str, c: Change, facts: TypeFacts) -> str:
    """The sentence for a change of the type `name` itself."""
    where = f"{name}.{c.member}" if c.member else name
    k = c.kind
    if k in (K.SIZE_CHANGED, K.ENUM_SIZE_CHANGED):
        grew = c.new > c.old
        text = f"{name} {'grew' if grew else 'shrank'} from {c.old} to {_bytes(c.new)}"
        if not grew and facts.made_flexible:
            text += ": a trailing array became a flexible array member and no member moved"
        elif grew and facts.extensible and facts.size_note:
            text += f"; {facts.size_note}"
        return text
    if k == K.ALIGN_CHANGED:
        return f"The alignment of {name} changed from {c.old} to {_bytes(c.new)}"
    if k == K.MEMBER_ADDED:
        return _added(where, c, facts)
    if k == K.MEMBER_REMOVED:
        return f"{where} ({extent_text(c.old)}) was removed"
    if k == K.MEMBER_REPLACED:
        return f"{where} ({extent_text(c.old)}) was removed and new members took its space"
    if k == K.MEMBER_RENAMED:
        return f"{name}: member {c.old} was renamed to {c.new}, at the same place with the same layout"
    if k == K.ENUMERATOR_RENAMED:
        return f"{name}: {c.old} was renamed to {c.new}, with the same value"
    if k in (K.MEMBER_TYPE_CHANGED, K.TYPEDEF_RETARGETED, K.FUNC_PROTO_CHANGED):
        head = {K.MEMBER_TYPE_CHANGED: f"{where} changed type from {c.old} to {c.new}",
                K.TYPEDEF_RETARGETED: f"{name} now names {c.new} instead of {c.old}",
                K.FUNC_PROTO_CHANGED: f"{name} changed its prototype from {c.old} to {c.new}"}[k]
        if c.signedness_only:
            return head + "; only the signedness differs"
        if c.layout_identical:
            return head + "; the layout is the same"
        return head + (f"; {c.detail}" if c.detail else "")
    if k == K.BITFIELD_CHANGED:
        return f"{where} changed from {extent_text(c.old)} to {extent_text(c.new)}"
    if k == K.RESERVED_SHRUNK:
        return (f"{where} shrank from {extent_text(c.old)} to {extent_text(c.new)} "
                "to make room for new members")
    if k == K.MEMBER_SIZE_CHANGED:
        text = f"{where} changed size from {_size_of(c.old)} to {_bytes(_size_of(c.new))}"
        if isinstance(c.old, dict) and isinstance(c.new, dict) and c.old.get("offset") != c.new.get("offset"):
            text += f" and now starts at offset {c.new.get('offset')}"
        return text
    if k == K.ARRAY_ELEMENT_SIZE_CHANGED:
        return f"The elements of {where} changed size from {c.old} to {_bytes(c.new)}"
    if k == K.MEMBER_OFFSET_CHANGED:
        return f"{where} moved from offset {c.old} to {c.new}"
    if k == K.MEMBER_MOVED:
        return f"{where} moved from offset {c.old} to {c.new}, out of its old order among the members"
    if k == K.ARRAY_MADE_FLEXIBLE:
        return (f"{where} changed from {c.old} to the flexible array {c.new} at the same offset "
                f"({c.old_bit_offset // 8}); old code indexing it reads the same bytes")
    if k == K.ENUMERATOR_ADDED:
        return f"{name}: {c.member} = {c.new} was added"
    if k == K.ENUMERATOR_REMOVED:
        return f"{name}: {c.member} (= {c.old}) was removed"
    if k == K.ENUMERATOR_VALUE_CHANGED:
        text = f"{name}: {c.member} changed from {c.old} to {c.new}"
        return text + (", as a count that follows the entries added before it" if c.member in facts.sentinels
                       else "")
    if k == K.ENUM_SIGNEDNESS_CHANGED:
        return f"{name} changed from {'signed' if c.old else 'unsigned'} to {'signed' if c.new else 'unsigned'}"
    if k == K.EMBEDDED_TYPE_CHANGED:
        return f"{where} changed layout"
    return f"{where}: {k.replace('_', ' ')}"


def effect_message(name: str, c: Change, root: str, root_diff: TypeDiff | None, chain: Sequence[str]) -> str:
    """The sentence for a change of `name` that a by-value embedded type `root` caused."""
    if root_diff is not None and root_diff.size_changed:
        grew = root_diff.new_size > root_diff.old_size
        what = f"{'grew' if grew else 'shrank'} from {root_diff.old_size} to {_bytes(root_diff.new_size)}"
    else:
        what = "changed layout"
    via = ""
    if len(chain) > 1:
        via = f" and is held by value in {chain[-1]}" + (f" through {', '.join(chain[1:-1])}" if len(chain) > 2 else "")
    member = f"{name}.{c.member}"
    if c.kind in _MOVES and c.member:
        tail = f"{member} moved from offset {c.old} to {c.new}"
    elif c.kind == K.MEMBER_SIZE_CHANGED and c.member:
        tail = f"{member} changed size from {_size_of(c.old)} to {_bytes(_size_of(c.new))}"
    elif c.kind == K.ARRAY_ELEMENT_SIZE_CHANGED and c.member:
        tail = f"the elements of {member} changed size from {c.old} to {_bytes(c.new)}"
    elif c.kind == K.SIZE_CHANGED:
        tail = f"{name} {'grew' if c.new > c.old else 'shrank'} from {c.old} to {_bytes(c.new)}"
    elif c.kind == K.ALIGN_CHANGED:
        tail = f"the alignment of {name} changed from {c.old} to {_bytes(c.new)}"
    else:
        tail = own_message(name, c, TypeFacts())
    return f"{root} {what}{via}, so {tail}"


def embedding_message(root: str, holder: str, path: str, chain: Sequence[str]) -> str:
    """A same-size layout change of `root` seen from a type that embeds it by value."""
    return (f"{holder}.{path} holds {root} by value ({' -> '.join(chain)}), whose members changed "
            "place although its size did not")


def presence_message(display: str, removed: bool) -> str:
    return f"{display} was {'removed' if removed else 'added'}"


def renamed_type_message(old: str, new: str) -> str:
    return f"{old} was renamed to {new}; the layout is the same"
