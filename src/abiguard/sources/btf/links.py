"""The type ids every record names, read straight from the raw type words (no decoding), and the
nesting height of every id under one cycle rule.

Every command reads the whole file's names or references, so a link that points nowhere or runs in a
cycle C cannot express is a corrupt file for every command, not only for the one that happens to decode
that record: BtfTypes.check_links() runs on these at parse time. It is on the start-up path of every
command, so the loops below do a handful of operations per record and leave naming a fault to the
slow, decoding walk in table.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .kinds import MAX_KIND, VLEN_MASK

# Kinds whose size_or_type word is a type id: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, VAR,
# DECL_TAG, TYPE_TAG (FUNC_PROTO's is its return type, handled with its parameters).
_REF_WORD_KINDS = frozenset({2, 8, 9, 10, 11, 12, 14, 17, 18})
_ARRAY, _STRUCT, _UNION, _FUNC_PROTO, _DATASEC = 3, 4, 5, 13, 15
_LIST_KINDS = frozenset({_ARRAY, _STRUCT, _UNION, _FUNC_PROTO, _DATASEC})
_UNSEEN = 1 << 30  # a height no valid file reaches (MAX_TYPE_ID is below it)
_ON_PATH = _UNSEEN + 1


@dataclass(frozen=True)
class RawLinks:
    """The links of one blob's own records, indexed by record (id - first id)."""

    kinds: bytes  # kind number per record
    refs: list[int]  # the size_or_type word per record: the one id a _REF_WORD_KINDS record names (0: void)
    lists: dict[int, Sequence[int]]  # ids named by STRUCT/UNION/FUNC_PROTO/ARRAY/DATASEC records, void left out


class LinkFault(Exception):
    """Where the height pass stopped: `tid` names an id beyond the last, lies on a cycle, or nests too deep."""

    def __init__(self, tid: int, what: str) -> None:
        super().__init__(tid, what)
        self.tid, self.what = tid, what


def raw_links(words: Sequence[int], starts: Sequence[int]) -> RawLinks:
    """The links of every record, as RawLinks."""
    infos = [words[w + 1] for w in starts]
    kinds = bytes([(info >> 24) & MAX_KIND for info in infos])
    refs = [words[w + 2] for w in starts]
    lists: dict[int, Sequence[int]] = {}
    # Slices of the word array stand for member and parameter lists: built in C, and only the rare
    # list holding void (a variadic prototype's last parameter) is filtered in Python.
    for local, k in enumerate(kinds):
        if k not in _LIST_KINDS:
            continue
        w, info = starts[local], infos[local]
        if k == _FUNC_PROTO:
            ids: Sequence[int] = words[w + 4 : w + 4 + 2 * (info & VLEN_MASK) : 2]
            if refs[local]:
                ids = [refs[local], *ids]
        elif k == _ARRAY:
            ids = (words[w + 3], words[w + 4])
        elif k == _DATASEC:
            ids = words[w + 3 : w + 3 + 3 * (info & VLEN_MASK) : 3]
        else:
            ids = words[w + 4 : w + 4 + 3 * (info & VLEN_MASK) : 3]
        lists[local] = ids if 0 not in ids else [t for t in ids if t]
    return RawLinks(kinds, refs, lists)


def link_heights(links: RawLinks, stop_kinds: frozenset[int], first: int, below: list[int], limit: int) -> list[int]:
    """Height of every own id (longest chain of records below it, itself included) when the links of
    `stop_kinds` are not followed; `below` holds the heights of ids under `first` (void: 0).

    Raises LinkFault at an id that names an id beyond the last, lies on a cycle, or sits above a chain
    longer than `limit`. Most links point at lower ids, so one pass in id order settles nearly every
    record; a record that points ahead is settled by a depth-first walk from it.
    """
    kinds, refs, lists = links.kinds, links.refs, links.lists
    one = bytes(1 if k in _REF_WORD_KINDS and k not in stop_kinds else 0 for k in range(256))
    many = bytes(1 if k in _LIST_KINDS and k not in stop_kinds else 0 for k in range(256))
    h = below + [_UNSEEN] * len(kinds)
    at = h.__getitem__

    def outs(tid: int) -> Sequence[int]:
        local = tid - first
        k = kinds[local]
        if one[k]:
            return (refs[local],)
        return lists.get(local, ()) if many[k] else ()

    tid = first
    try:
        for tid, k, ref in zip(range(first, len(h)), kinds, refs, strict=False):
            if one[k]:
                below_it = h[ref]
            elif many[k]:
                below_it = max(map(at, lists[tid - first]), default=0)
            else:
                h[tid] = 1
                continue
            if below_it < _UNSEEN:
                h[tid] = below_it + 1
            else:
                _settle(tid, h, outs)
    except IndexError:
        raise LinkFault(tid, "missing") from None
    own = h[first:]
    if max(own, default=0) > limit:
        raise LinkFault(first + next(i for i, v in enumerate(own) if v > limit), "deep")
    return own


def _settle(root: int, h: list[int], outs: Callable[[int], Sequence[int]]) -> None:
    """Depth-first from a record that points ahead: heights of everything unsettled below it."""
    at = h.__getitem__
    h[root] = _ON_PATH
    path = [(root, iter(outs(root)))]
    while path:
        tid, todo = path[-1]
        for nxt in todo:
            if nxt >= len(h):
                raise LinkFault(tid, "missing")
            seen = h[nxt]
            if seen == _UNSEEN:
                h[nxt] = _ON_PATH
                path.append((nxt, iter(outs(nxt))))
                break
            if seen == _ON_PATH:
                raise LinkFault(nxt, "cycle")
        else:
            path.pop()
            h[tid] = max(map(at, outs(tid)), default=0) + 1
