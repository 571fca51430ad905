"""TypeGraph: every type of one source for one target, with sizes, alignments and names."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import AbiguardError
from .target import Target
from .types import (
    COMPOSITE_KINDS,
    ENUM_KINDS,
    MODIFIER_KINDS,
    TRANSPARENT_KINDS,
    Constant,
    Kind,
    Type,
)

_TAGGED_KEYWORDS = {"struct": COMPOSITE_KINDS - {Kind.UNION}, "union": {Kind.UNION}, "enum": ENUM_KINDS}

# How readers locate what libc headers declare (sources/libc.py): `<libc>/bits/socket.h:183`.
LIBC_LOCATION = "<libc>/"


def is_libc_location(location: str) -> bool:
    """True for the location of a type declared by the libc headers a source was read with."""
    return location.startswith(LIBC_LOCATION)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem a reader met but survived, e.g. a header that did not parse."""

    location: str  # "file:line" or a file name
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(frozen=True, slots=True)
class HeaderFailure:
    """A header the reader could not compile (so its declarations are missing from the graph).

    `where` is the first error's "file:line" (the file may be a header it includes), `message` the
    compiler's words, `hides` the headers whose declarations only this failed parse would have
    recorded (the header itself among them).
    """

    header: str
    where: str
    message: str
    hides: tuple[str, ...] = ()

    @property
    def culprit(self) -> str:
        """The file the error is in."""
        return self.where.rpartition(":")[0] if self.where.rpartition(":")[2].isdigit() else self.where


@dataclass
class TypeGraph:
    """Types indexed by id (0 is void) for one Target.

    `types` may be a lazy sequence (a reader decoding on demand); `name_lookup`, when given,
    answers `ids_named` without decoding every type. `libc` says which libc headers the source was
    read with ("" for none); the types they declare are located `<libc>/...` (is_libc).
    """

    target: Target
    types: Sequence[Type]
    source: str = ""
    constants: Mapping[str, Constant] = field(default_factory=dict)
    diagnostics: Sequence[Diagnostic] = ()
    failures: Sequence[HeaderFailure] = ()  # headers that did not compile, by header
    unevaluated: frozenset[str] = frozenset()  # #defines the sources hold that no unit found an integer in
    name_lookup: Callable[[str], list[int]] | None = None
    libc: str = ""
    _names: dict[str, list[int]] | None = field(default=None, init=False, repr=False)
    _aligns: dict[int, int] = field(default_factory=dict, init=False, repr=False)

    # --- access -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.types)

    def __getitem__(self, type_id: int) -> Type:
        return self.types[type_id]

    def ids(self) -> Iterator[int]:
        """Every real type id (void excluded), ascending."""
        return iter(range(1, len(self.types)))

    def is_libc(self, type_id: int) -> bool:
        """True when the type comes from the libc headers the source was read with (sockaddr, timeval ...)."""
        return is_libc_location(self.types[type_id].location)

    def ids_named(self, name: str) -> list[int]:
        """Ids of all types carrying this name (any kind), ascending."""
        if self.name_lookup is not None:
            return self.name_lookup(name)
        if self._names is None:
            index: dict[str, list[int]] = {}
            for tid in self.ids():
                t = self.types[tid]
                if t.name:
                    index.setdefault(t.name, []).append(tid)
            self._names = index
        return self._names.get(name, [])

    # --- names ------------------------------------------------------------------------
    def resolve(self, spec: str) -> int:
        """The type id a C programmer means by `struct foo`, `union foo`, `enum foo` or `foo`."""
        words = spec.split()
        if len(words) == 2 and words[0] in _TAGGED_KEYWORDS:
            kinds, name = _TAGGED_KEYWORDS[words[0]], words[1]
            ids = self._own_first([i for i in self.ids_named(name) if self.types[i].kind in kinds])
            if not ids:
                fwd_union = words[0] == "union"
                ids = [
                    i
                    for i in self.ids_named(name)
                    if self.types[i].kind == Kind.FWD and self.types[i].kind_flag == fwd_union
                ]
            if not ids:
                raise AbiguardError(self.source, f"no type '{spec}'")
            return ids[0]
        if len(words) != 1:
            raise AbiguardError(self.source, f"cannot parse type name '{spec}'")
        name = spec
        ids = self._own_first(self.ids_named(name))
        typedefs = [i for i in ids if self.types[i].kind == Kind.TYPEDEF]
        tagged = [i for i in ids if self.types[i].kind in COMPOSITE_KINDS | ENUM_KINDS]
        if not typedefs and not tagged:
            fwds = [i for i in ids if self.types[i].kind == Kind.FWD]
            if fwds:
                return fwds[0]
            raise AbiguardError(self.source, f"no type named '{name}'")
        if not typedefs:
            kinds = {self.types[i].kind for i in tagged} - {Kind.ENUM64} | (
                {Kind.ENUM} if any(self.types[i].kind == Kind.ENUM64 for i in tagged) else set()
            )
            if len(kinds) > 1:
                choices = ", ".join(sorted(self.describe(i) for i in tagged))
                raise AbiguardError(self.source, f"'{name}' is ambiguous: {choices}; name one with its keyword")
            return tagged[0]
        if not tagged:
            return typedefs[0]
        # `typedef struct foo foo;` names one thing; anything else is a real ambiguity.
        target = self.strip(typedefs[0])
        if target in tagged:
            return target
        choices = ", ".join(sorted(self.describe(i) for i in [typedefs[0], *tagged]))
        raise AbiguardError(self.source, f"'{name}' is ambiguous: {choices}; name one with its keyword")

    def _own_first(self, ids: list[int]) -> list[int]:
        """`ids` without the libc's definitions when the source defines the name too (a kernel
        tree's struct timeval, not glibc's)."""
        own = [i for i in ids if not self.is_libc(i)]
        return own if own and len(own) < len(ids) else ids

    def describe(self, type_id: int) -> str:
        """Short kind-qualified name: `struct foo`, `typedef foo_t`, `int`, `struct (anon)`."""
        t = self.types[type_id]
        if t.kind in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.TYPEDEF, Kind.FWD):
            keyword = {
                Kind.STRUCT: "struct",
                Kind.UNION: "union",
                Kind.ENUM: "enum",
                Kind.ENUM64: "enum",
                Kind.TYPEDEF: "typedef",
                Kind.FWD: "union" if t.kind_flag else "struct",
            }[t.kind]
            return f"{keyword} {t.name or '(anon)'}"
        return self.c_name(type_id)

    def c_name(self, type_id: int, declarator: str = "") -> str:
        """C spelling of a type, optionally around a declarator: `char name[16]`, `int (*fn)(void)`."""
        t = self.types[type_id]
        k = t.kind
        if k == Kind.VOID:
            base = "void"
        elif k in (Kind.INT, Kind.FLOAT, Kind.TYPEDEF):
            base = t.name
        elif k in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FWD):
            base = self.describe(type_id).replace("(anon)", "{...}")
        elif k == Kind.PTR:
            inner = self.types[t.ref].kind
            star = f"(*{declarator})" if inner in (Kind.ARRAY, Kind.FUNC_PROTO) else f"*{declarator}"
            return self.c_name(t.ref, star)
        elif k == Kind.ARRAY:
            return self.c_name(t.ref, f"{declarator}[{t.nelems}]")
        elif k in MODIFIER_KINDS:
            word = {
                Kind.CONST: "const",
                Kind.VOLATILE: "volatile",
                Kind.RESTRICT: "restrict",
                Kind.TYPE_TAG: f'__attribute__((btf_type_tag("{t.name}")))',
            }[k]
            if self.types[t.ref].kind == Kind.PTR:
                return self.c_name(t.ref, f"{word} {declarator}".rstrip())
            return f"{word} {self.c_name(t.ref, declarator)}".rstrip()
        elif k == Kind.FUNC_PROTO:
            args = [self.c_name(p.type) if p.type or p.name else "..." for p in t.params]
            return self.c_name(t.ref, f"{declarator}({', '.join(args) or 'void'})")
        else:
            base = t.name or k.name.lower()
        return f"{base} {declarator}".rstrip() if declarator else base

    # --- layout -----------------------------------------------------------------------
    def strip(self, type_id: int, typedefs: bool = True) -> int:
        """Follow modifiers (and typedefs) to the type that carries the layout."""
        kinds = TRANSPARENT_KINDS if typedefs else MODIFIER_KINDS
        seen = 0
        while self.types[type_id].kind in kinds:
            type_id = self.types[type_id].ref
            seen += 1
            if seen > len(self.types):
                raise AbiguardError(self.source, f"type chain through [{type_id}] loops")
        return type_id

    def size_of(self, type_id: int) -> int:
        """Size in bytes as the target's sizeof() gives it (0 for void, functions and forwards)."""
        type_id = self.strip(self.strip(type_id))
        t = self.types[type_id]
        k = t.kind
        if k == Kind.PTR:
            return self.target.pointer_size
        if k == Kind.ARRAY:
            return t.nelems * self.size_of(t.ref)
        if k == Kind.VAR:
            return self.size_of(t.ref)
        if k in (Kind.VOID, Kind.FWD, Kind.FUNC, Kind.FUNC_PROTO, Kind.DECL_TAG):
            return 0
        return t.size

    def align_of(self, type_id: int) -> int:
        """Alignment: the compiler's where the source recorded it, else derived as a compiler would."""
        cached = self._aligns.get(type_id)
        if cached is not None:
            return cached
        t = self.types[type_id]
        value = t.align or self._derive_align(t)
        self._aligns[type_id] = value
        return value

    def align_is_derived(self, type_id: int) -> bool:
        """True when no compiler gave this type's alignment (BTF sources)."""
        t = self.types[self.strip(type_id, typedefs=False)]
        return t.align == 0

    def _derive_align(self, t: Type) -> int:
        k = t.kind
        if k in TRANSPARENT_KINDS or k == Kind.VAR:
            return self.align_of(t.ref)
        if k == Kind.ARRAY:
            return self.align_of(t.ref)
        if k == Kind.PTR:
            return self.target.scalar_align(self.target.pointer_size)
        if k in (Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.ENUM64):
            return self.target.scalar_align(t.size)
        if k in COMPOSITE_KINDS:
            return self._derive_composite_align(t)
        return 1

    def _derive_composite_align(self, t: Type) -> int:
        natural = 1
        end = 0  # bits up to the end of the furthest member seen so far
        for m in t.members:
            a = self.align_of(m.type)
            if m.bit_size == 0:
                if m.bit_offset % (8 * a):
                    return 1  # a member off its natural boundary: the struct is packed
                # A hole the member's own alignment does not explain comes from an aligned attribute.
                a = max(a, _alignment_reaching((end + 7) // 8, m.offset, a))
                member_end = m.bit_offset + 8 * self.size_of(m.type)
            else:
                unit = 8 * max(self.size_of(m.type), 1)
                start = m.bit_offset - m.bit_offset % (8 * a)
                if m.bit_offset + m.bit_size > start + unit:
                    return 1  # a bitfield straddling its storage unit only happens when packed
                member_end = m.bit_offset + m.bit_size
            end = max(end, member_end)
            natural = max(natural, a)
        if t.size % natural:
            return 1
        # Trailing padding beyond the members' alignment also comes from an aligned attribute.
        return max(natural, _alignment_reaching((end + 7) // 8, t.size, natural))


def _alignment_reaching(start: int, aligned_to: int, floor: int) -> int:
    """Smallest power of two >= floor that rounds `start` up to exactly `aligned_to`; `floor` if none."""
    if aligned_to <= start:
        return floor
    p = floor
    while p <= aligned_to:
        if -(-start // p) * p == aligned_to:
            return p
        p *= 2
    return floor
