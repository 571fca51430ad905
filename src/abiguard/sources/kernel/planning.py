"""Which installed headers are parsed as roots, and which of them can share a translation unit."""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .install import InstalledHeaders

CHUNK = 150  # headers per TU: big enough to share the common headers' parse, small enough to spread

_DIRECTIVES = re.compile(r"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif|include)\b[ \t]*([<\"]?[^>\"\n]*)", re.M)
# After an `#ifndef X` line: blank lines, then `#define X` -- the include-guard idiom.
_DEFINE_NEXT = re.compile(r"[^\n]*\n(?:[ \t]*\n)*[ \t]*#[ \t]*define[ \t]+(\w+)")
_INCLUDE_ANY = re.compile(r"^[ \t]*#[ \t]*include[ \t]*([<\"][^>\"\n]+)[>\"]", re.M)
# A static inline function definition's name: two headers defining one cannot share a TU.
_INLINE_FUNCTION = re.compile(
    r"^[ \t]*static[ \t]+(?:__always_inline|__inline__|__inline|inline)\b[^;{=()]*?\b(\w+)[ \t]*\(", re.M
)


# Memoized (pure, on the text): most headers are the same for every arch of a multi-arch read.
@functools.lru_cache(maxsize=8192)
def unconditional_includes(text: str) -> tuple[str, ...]:
    """The #include names (`<x.h` or `"x.h`) outside any #if block (an include guard is not one).

    Includes under a condition (`#else /* BSD */ #include <sys/ioccom.h>`) are usually not taken on
    Linux; should one be, the chunk fails and the failing header is split off then."""
    out: list[str] = []
    guards: list[bool] = []  # per open conditional: is it an include guard?
    for m in _DIRECTIVES.finditer(text):
        word, arg = m.group(1), m.group(2).strip()
        if word == "include":
            if all(guards):
                out.append(arg)  # with its opening < or ", which decides where it is looked up
        elif word.startswith("if"):
            symbol = arg.split()[0] if word == "ifndef" and arg else ""
            define = _DEFINE_NEXT.match(text, m.end())
            guards.append(bool(symbol) and define is not None and define.group(1) == symbol)
        elif word == "endif":
            if guards:
                guards.pop()
        elif guards:
            guards[-1] = False  # an #else/#elif branch is a real condition
    return tuple(out)


def risky_headers(installed: Mapping[str, str], available: Callable[[str], bool]) -> dict[str, str]:
    """Headers that (transitively, outside #if blocks) include something neither installed nor
    available, so they cannot compile here. Value: the missing name."""
    direct = {h: unconditional_includes(text) for h, text in installed.items()}
    memo: dict[str, str] = {}

    def missing(h: str, stack: set[str]) -> str:
        if h in memo:
            return memo[h]
        found = ""
        for spelled in direct.get(h, ()):
            inc = _resolve(spelled, h, installed)
            if inc in installed:
                if inc not in stack:
                    found = missing(inc, stack | {inc})
            elif not available(inc):
                found = inc
            if found:
                break
        memo[h] = found
        return found

    return {h: m for h in sorted(installed) if (m := missing(h, {h}))}


def variant_headers(installed: Mapping[str, str], selectors: Iterable[str]) -> set[str]:
    """Headers an #if in one of `selectors` picks between (asm/unistd_32.h vs _64.h ...): each serves
    one ABI, so they are reached through the header that selects, never parsed as roots.

    Two shapes: one #if/#elif/#else chain with at most one include per branch, all of one directory (x86);
    or separate #if blocks including `<stem>_*.h` / `<stem>-*.h` of the selector `<stem>.h` (mips's
    unistd_o32.h, _n32.h, _n64.h under `#if _MIPS_SIM == ...`)."""
    variants: set[str] = set()
    for name in selectors:
        variants.update(h for h in _selected(name, installed[name]) if h in installed)
    return variants


@functools.lru_cache(maxsize=8192)
def _selected(name: str, text: str) -> frozenset[str]:
    """The headers header `name` picks between under #if (see variant_headers), installed or not."""
    if text.count("include") < 2:
        return frozenset()
    picked: set[str] = set()
    guarded = include_guard(text) is not None
    chains: list[list[set[str]]] = []
    conditional: set[str] = set()  # included under an #if that is not the include guard
    for m in _DIRECTIVES.finditer(text):
        word = m.group(1)
        if word == "include":
            if chains:
                chains[-1][-1].add(m.group(2).lstrip('<"'))
                if len(chains) > 1 or not guarded:
                    conditional.add(m.group(2).lstrip('<"'))
        elif word.startswith("if"):
            chains.append([set()])
        elif word in ("elif", "else"):
            if chains:
                chains[-1].append(set())
        elif chains:
            # A switch: branches each including one different header of one directory, or
            # nothing (mips's `#else #error` when neither endianness macro is set).
            branches = [b for b in chains.pop() if b]
            picks = {next(iter(b)) for b in branches if len(b) == 1}
            if (
                len(branches) >= 2
                and all(len(b) == 1 for b in branches)
                and len(picks) == len(branches)
                and len({h.rsplit("/", 1)[0] for h in picks}) == 1
            ):
                picked.update(picks)
    stem = name.removesuffix(".h")
    siblings = {h for h in conditional if h.startswith((stem + "_", stem + "-"))}
    if len(siblings) >= 2:
        picked.update(siblings)
    return frozenset(picked)


def include_guard(text: str) -> str | None:
    """The include-guard macro of a header (`#ifndef X` then `#define X` as its first directive)."""
    m = _DIRECTIVES.search(text)
    if m is None or m.group(1) != "ifndef":
        return None
    symbol = m.group(2).split()[0] if m.group(2).split() else ""
    define = _DEFINE_NEXT.match(text, m.end())
    return symbol if symbol and define is not None and define.group(1) == symbol else None


@functools.lru_cache(maxsize=8192)
def _all_includes(text: str) -> tuple[str, ...]:
    """Every #include of `text` as spelled (`<x.h` or `"x.h`), under #if or not."""
    return tuple(_INCLUDE_ANY.findall(text))


def _resolve(spelled: str, including: str, installed: Mapping[str, str]) -> str:
    """The installed name an include (`<x.h` or `"x.h`, as spelled) reaches from `including`."""
    # "x.h" is looked up beside the including header first, <x.h> on the include path only.
    name = spelled[1:]
    local = posixpath.normpath(posixpath.join(posixpath.dirname(including), name))
    return local if spelled.startswith('"') and local in installed else name


def _closures(installed: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Every installed header with the installed headers it includes outside #if blocks, transitively."""
    direct = {h: [inc for s in unconditional_includes(text) if (inc := _resolve(s, h, installed)) in installed]
              for h, text in installed.items()}
    done: dict[str, frozenset[str]] = {}
    for top in sorted(installed):
        if top in done:
            continue
        reach: set[str] = set()
        todo = [top]
        while todo:
            h = todo.pop()
            if h in reach:
                continue
            reach.add(h)
            if h in done:
                reach |= done[h]
            else:
                todo.extend(direct[h])
        done[top] = frozenset(reach)
    return done


@functools.lru_cache(maxsize=8192)
def clash_keys(name: str, text: str) -> frozenset[str]:
    """Names a header defines that a different header may define too, so that the two would clash in
    one TU: its include guard (ipt_ttl.h / ipt_TTL.h share one), its path ignoring case (netfilter's
    ipt_ECN.h target and ipt_ecn.h match define the same constants), and its static inline
    functions (linux/byteorder/big_endian.h and little_endian.h)."""
    keys = {f"path:{name.lower()}"}
    guard = include_guard(text)
    if guard is not None:
        keys.add(f"guard:{guard}")
    keys.update(f"inline:{fn}" for fn in _INLINE_FUNCTION.findall(text))
    return frozenset(keys)


def libc_includes(installed: Mapping[str, str], roots: Iterable[str], from_libc: Callable[[str], bool],
                  closure: Mapping[str, frozenset[str]] | None = None) -> dict[str, frozenset[str]]:
    """Per root that needs the libc: the libc headers (names `from_libc` accepts, not installed) that
    it and the installed headers it includes include outside #if blocks."""
    closure = closure if closure is not None else _closures(installed)
    direct: dict[str, frozenset[str]] = {}
    out: dict[str, frozenset[str]] = {}
    for r in roots:
        names: set[str] = set()
        for h in closure.get(r, {r}):
            if h not in direct:
                direct[h] = frozenset(inc for s in unconditional_includes(installed.get(h, ""))
                                      if (inc := _resolve(s, h, installed)) not in installed and from_libc(inc))
            names |= direct[h]
        if names:
            out[r] = frozenset(names)
    return out


def plan_chunks(installed: Mapping[str, str], roots: Iterable[str], available: Callable[[str], bool],
                closure: Mapping[str, frozenset[str]] | None = None,
                libc: Mapping[str, frozenset[str]] | None = None) -> list[tuple[str, ...]]:
    """TU header lists: headers grouped by top directory (linux/, asm/, drm/ ...) in sorted chunks of
    at most CHUNK, so neighbours, which tend to include the same headers, share a parse.

    A header that would clash with another (see clash_keys) through what it includes, or that
    includes a header nobody provides under some #if, gets a TU of its own: a failed chunk costs a
    parse of it and of its parts again.

    Headers that include libc headers (`libc`: root -> those names) are grouped by that set, after
    the others: a TU then brings in the same libc declarations before any UAPI header that has to
    step aside for them (linux/libc-compat.h only knows that order), as each of its headers alone
    would, and libc and UAPI definitions of one name (struct timeval) never meet in one TU unless
    one header alone meets them too. The chunks before them record the UAPI headers both reach."""
    closure = closure if closure is not None else _closures(installed)
    libc = libc or {}
    keys = {h: clash_keys(h, text) for h, text in installed.items()}
    owner: dict[str, str] = {}  # clash key -> the header that defined it first
    alone: list[str] = []
    by_dir: dict[str, list[str]] = {}
    by_libc: dict[tuple[str, ...], list[str]] = {}
    for r in sorted(roots):
        defined = [(k, h) for h in sorted(closure.get(r, {r})) for k in keys.get(h, ())]
        # The header's own #if branches may include what nobody provides (a.out.h: <unistd.h>); the
        # headers it includes are compiled alone by the kernel too, so theirs are taken on Linux.
        unavailable = any(
            inc not in installed and not available(inc)
            for inc in (_resolve(s, r, installed) for s in _all_includes(installed.get(r, "")))
        )
        if unavailable or any(owner.get(k, h) != h for k, h in defined):
            alone.append(r)
            continue
        for k, h in defined:
            owner.setdefault(k, h)
        if r in libc:
            by_libc.setdefault(tuple(sorted(libc[r])), []).append(r)
        else:
            by_dir.setdefault(r.split("/", 1)[0], []).append(r)
    chunks: list[tuple[str, ...]] = []
    for group in [by_dir[d] for d in sorted(by_dir)] + [by_libc[k] for k in sorted(by_libc)]:
        n = max(1, -(-len(group) // CHUNK))
        size = -(-len(group) // n)
        chunks += [tuple(group[i : i + size]) for i in range(0, len(group), size)]
    return chunks + [(r,) for r in alone]


@dataclass(frozen=True)
class HeaderPlan:
    """How one arch's installed headers are parsed: the TUs, and the headers left out with why.

    `skips[i]`: headers TU i surely includes whose own declarations another TU records, so TU i
    only takes from them the types its own headers use (a struct member's type, say). Every header
    is recorded whole by exactly one TU that surely includes it: merged, the arch's types are the
    same, and the common headers (linux/types.h ...) are not rebuilt in every TU.
    """

    chunks: tuple[tuple[str, ...], ...]
    failures: tuple[tuple[str, str], ...]  # (header, `<missing libc header>`)
    skips: tuple[frozenset[str], ...]
    libc_roots: frozenset[str] = frozenset()  # headers parsed with libc headers they include


def plan_headers(installed: InstalledHeaders, available: Callable[[str], bool],
                 from_libc: Callable[[str], bool] | None = None) -> HeaderPlan:
    """The TUs for every header the kernel compiles on its own, minus variants and uncompilable ones.

    `available`: include names found outside the UAPI (our freestanding headers, -I dirs);
    `from_libc`: names the target's libc headers provide, None when there are none."""
    headers = installed.headers
    candidates = [h for h in headers if h not in installed.no_test]
    variants = variant_headers(headers, candidates)
    libc_only = from_libc or (lambda _name: False)

    def found(name: str) -> bool:
        return available(name) or libc_only(name)

    risky = risky_headers(headers, found)
    # A header whose unconditional includes reach a header nobody provides (<sys/socket.h> without
    # a libc) cannot compile: said so without paying for a parse (they all failed when parsed: tested).
    failures = tuple((h, f"<{risky[h]}>") for h in candidates if h in risky and h not in variants)
    roots = [h for h in candidates if h not in variants and h not in risky]
    closure = _closures(headers)
    wanted = lambda name: not available(name) and libc_only(name)  # noqa: E731
    libc = libc_includes(headers, roots, wanted, closure)
    # A header including libc ones only under #if (linux/a.out.h: <unistd.h>) goes with the others
    # that need the libc too, so the TUs without libc headers stay without.
    libc.update({r: frozenset() for r in roots if r not in libc and any(
        (inc := _resolve(s, r, headers)) not in headers and wanted(inc) for s in _all_includes(headers[r]))})
    chunks = tuple(plan_chunks(headers, roots, found, closure, libc))
    return HeaderPlan(chunks, failures, owners(headers, chunks, closure), frozenset(libc))


def owners(installed: Mapping[str, str], chunks: Sequence[tuple[str, ...]],
           closure: Mapping[str, frozenset[str]] | None = None) -> tuple[frozenset[str], ...]:
    """Per chunk, the headers it surely includes (outside #if blocks) that an earlier chunk also
    surely includes: the earlier one records them."""
    closure = closure if closure is not None else _closures(installed)
    owned: set[str] = set()
    skips = []
    for chunk in chunks:
        reach = set().union(*(closure.get(r, {r}) for r in chunk))
        skips.append(frozenset(reach & owned))
        owned |= reach
    return tuple(skips)
