"""Who refers to whom in a BTF blob, read straight from the type words without decoding records.

`abiguard users` needs the reverse of every reference in the kernel's ~126k types; decoding every
record (names, members, checks) costs seconds, reading the few id words a record holds does not.
Records reached later through the index are still decoded and checked by BtfTypes as usual.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...model import TypeGraph
from ...model.containment import Containment
from .table import BtfTypes

# Kinds whose one named id is a use by value or a pointer: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, VAR,
# TYPE_TAG (FUNC and DECL_TAG are no containment); of the kinds naming a list, a DATASEC is none either,
# and an ARRAY contains its element, not its index type.
_BY_REF = bytes(1 if k in (2, 8, 9, 10, 11, 14, 18) else 0 for k in range(256))
_BY_LIST = bytes(1 if k in (3, 4, 5, 13) else 0 for k in range(256))
_ARRAY = 3


def reference_users(btf: BtfTypes) -> dict[int, list[int]]:
    """Type id -> ids of the records that name it (members, element, target, parameters), ascending."""
    users: dict[int, list[int]] = {} if btf.base is None else reference_users(btf.base)
    links = btf.raw_links()
    lists, first, limit = links.lists, btf.first_id, btf.count
    words, starts, get = btf.words, btf.starts, users.get
    for tid, k, ref in zip(range(first, limit), links.kinds, links.refs, strict=False):
        if _BY_REF[k]:
            named: Sequence[int] = (ref,)
        elif _BY_LIST[k]:
            named = (words[starts[tid - first] + 3],) if k == _ARRAY else lists[tid - first]
        else:
            continue
        for used in named:
            if 0 < used < limit:  # out-of-range ids are reported when the user record is decoded
                bucket = get(used)
                if bucket is None:
                    users[used] = [tid]
                elif bucket[-1] != tid:  # a struct naming one type in several members counts once
                    bucket.append(tid)
    return users


def containment_for(graph: TypeGraph) -> Containment:
    """The containment index of any graph; for BTF built from the raw type words (~0.2 s on vmlinux
    instead of seconds decoding every record). For commands: the comparer never reads files."""
    if isinstance(graph.types, BtfTypes):
        return Containment(graph, users=reference_users(graph.types))
    return Containment(graph)
