"""The type ids every record names, read straight from the raw type words (no decoding).

Every command reads the whole file's names or references, so a link that points nowhere or runs in a
cycle C cannot express is a corrupt file for every command, not only for the one that happens to decode
that record: BtfTypes.check_links() runs on these at parse time, in one cheap pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from .kinds import MAX_KIND, VLEN_MASK

# Kinds whose size_or_type word is a type id: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, VAR,
# DECL_TAG, TYPE_TAG (FUNC_PROTO's is its return type, handled with its parameters).
_REF_WORD_KINDS = frozenset({2, 8, 9, 10, 11, 12, 14, 17, 18})
_ARRAY, _STRUCT, _UNION, _FUNC_PROTO, _DATASEC = 3, 4, 5, 13, 15


def raw_links(words: Sequence[int], starts: Sequence[int]) -> tuple[list[list[int]], list[int]]:
    """Per own record: the type ids it names (void left out, in record order, as decode.edges gives
    them) and its kind number."""
    links: list[list[int]] = []
    kinds: list[int] = []
    add, add_kind = links.append, kinds.append
    for w in starts:
        info = words[w + 1]
        k = (info >> 24) & MAX_KIND
        add_kind(k)
        if k in _REF_WORD_KINDS:
            ref = words[w + 2]
            add([ref] if ref else [])
        elif k in (_STRUCT, _UNION):
            add([t for t in words[w + 4 : w + 4 + 3 * (info & VLEN_MASK) : 3] if t])
        elif k == _FUNC_PROTO:
            out = [t for t in words[w + 4 : w + 4 + 2 * (info & VLEN_MASK) : 2] if t]
            if words[w + 2]:
                out.insert(0, words[w + 2])
            add(out)
        elif k == _ARRAY:
            add([t for t in (words[w + 3], words[w + 4]) if t])
        elif k == _DATASEC:
            add([t for t in words[w + 3 : w + 3 + 3 * (info & VLEN_MASK) : 3] if t])
        else:
            add([])
    return links, kinds
