"""`make headers_install` for one kernel ARCH, in memory: which headers, and their installed text.

Facts from Linux 6.1: scripts/Makefile.headersinst (what is exported), scripts/Makefile.asm-generic
(asm wrappers), scripts/headers_install.sh (sed rules, unifdef), include/uapi/Kbuild (no-export-headers),
usr/include/Makefile (no-header-test), the arch syscall Makefiles (generated unistd headers).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ...model.graph import Diagnostic
from .syscalls import generate_syscall_headers
from .unifdef import unifdef

UAPI = "include/uapi"

# headers_install.sh's sed program, rule by rule: (needle, pattern, replacement). sed -E works line by
# line, so the patterns run in MULTILINE mode with a space class that never crosses a newline; a rule
# whose needle is absent from the file cannot match and is skipped (most headers need no rule at all).
_S = r"[ \t\r\f\v]"
_SED_RULES: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    (("__user", "__force", "__iomem"), re.compile(rf"({_S}|\()(__user|__force|__iomem){_S}", re.M), r"\1"),
    (("__attribute_const__",), re.compile(rf"__attribute_const__({_S}|$)", re.M), r"\1"),
    (("#include <linux/compiler",), re.compile(r"^#include <linux/compiler(|_types).h>", re.M), ""),
    (("__packed",), re.compile(r"(^|[^a-zA-Z0-9\n])__packed([^a-zA-Z0-9_\n]|$)", re.M), r"\1__attribute__((packed))\2"),
    (("inline", "asm", "volatile"), re.compile(rf"(^|{_S}|\()(inline|asm|volatile)({_S}|\(|$)", re.M), r"\1__\2__\3"),
    (("_UAPI",), re.compile(rf"#(ifndef|define|endif{_S}*/[*]){_S}*_UAPI", re.M), r"#\1 "),
)
_KBUILD_LINE = re.compile(r"^\s*([a-z-]+-y)\s*\+?=\s*(.*?)\s*$")


@dataclass(frozen=True)
class InstalledHeaders:
    """usr/include as headers_install would leave it for one kernel ARCH."""

    karch: str
    headers: Mapping[str, str]  # path under usr/include -> installed text
    origin: Mapping[str, str]  # path under usr/include -> tree path it came from, or "generated: ..."
    no_test: Mapping[str, str] = field(default_factory=dict)  # path -> why it is not compiled on its own
    diagnostics: tuple[Diagnostic, ...] = ()


def sed_install(text: str) -> str:
    """headers_install.sh's sed program, with sed -E's line-by-line semantics."""
    for needles, pattern, repl in _SED_RULES:
        if any(n in text for n in needles):
            text = pattern.sub(repl, text)
    return text


# Memoized: include/uapi is the same for every arch, so a read of several arches pays once per header.
@functools.lru_cache(maxsize=8192)
def install_text(text: str) -> str:
    """One header through headers_install.sh: the sed rules, then unifdef -U__KERNEL__."""
    return unifdef(sed_install(text))


_SPDX = re.compile(r"SPDX-License-Identifier:")


def _spdx_ok(text: str) -> bool:
    """headers_install.sh refuses GPL headers whose SPDX line lacks the syscall note."""
    # Its test is `grep -E '^.*SPDX-License-Identifier:.*GPL-'` on each line, then the note on
    # that line; looking from each tag is the same test without a regex run over every line.
    for m in _SPDX.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.end())
        line = text[start:] if end < 0 else text[start:end]
        if "GPL-" in line[m.end() - start:] and "WITH Linux-syscall-note" not in line:
            return False
    return True


def kbuild_lists(text: str) -> dict[str, list[str]]:
    """`generic-y += x.h` style assignments of a Kbuild file, by variable."""
    lists: dict[str, list[str]] = {}
    for line in text.splitlines():
        m = _KBUILD_LINE.match(line.split("#", 1)[0])
        if m:
            lists.setdefault(m.group(1), []).extend(m.group(2).split())
    return lists


def _make_conditional_lists(text: str, karch: str, exists: set[str], var: str) -> list[str]:
    """Values added to `var` in a makefile, honouring the `ifeq ($(wildcard ...),)` and
    `ifeq ($(SRCARCH),x)` conditionals the kernel uses around them."""
    values: list[str] = []
    active: list[bool] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        m = re.match(r"if(n?)eq\s*\((.*),(.*)\)$", line)
        if m:
            lhs, rhs = m.group(2).strip(), m.group(3).strip()
            w = re.match(r"\$\(wildcard (.*)\)$", lhs)
            if w:
                path = w.group(1).replace("$(SRCARCH)", karch)
                path = re.sub(r"^\$\((srctree|objtree)\)/", "", path)
                lhs = path if path in exists else ""
            lhs = lhs.replace("$(SRCARCH)", karch)
            active.append((lhs == rhs) != bool(m.group(1)))
            continue
        if line == "else" and active:
            active[-1] = not active[-1]
            continue
        if line == "endif" and active:
            active.pop()
            continue
        if all(active):
            a = re.match(rf"{re.escape(var)}\s*\+?=\s*(.*)$", line)
            if a:
                values.extend(a.group(1).split())
    return values


def _makefile_version(makefile: str) -> tuple[int, int, int] | None:
    nums = {}
    for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL"):
        m = re.search(rf"^{key}\s*=\s*(\d*)\s*$", makefile, re.M)
        if m is None:
            return None
        nums[key] = int(m.group(1) or 0)
    return nums["VERSION"], nums["PATCHLEVEL"], nums["SUBLEVEL"]


def version_header(version: tuple[int, int, int]) -> str:
    """include/generated/uapi/linux/version.h as the top Makefile writes it (filechk_version.h)."""
    major, patch, sub = version
    code = major * 65536 + patch * 256 + min(sub, 255)
    return (
        f"#define LINUX_VERSION_CODE {code}\n"
        "#define KERNEL_VERSION(a,b,c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))\n"
        f"#define LINUX_VERSION_MAJOR {major}\n"
        f"#define LINUX_VERSION_PATCHLEVEL {patch}\n"
        f"#define LINUX_VERSION_SUBLEVEL {sub}\n"
    )


def _pattern_match(pattern: str, path: str) -> bool:
    """make's $(filter) with one optional % wildcard."""
    if "%" not in pattern:
        return pattern == path
    head, _, tail = pattern.partition("%")
    return path.startswith(head) and path.endswith(tail) and len(path) >= len(head) + len(tail)


def install_headers(files: Mapping[str, bytes], karch: str) -> InstalledHeaders:
    """usr/include for kernel ARCH `karch` from the tree files (see tree.arch_paths for what is needed)."""
    exists = set(files)
    text = {p: b.decode("utf-8", "surrogateescape") for p, b in files.items() if p.endswith((".h", "Kbuild"))}
    diagnostics: list[Diagnostic] = []
    raw: dict[str, tuple[str, str]] = {}  # installed path -> (source text, origin)

    # arch/<karch>/include/uapi: every *.h in its subdirectories (asm/).
    arch_uapi = f"arch/{karch}/include/uapi"
    arch_src: dict[str, tuple[str, str]] = {}
    for path in sorted(exists):
        if path.startswith(arch_uapi + "/") and path.endswith(".h"):
            rel = path[len(arch_uapi) + 1 :]
            if "/" in rel:
                arch_src[rel] = (text[path], path)
    # arch/<karch>/include/generated/uapi/asm: generic-y wrappers and generated-y headers.
    kbuild_path = f"{arch_uapi}/asm/Kbuild"
    kbuild = kbuild_lists(text.get(kbuild_path, ""))
    mandatory = kbuild_lists(text.get(f"{UAPI}/asm-generic/Kbuild", "")).get("mandatory-y", [])
    generated_y = kbuild.get("generated-y", [])
    generic_y = list(kbuild.get("generic-y", []))
    generic_y += [f for f in mandatory if f not in generated_y and f"asm/{f}" not in arch_src]
    arch_gen: dict[str, tuple[str, str]] = {}
    for name in dict.fromkeys(generic_y):
        stem = name[:-2] if name.endswith(".h") else name
        wrapper = f"#include <asm-generic/{stem}.h>\n"
        arch_gen[f"asm/{name}"] = (wrapper, f"generated: asm-generic wrapper ({kbuild_path})")
    generated, skipped = generate_syscall_headers(files, karch)
    for name in generated_y:
        if name in generated:
            arch_gen[f"asm/{name}"] = generated[name]
        else:
            reason = skipped.get(name, "no generator known for it")
            diagnostics.append(Diagnostic(f"{kbuild_path}", f"generated header asm/{name} skipped: {reason}"))
    # include/uapi: every *.h in its subdirectories, minus no-export-headers.
    # Its Kbuild tests for arch files in the source and in the generated dir (asm-generic wrappers).
    exists |= {f"arch/{karch}/include/generated/uapi/{rel}" for rel in arch_gen}
    no_export = set(_make_conditional_lists(text.get(f"{UAPI}/Kbuild", ""), karch, exists, "no-export-headers"))
    for path in sorted(exists):
        if path.startswith(UAPI + "/") and path.endswith(".h"):
            rel = path[len(UAPI) + 1 :]
            if "/" in rel and rel not in no_export:
                raw[rel] = (text[path], path)
    # include/generated/uapi: linux/version.h from the top Makefile's version numbers.
    version = _makefile_version(files.get("Makefile", b"").decode("utf-8", "replace"))
    if version is not None:
        raw.setdefault("linux/version.h", (version_header(version), "generated: Makefile VERSION"))
    else:
        diagnostics.append(Diagnostic("Makefile", "no VERSION/PATCHLEVEL/SUBLEVEL: linux/version.h not generated"))

    raw.update(arch_gen)
    raw.update(arch_src)  # a source header wins over a generated one of the same name

    headers: dict[str, str] = {}
    origin: dict[str, str] = {}
    for rel in sorted(raw):
        src, where = raw[rel]
        if not _spdx_ok(src):
            diagnostics.append(
                Diagnostic(where, 'missing "WITH Linux-syscall-note" for SPDX-License-Identifier (make would fail)')
            )
        headers[rel] = install_text(src)
        origin[rel] = where

    no_test = _no_header_test(text.get("usr/include/Makefile"), files, karch, headers)
    return InstalledHeaders(karch, headers, origin, no_test, tuple(diagnostics))


def _no_header_test(
    makefile_text: str | None, files: Mapping[str, bytes], karch: str, headers: Mapping[str, str]
) -> dict[str, str]:
    """Headers usr/include/Makefile excludes from its userspace compile test, with the reason."""
    if makefile_text is None:
        makefile_text = files.get("usr/include/Makefile", b"").decode("utf-8", "replace")
    patterns = _make_conditional_lists(makefile_text, karch, set(files), "no-header-test")
    out: dict[str, str] = {}
    for rel in headers:
        for pat in patterns:
            if _pattern_match(pat, rel):
                out[rel] = (
                    "included by asm/ headers only, never on its own"
                    if pat.startswith("asm-generic/")
                    else "usr/include/Makefile lists it in no-header-test: it does not compile in userspace"
                )
                break
    return out
