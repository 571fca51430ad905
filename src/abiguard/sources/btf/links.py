"""The type ids every record names, read straight from the raw type words (no decoding), and the
nesting height of every id under one cycle rule.

Every command reads the whole file's names or references, so a link that points nowhere or runs in a
cycle C cannot express is a corrupt file for every command, not only for the one that happens to decode
that record: BtfTypes.check_links() runs on these at parse time. It is on the start-up path of every
command, so the loops below do a handful of operations per record and leave naming a fault to the
slow, decoding walk in table.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .kinds import MAX_KIND, VLEN_MASK

# Kinds whose size_or_type word is a type id: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, VAR,
# DECL_TAG, TYPE_TAG (FUNC_PROTO's is its return type, handled with its parameters).
_REF_WORD_KINDS = frozenset({2, 8, 9, 10, 11, 12, 14, 17, 18})
_PTR, _ARRAY, _STRUCT, _UNION, _FUNC_PROTO, _DATASEC = 2, 3, 4, 5, 13, 15
_LIST_KINDS = frozenset({_ARRAY, _STRUCT, _UNION, _FUNC_PROTO, _DATASEC})
_LIST_KIND_BYTES = re.compile(b"[" + bytes(sorted(_LIST_KINDS)) + b"]")
_UNSEEN = 1 << 30  # a height no valid file reaches (MAX_TYPE_ID is below it)
_ON_PATH = _UNSEEN + 1


@dataclass(frozen=True)
class RawLinks:
    """The links of one blob's own records, indexed by record (id - first id)."""

    kinds: bytes  # kind number per record
    refs: list[int]  # the size_or_type word per record: the one id a _REF_WORD_KINDS record names (0: void)
    lists: dict[int, Sequence[int]]  # ids named by STRUCT/UNION/FUNC_PROTO/ARRAY/DATASEC records, void left out


class LinkFault(Exception):
    """Where the height pass stopped: `tid` names an id beyond the last, lies on a cycle, or nests too
    deep, under cycle rule `rule`."""

    def __init__(self, tid: int, what: str, rule: int) -> None:
        super().__init__(tid, what, rule)
        self.tid, self.what, self.rule = tid, what, rule


def raw_links(words: Sequence[int], starts: Sequence[int]) -> RawLinks:
    """The links of every record, as RawLinks."""
    kinds = bytes([(words[w + 1] >> 24) & MAX_KIND for w in starts])
    refs = [words[w + 2] for w in starts]
    lists: dict[int, Sequence[int]] = {}
    # Slices of the word array stand for member and parameter lists: built in C, and only the rare
    # list holding void (a variadic prototype's last parameter) is filtered in Python. The records
    # that have lists are found by a C-level scan of the kind bytes.
    for found in _LIST_KIND_BYTES.finditer(kinds):
        local = found.start()
        k, w = kinds[local], starts[local]
        vlen = words[w + 1] & VLEN_MASK
        if k == _FUNC_PROTO:
            ids: Sequence[int] = words[w + 4 : w + 4 + 2 * vlen : 2]
            if refs[local]:
                ids = [refs[local], *ids]
        elif k == _ARRAY:
            ids = (words[w + 3], words[w + 4])
        elif k == _DATASEC:
            ids = words[w + 3 : w + 3 + 3 * vlen : 3]
        else:
            ids = words[w + 4 : w + 4 + 3 * vlen : 3]
        lists[local] = ids if 0 not in ids else [t for t in ids if t]
    return RawLinks(kinds, refs, lists)


# How a kind's links count under the two cycle rules (table.BtfTypes._check): rule 0 does not follow
# pointers, rule 1 does not follow structs and unions.
_LEAF, _ONE_BOTH, _ONE_RULE1, _LIST_RULE0, _LIST_BOTH = range(5)
_SHAPE = bytes(
    _ONE_RULE1 if k == _PTR else _ONE_BOTH if k in _REF_WORD_KINDS
    else _LIST_RULE0 if k in (_STRUCT, _UNION) else _LIST_BOTH if k in _LIST_KINDS else _LEAF
    for k in range(256)
)


def link_heights(links: RawLinks, first: int, below: tuple[list[int], list[int]], limit: int
                 ) -> tuple[list[int], list[int]]:
    """Height of every own id under each cycle rule (longest chain of records below it, itself
    included); `below` holds each rule's heights of the ids under `first` (void: 0).

    Raises LinkFault at an id that names an id beyond the last, lies on a cycle, or sits above a chain
    longer than `limit`. Most links point at lower ids, so one pass in id order settles nearly every
    record, both rules at once; a record that points ahead is settled by a depth-first walk from it.
    """
    kinds, refs, lists = links.kinds, links.refs, links.lists
    h0, h1 = below[0] + [_UNSEEN] * len(kinds), below[1] + [_UNSEEN] * len(kinds)
    at0, at1 = h0.__getitem__, h1.__getitem__

    def outs(tid: int, ones: tuple[int, ...], lists_of: tuple[int, ...]) -> Sequence[int]:
        shape = _SHAPE[kinds[tid - first]]
        if shape in ones:
            return (refs[tid - first],)
        return lists.get(tid - first, ()) if shape in lists_of else ()

    def outs0(tid: int) -> Sequence[int]:
        return outs(tid, (_ONE_BOTH,), (_LIST_RULE0, _LIST_BOTH))

    def outs1(tid: int) -> Sequence[int]:
        return outs(tid, (_ONE_BOTH, _ONE_RULE1), (_LIST_BOTH,))

    tid = first
    try:
        for tid, k, ref in zip(range(first, len(h0)), kinds, refs, strict=False):
            shape = _SHAPE[k]
            if shape == _ONE_BOTH:
                under0, under1 = h0[ref], h1[ref]
            elif shape == _LIST_BOTH:
                named = lists[tid - first]
                under0, under1 = max(map(at0, named), default=0), max(map(at1, named), default=0)
            elif shape == _ONE_RULE1:
                under0, under1 = 0, h1[ref]
            elif shape == _LIST_RULE0:
                under0, under1 = max(map(at0, lists[tid - first]), default=0), 0
            else:
                h0[tid] = h1[tid] = 1
                continue
            if under0 < _UNSEEN:
                h0[tid] = under0 + 1
            else:
                _settle(tid, h0, outs0, 0)
            if under1 < _UNSEEN:
                h1[tid] = under1 + 1
            else:
                _settle(tid, h1, outs1, 1)
    except IndexError:
        raise LinkFault(tid, "missing", 0) from None
    own0, own1 = h0[first:], h1[first:]
    for rule, own in enumerate((own0, own1)):
        if max(own, default=0) > limit:
            raise LinkFault(first + next(i for i, v in enumerate(own) if v > limit), "deep", rule)
    return own0, own1


def _settle(root: int, h: list[int], outs: Callable[[int], Sequence[int]], rule: int) -> None:
    """Depth-first from a record that points ahead: heights of everything unsettled below it."""
    at = h.__getitem__
    h[root] = _ON_PATH
    path = [(root, iter(outs(root)))]
    while path:
        tid, todo = path[-1]
        for nxt in todo:
            if nxt >= len(h):
                raise LinkFault(tid, "missing", rule)
            seen = h[nxt]
            if seen == _UNSEEN:
                h[nxt] = _ON_PATH
                path.append((nxt, iter(outs(nxt))))
                break
            if seen == _ON_PATH:
                raise LinkFault(nxt, "cycle", rule)
        else:
            path.pop()
            h[tid] = max(map(at, outs(tid)), default=0) + 1
