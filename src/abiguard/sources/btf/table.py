"""BtfTypes: the lazy, validating `Sequence[Type]` behind a BTF TypeGraph (ids, strings, names, cycles).

How validation stays complete yet cheap:
- parsing checks the header, the sections and every record's kind and extent (vlen) in one fast pass,
  then every link on the raw words (`check_links`: each named id exists, no cycle C cannot express, no
  nesting past MAX_DEPTH), so a bad link anywhere fails every command, not only one that decodes it;
- a type is decoded on first access, which checks its own ids, string offsets and values, then walks
  what it reaches (already walked at parse time, see `_check`), and checks the kinds of the
  records it points at (FUNC -> FUNC_PROTO ...). Anything a command can reach from a type it was
  handed is therefore checked; `validate_all()` does the same for every id in one bulk pass (tests,
  whole-file commands), and a caller that has touched thousands of ids one by one is switched to it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, overload

from ...errors import AbiguardError
from ...gc_pause import gc_paused
from ...model.types import COMPOSITE_KINDS, TRANSPARENT_KINDS, VOID, Kind, Type
from .decode import decode_record, edges
from .links import LinkFault, RawLinks, link_heights, raw_links
from .names import NameIndex

if TYPE_CHECKING:
    from .header import BtfHeader

_WHITE, _GREY, _BLACK = 0, 1, 2
# Consumers recurse along these chains (a few Python frames per level); the kernel's own resolver stops
# at 32 and real kernels nest about 33 records deep, so 128 leaves room without risking RecursionError.
MAX_DEPTH = 128
# After this many types checked one by one, check the whole file in one bulk pass instead.
_CHECKS_BEFORE_BULK = 5000
_SIZED_KINDS = frozenset({Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.ENUM64, Kind.STRUCT, Kind.UNION})


class BtfTypes(Sequence[Type]):
    """Every type id of one BTF blob and its base (split BTF continues the base's ids and strings)."""

    def __init__(
        self,
        *,
        where: str,
        file_offset: int,
        header: BtfHeader,
        strings: bytes,
        words: array,
        starts: array,
        name_offs: array,
        base: BtfTypes | None,
    ) -> None:
        self.where = where
        self.file_offset = file_offset
        self.header = header
        self.words = words
        self.starts = starts
        self.name_offs = name_offs  # per record, gathered by the scan: name look-ups need no decoding
        self.base = base
        self.first_id = base.count if base is not None else 1
        self.count = self.first_id + len(starts)
        self.own_strings = strings
        self.str_base = base.str_total if base is not None else 0
        self.str_total = self.str_base + len(strings)
        n = len(starts)
        self._decoded: list[Type | None] = [None] * n
        self._ready: list[Type | None] = [None] * n
        self._colors = (bytearray(n), bytearray(n))  # DFS state per cycle rule, see _check
        self._heights: tuple[array, array] = (_unpacked(bytes(4 * n)), _unpacked(bytes(4 * n)))
        self._checked = bytearray(n)  # ids that passed every check (here or in an earlier parse, restore_proven)
        self._sizes = [-1] * n  # byte_size memo, -1 = not computed
        self.str_cache: dict[int, str] = {}
        self.names = NameIndex(self)
        self._all_valid = False
        self._lazy_checks = 0
        self._links: RawLinks | None = None
        self._links_proven = False  # every id proven under both rules (check_links ran or was restored)
        # Each rule's heights of ids 0..count-1: the floor of every split blob (module) parsed on this
        # one, built on the first such parse rather than per module.
        self._all_heights: tuple[list[int], list[int]] | None = None

    # --- Sequence ---------------------------------------------------------------------
    def __len__(self) -> int:
        return self.count

    @overload
    def __getitem__(self, index: int) -> Type: ...
    @overload
    def __getitem__(self, index: slice) -> list[Type]: ...
    def __getitem__(self, index: int | slice) -> Type | list[Type]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.count))]
        if index < 0:
            index += self.count
        local = index - self.first_id
        if local >= 0:
            t = self._ready[local]  # IndexError past the end, as a Sequence must
            return t if t is not None else self._check(index)
        if index == 0:
            return VOID
        if index < 0 or self.base is None:
            raise IndexError(index)
        return self.base[index]

    def __iter__(self) -> Iterator[Type]:
        for i in range(self.count):
            yield self[i]

    # --- errors, strings --------------------------------------------------------------
    def record_offset(self, tid: int, word: int | None = None) -> int:
        """Byte offset in the file of type `tid`'s record (or of one of its words)."""
        if word is None:
            word = self.starts[tid - self.first_id]
        return self.file_offset + self.header.types.start + 4 * word

    def error(self, tid: int, word: int, message: str) -> AbiguardError:
        return AbiguardError(self.where, f"BTF type [{tid}] at byte {self.record_offset(tid, word)}: {message}")

    def string_at(self, off: int) -> str:
        """The NUL-terminated string at `off` (base strings first); LookupError when out of range."""
        s = self.str_cache.get(off)
        if s is not None:
            return s
        if off < 0:
            raise LookupError("is negative")
        if off < self.str_base:
            assert self.base is not None
            return self.base.string_at(off)
        local = off - self.str_base
        data = self.own_strings
        if local >= len(data):
            raise LookupError(f"is beyond the string section ({self.str_total} bytes)")
        # The section is known to end with NUL, so index() always finds one.
        s = data[local : data.index(0, local)].decode("utf-8", "replace")
        self.str_cache[off] = s
        return s

    # --- decoding and checks ----------------------------------------------------------
    def decoded(self, tid: int) -> Type:
        """The record decoded and self-consistent, but not yet checked against what it reaches."""
        local = tid - self.first_id
        if local < 0:
            if tid == 0:
                return VOID
            assert self.base is not None
            return self.base.decoded(tid)
        t = self._decoded[local]
        if t is None:
            t = decode_record(self, tid)
            self._decoded[local] = t
        return t

    def kind_no(self, tid: int) -> int:
        """The raw kind number of an id (also for kinds only the layout section describes)."""
        if tid < self.first_id:
            return 0 if tid == 0 or self.base is None else self.base.kind_no(tid)
        return (self.words[self.starts[tid - self.first_id] + 1] >> 24) & 0x7F

    def _check(self, tid: int) -> Type:
        """Decode `tid` and check everything reachable from it, then hand it out.

        Two rules cover every cycle C can express (each passes through a pointer AND a struct or
        union): no cycle when pointers are not followed, and none when structs/unions are not.
        Consumers recurse either by value (stopping at pointers) or by spelling (stopping at tags).
        """
        local = tid - self.first_id
        self._lazy_checks += 1
        if self._lazy_checks > _CHECKS_BEFORE_BULK and not self._all_valid:
            # A caller walking most of the file (diff, users): the bulk pass is several times cheaper.
            self.validate_all()
            return self._ready[local]  # type: ignore[return-value]
        t = self.decoded(tid)
        for rule in (0, 1):
            if self._colors[rule][local] != _BLACK:
                self._walk(tid, rule)
        if not self._checked[local]:
            self._check_targets(tid, t)
            self._checked[local] = 1
        self._ready[local] = t
        return t

    def _out(self, tid: int, rule: int) -> list[int]:
        t = self.decoded(tid)
        if (rule == 0 and t.kind == Kind.PTR) or (rule == 1 and t.kind in COMPOSITE_KINDS):
            return []
        return edges(t)

    def _ensure_walked(self, tid: int, rule: int) -> None:
        if tid < self.first_id:
            if tid and self.base is not None:
                self.base._ensure_walked(tid, rule)
            return
        if self._colors[rule][tid - self.first_id] != _BLACK:
            self._walk(tid, rule)

    def height(self, tid: int, rule: int) -> int:
        """Longest chain of records below `tid` under one rule (valid once walked); 0 for void."""
        if tid < self.first_id:
            return 0 if tid == 0 or self.base is None else self.base.height(tid, rule)
        return self._heights[rule][tid - self.first_id]

    def _walk(self, root: int, rule: int) -> None:
        """Iterative DFS under one rule: rejects cycles and over-deep nesting; every id is walked once."""
        first, color, heights = self.first_id, self._colors[rule], self._heights[rule]
        nodes = [root]
        iters = [iter(self._out(root, rule))]
        best = [0]  # per stack frame: the tallest finished child so far
        color[root - first] = _GREY
        try:
            while iters:
                for nxt in iters[-1]:
                    if nxt < first:
                        self._ensure_walked(nxt, rule)
                        best[-1] = max(best[-1], self.height(nxt, rule))
                        continue
                    c = color[nxt - first]
                    if c == _BLACK:
                        best[-1] = max(best[-1], heights[nxt - first])
                        continue
                    if c == _GREY:
                        raise self._cycle_error([*nodes[nodes.index(nxt) :], nxt], rule)
                    if len(nodes) >= MAX_DEPTH:  # bounds the stack, and cycle reports, too
                        raise self._depth_error(root, rule)
                    color[nxt - first] = _GREY
                    nodes.append(nxt)
                    iters.append(iter(self._out(nxt, rule)))
                    best.append(0)
                    break
                else:
                    done = nodes[-1]
                    h = best.pop() + 1
                    if h > MAX_DEPTH:
                        raise self._depth_error(done, rule)
                    heights[done - first] = h
                    color[done - first] = _BLACK
                    nodes.pop()
                    iters.pop()
                    if best:
                        best[-1] = max(best[-1], h)
        except BaseException:
            for n in nodes:  # leave no half-walked state behind for a later access
                color[n - first] = _WHITE
            raise

    def _depth_error(self, tid: int, rule: int) -> AbiguardError:
        what = "by-value nesting (members, arrays, typedefs, modifiers)" if rule == 0 else "nesting of type spellings"
        return self.error(tid, self.starts[tid - self.first_id], f"{what} deeper than {MAX_DEPTH} levels")

    def _cycle_error(self, cycle: list[int], rule: int) -> AbiguardError:
        shown = cycle[:-1] if len(cycle) <= 9 else [*cycle[:8]]
        path = " -> ".join(f"[{i}] {self._label(i)}" for i in shown)
        path += f" -> [{cycle[-1]}]" if len(cycle) <= 9 else f" -> ... ({len(cycle) - 1} records) -> [{cycle[-1]}]"
        what = "reference cycle not through a pointer" if rule == 0 else "pointer cycle through no struct or union"
        start = cycle[0]
        return self.error(start, self.starts[start - self.first_id], f"{what}: {path}")

    def _label(self, tid: int) -> str:
        t = self.decoded(tid)
        return f"{t.kind.name} '{t.name}'" if t.name else t.kind.name

    def byte_size(self, tid: int) -> int:
        """A lower bound of sizeof() for validation: exact, except pointers count 4 bytes.

        Raw BTF does not record its pointer size and the target may only be guessed (host or s390x),
        so the smallest pointer any target has keeps 32-bit BTF read on a 64-bit host valid.
        """
        if tid < self.first_id:
            return 0 if tid == 0 or self.base is None else self.base.byte_size(tid)
        local = tid - self.first_id
        size = self._sizes[local]
        if size < 0:
            t = self.decoded(tid)
            k = t.kind
            if k in TRANSPARENT_KINDS or k == Kind.VAR:
                size = self.byte_size(t.ref)  # depth bounded: walked by value first
            elif k == Kind.PTR:
                size = 4
            elif k == Kind.ARRAY:
                size = t.nelems * self.byte_size(t.ref)
            elif k in _SIZED_KINDS:
                size = t.size
            else:
                size = 0  # void, functions, forwards: no storage
            self._sizes[local] = size
        return size

    def _check_targets(self, tid: int, t: Type) -> None:
        """Checks that need the records a type refers to (FUNC -> FUNC_PROTO, members within the size ...)."""
        k = t.kind
        w = self.starts[tid - self.first_id]
        if k in COMPOSITE_KINDS:
            limit = 8 * t.size
            for n, m in enumerate(t.members):
                end = m.bit_offset + (m.bit_size or 8 * self.byte_size(m.type))
                if end > limit:
                    raise self.error(
                        tid,
                        w + 5 + 3 * n,
                        f"member '{m.name}' of {k.name} '{t.name}' ends at bit {end}, beyond its {t.size} bytes",
                    )
        elif k == Kind.FUNC:
            if self.kind_no(t.ref) != Kind.FUNC_PROTO:
                raise self.error(tid, w + 2, f"FUNC '{t.name}' refers to [{t.ref}], which is not a FUNC_PROTO")
        elif k == Kind.DATASEC:
            for n, v in enumerate(t.vars):
                if self.kind_no(v.type) not in (Kind.VAR, Kind.FUNC):  # FUNC: extern kfuncs in .ksyms
                    raise self.error(tid, w + 3 + 3 * n, f"DATASEC entry [{v.type}] is not a VAR or FUNC")
        elif k == Kind.DECL_TAG:
            target = self.decoded(t.ref)
            if t.component_idx >= 0:
                if target.kind in COMPOSITE_KINDS:
                    limit = len(target.members)
                elif target.kind == Kind.FUNC:
                    limit = len(self.decoded(target.ref).params)
                else:
                    limit = 0
                if t.component_idx >= limit:
                    raise self.error(
                        tid, w + 3, f"DECL_TAG component_idx {t.component_idx} is out of range for [{t.ref}]"
                    )

    def proven(self) -> tuple[bytes, bytes, bytes, bytes, bytes]:
        """What the lazy checks have proven of this blob so far: per cycle rule, which ids are fully
        walked and their heights, and which ids passed every check. A later parse of the same bytes by
        the same code restores it with `restore_proven` and checks only what is new."""
        (c0, c1), (h0, h1) = self._colors, self._heights
        return bytes(c0), bytes(c1), h0.tobytes(), h1.tobytes(), bytes(self._checked)

    def restore_proven(self, state: tuple[bytes, ...]) -> bool:
        """Take over `proven()` of an earlier parse of these same bytes; False (and no change) if it does not fit."""
        n = len(self.starts)
        if len(state) != 5:
            return False
        c0, c1, h0, h1, checked = state
        if any(len(x) != n for x in (c0, c1, checked)) or len(h0) != 4 * n or len(h1) != 4 * n:
            return False
        if _GREY in c0 or _GREY in c1:
            return False
        self._colors = (bytearray(c0), bytearray(c1))
        self._heights = (_unpacked(h0), _unpacked(h1))
        self._checked = bytearray(checked)
        return True

    def validate_all(self) -> None:
        """Decode and check every id (base included); the first problem raises AbiguardError.

        Same checks as on access, in bulk: cycles by topological sort (Kahn) instead of per-id walks.
        """
        if self._all_valid:
            return
        if self.base is not None:
            self.base.validate_all()
        with gc_paused():
            self._validate_own()
        self._checked = bytearray(b"\x01" * len(self.starts))
        self._all_valid = True

    def check_links(self) -> None:
        """Check every link of the file on the raw words: each named type id exists, and no cycle C cannot
        express (nor nesting deeper than MAX_DEPTH). Cheap (no decoding), so every command runs it at parse
        time; a failure is reported as decoding or walking the culprit reports it. Skipped when an earlier
        parse of these same bytes proved every id under both rules (`restore_proven`)."""
        if self._links_proven:
            return
        n = len(self.starts)
        rules = [rule for rule in (0, 1) if self._colors[rule].count(_BLACK) != n]
        if rules:
            below = self.base.all_heights() if self.base is not None else ([0], [0])
            with gc_paused():
                try:
                    heights = link_heights(self.raw_links(), self.first_id, below, MAX_DEPTH)
                except LinkFault as fault:
                    raise self._named(fault) from None
            for rule in rules:
                self._heights[rule][:] = _array(heights[rule])
                self._colors[rule][:] = bytes([_BLACK]) * n
        self._links_proven = True

    def all_heights(self) -> tuple[list[int], list[int]]:
        """Each rule's heights of every id, void's (0) and the base's included; checks the links first."""
        if self._all_heights is None:
            self.check_links()
            below = self.base.all_heights() if self.base is not None else ([0], [0])
            self._all_heights = (below[0] + self._heights[0].tolist(), below[1] + self._heights[1].tolist())
        return self._all_heights

    def raw_links(self) -> RawLinks:
        """The type ids every own record names, read from the raw words (kept: `users` inverts them)."""
        if self._links is None:
            self._links = raw_links(self.words, self.starts)
        return self._links

    def _named(self, fault: LinkFault) -> AbiguardError:
        """The error for a fault the raw pass found, worded as decoding or walking the culprit words it."""
        tid, local, rule = fault.tid, fault.tid - self.first_id, fault.rule
        if fault.what == "deep":
            return self._depth_error(tid, rule)
        if fault.what == "missing":
            self.decoded(tid)  # raises, naming the field and the id
            return self.error(tid, self.starts[local], f"names a type id beyond the last id {self.count - 1}")
        self._walk(tid, rule)  # raises, naming the cycle
        return self.error(tid, self.starts[local], "lies on a reference cycle")

    def _validate_own(self) -> None:
        first, count = self.first_id, self.count
        decoded = [self.decoded(tid) for tid in range(first, count)]
        self.check_links()
        for local, t in enumerate(decoded):
            if self._ready[local] is None:
                self._check_targets(first + local, t)
                self._ready[local] = t

    # --- names ------------------------------------------------------------------------
    def ids_named(self, name: str) -> list[int]:
        """Ids (base included) whose record carries `name`, ascending; cheap for a handful of names."""
        return self.names.ids_named(name)

    def enums_naming(self, enumerator: str) -> list[int]:
        """Ids (base included) of the enums with an enumerator called `enumerator`, ascending."""
        return self.names.enums_naming(enumerator)


def _array(values: list[int]) -> array:
    return array("I", values)


def _unpacked(data: bytes) -> array:
    words = array("I")
    words.frombytes(data)
    return words
