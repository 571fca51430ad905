"""Who refers to whom in a BTF blob, read straight from the type words without decoding records.

`abiguard users` needs the reverse of every reference in the kernel's ~126k types; decoding every
record (names, members, checks) costs seconds, reading the few id words a record holds does not.
Records reached later through the index are still decoded and checked by BtfTypes as usual.
"""

from __future__ import annotations

from ...model import TypeGraph
from ...model.containment import Containment
from .kinds import VLEN_MASK
from .table import BtfTypes

# Kinds whose size_or_type word is a use by value or a pointer: PTR, TYPEDEF, VOLATILE, CONST,
# RESTRICT, VAR, TYPE_TAG (FUNC and DECL_TAG are no containment).
_REF_WORD_KINDS = frozenset({2, 8, 9, 10, 11, 14, 18})
_ARRAY, _STRUCT, _UNION, _FUNC_PROTO = 3, 4, 5, 13


def reference_users(btf: BtfTypes) -> dict[int, list[int]]:
    """Type id -> ids of the records that name it (members, element, target, parameters), ascending."""
    users: dict[int, list[int]] = {} if btf.base is None else reference_users(btf.base)
    words, first, limit = btf.words, btf.first_id, btf.count

    def add(used: int, user: int) -> None:
        if 0 < used < limit:  # out-of-range ids are reported when the user record is decoded
            bucket = users.get(used)
            if bucket is None:
                users[used] = [user]
            elif bucket[-1] != user:  # a struct naming one type in several members counts once
                bucket.append(user)

    for local, w in enumerate(btf.starts):
        tid = first + local
        info = words[w + 1]
        k = (info >> 24) & 0x7F
        if k in _REF_WORD_KINDS:
            add(words[w + 2], tid)
        elif k in (_STRUCT, _UNION):
            seen: set[int] = set()
            for at in range(w + 4, w + 4 + 3 * (info & VLEN_MASK), 3):
                used = words[at]
                if used not in seen:
                    seen.add(used)
                    add(used, tid)
        elif k == _ARRAY:
            add(words[w + 3], tid)
        elif k == _FUNC_PROTO:
            add(words[w + 2], tid)
            for at in range(w + 4, w + 4 + 2 * (info & VLEN_MASK), 2):
                add(words[at], tid)
    return users


def containment_for(graph: TypeGraph) -> Containment:
    """The containment index of any graph; for BTF built from the raw type words (~0.2 s on vmlinux
    instead of seconds decoding every record). For commands: the comparer never reads files."""
    if isinstance(graph.types, BtfTypes):
        return Containment(graph, users=reference_users(graph.types))
    return Containment(graph)
