"""Access specs: an access string ("0:1:2") walked through a BTF, as libbpf's bpf_core_parse_spec does."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import COMPOSITE_KINDS, ENUM_KINDS, Kind, TypeGraph
from .btf_ext import ReloKind

MAX_SPEC_LEN = 64  # BPF_CORE_SPEC_MAX_LEN


class SpecError(Exception):
    """A relocation libbpf rejects outright (its -EINVAL/-E2BIG): the whole object fails to load."""


@dataclass(frozen=True, slots=True)
class Accessor:
    """One high-level step: a named member (name set) or an array index (name None)."""

    type_id: int  # the struct/union/enum holding the member, or the array element type
    idx: int
    name: str | None = None


@dataclass
class Spec:
    """A local or target access spec: high-level accessors, raw indices and the resulting bit offset."""

    graph: TypeGraph
    root_type_id: int
    kind: ReloKind
    accessors: list[Accessor] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)
    bit_offset: int = 0


def strip(graph: TypeGraph, type_id: int) -> int:
    """skip_mods_and_typedefs: follow const/volatile/restrict/type_tag and typedefs."""
    return graph.strip(type_id)


def resolve_size(graph: TypeGraph, type_id: int) -> int:
    """btf__resolve_size: sizeof the type, or SpecError for void, functions and forwards."""
    nelems = 1
    depth = 0
    while True:
        depth += 1
        if depth > 32:
            raise SpecError(f"type [{type_id}] nests too deeply to size")
        t = graph[type_id]
        k = t.kind
        if k in (Kind.INT, Kind.FLOAT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC):
            return nelems * t.size
        if k == Kind.PTR:
            return nelems * graph.target.pointer_size
        if k in (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG, Kind.VAR, Kind.DECL_TAG):
            type_id = t.ref
        elif k == Kind.ARRAY:
            nelems *= t.nelems
            type_id = t.ref
        else:
            raise SpecError(f"type [{type_id}] ({k.name.lower()}) has no size")


def is_flex_array(graph: TypeGraph, parent: Accessor | None, nelems: int) -> bool:
    """A zero-length array that is the last member of its struct may be indexed past its end."""
    if parent is None or parent.name is None or nelems > 0:
        return False
    return parent.idx == len(graph[parent.type_id].members) - 1


def parse_spec(graph: TypeGraph, root_type_id: int, access: str, kind: ReloKind) -> Spec:
    """Local spec for one relocation record; SpecError where libbpf refuses to parse it."""
    spec = Spec(graph, root_type_id, kind)
    if not access or access.startswith(":"):
        raise SpecError(f"empty or malformed access string '{access}'")
    if kind.is_type:
        if access != "0":
            raise SpecError(f"type relocation with access string '{access}' (expected '0')")
        return spec
    raw = _parse_access(access)
    spec.raw = raw
    tid = strip(graph, root_type_id)
    t = graph[tid]
    spec.accessors.append(Accessor(tid, raw[0]))
    if kind.is_enumval:
        if t.kind not in ENUM_KINDS or len(raw) > 1 or raw[0] >= len(t.enumerators):
            raise SpecError(f"enum value relocation '{access}' does not name an enumerator of [{tid}]")
        spec.accessors[0] = Accessor(tid, raw[0], t.enumerators[raw[0]].name)
        return spec
    spec.bit_offset = raw[0] * resolve_size(graph, tid) * 8
    for step, idx in enumerate(raw[1:], start=1):
        tid = strip(graph, tid)
        t = graph[tid]
        if t.kind in COMPOSITE_KINDS:
            if idx >= len(t.members):
                raise SpecError(f"access '{access}' step {step}: member #{idx} past the end of [{tid}]")
            m = t.members[idx]
            spec.bit_offset += m.bit_offset
            if m.name:
                spec.accessors.append(Accessor(tid, idx, m.name))
            tid = m.type
        elif t.kind == Kind.ARRAY:
            elem = strip(graph, t.ref)
            if not is_flex_array(graph, spec.accessors[-1], t.nelems) and idx >= t.nelems:
                raise SpecError(f"access '{access}' step {step}: index {idx} past array of {t.nelems}")
            spec.accessors.append(Accessor(elem, idx))
            spec.bit_offset += idx * resolve_size(graph, elem) * 8
            tid = elem
        else:
            raise SpecError(f"access '{access}' step {step} reaches [{tid}] of kind {t.kind.name.lower()}")
    return spec


def _parse_access(access: str) -> list[int]:
    raw: list[int] = []
    for part in access.split(":"):
        if not part.isdigit():
            raise SpecError(f"malformed access string '{access}'")
        if len(raw) == MAX_SPEC_LEN:
            raise SpecError(f"access string '{access}' is longer than {MAX_SPEC_LEN} steps")
        raw.append(int(part))
    return raw


def c_path(spec: Spec, var: str = "p") -> str:
    """The C expression a field spec stands for: `p->regs.orig_gpr2`, `p[1].a[3]`."""
    if spec.kind.is_type:
        return ""
    if spec.kind.is_enumval:
        return spec.accessors[0].name or ""
    out = var if not spec.raw or spec.raw[0] == 0 else f"{var}[{spec.raw[0]}]"
    first_sep = "->" if out == var else "."
    for i, acc in enumerate(spec.accessors[1:]):
        if acc.name is not None:
            out += (first_sep if i == 0 else ".") + acc.name
        else:
            out += f"[{acc.idx}]"
    return out


def describe_steps(spec: Spec) -> str:
    """libbpf's log form of a spec: `struct foo.a[3].b (0:1:3:2 @ offset 12)`."""
    g = spec.graph
    head = g.describe(spec.root_type_id)
    if spec.kind.is_type:
        return head
    if spec.kind.is_enumval:
        acc = spec.accessors[0]
        t = g[acc.type_id]
        value = t.enumerators[acc.idx].value
        bits = 32 if t.kind == Kind.ENUM else 64
        value &= (1 << bits) - 1
        if t.signed and value >> (bits - 1):
            value -= 1 << bits
        return f"{head}::{acc.name} = {value}"
    path = ""
    for i, acc in enumerate(spec.accessors):
        if acc.name is not None:
            path += f".{acc.name}"
        elif i > 0 or acc.idx > 0:
            path += f"[{acc.idx}]"
    off = spec.bit_offset
    where = f"{off // 8}.{off % 8}" if off % 8 else f"{off // 8}"
    return f"{head}{path} ({':'.join(map(str, spec.raw))} @ offset {where})"
