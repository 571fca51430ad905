"""Planning a kernel read: which headers share a TU, and which TU records each header's declarations."""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest

from abiguard.model.target import TARGETS
from abiguard.sources.kernel import load_kernel, planning
from abiguard.sources.kernel.planning import clash_keys, owners, plan_chunks


def test_clashing_headers_get_their_own_tu() -> None:
    installed = {
        "linux/a.h": "#include <linux/common.h>\n",
        "linux/b.h": "#include <linux/common.h>\n",
        "linux/common.h": "#ifndef _COMMON_H\n#define _COMMON_H\n"
                          "static __inline__ int swap(int x) { return x; }\n#endif\n",
        "linux/other_common.h": "static __always_inline int swap(int x) { return -x; }\n",
        "net/ipt_ECN.h": "#define IPT_ECN_IP_MASK 3\n",
        "net/ipt_ecn.h": "enum { IPT_ECN_IP_MASK = 3 };\n",
        "net/bsd.h": "#ifdef __FreeBSD__\n#include <sys/ioccom.h>\n#endif\n",
    }
    chunks = plan_chunks(installed, sorted(installed), lambda name: False)
    # other_common.h: the same inline function as common.h; ipt_ecn.h: ipt_ECN.h but for case;
    # bsd.h: an #if-include nobody provides. Each gets a TU of its own, after the shared ones.
    assert chunks == [("linux/a.h", "linux/b.h", "linux/common.h"), ("net/ipt_ECN.h",), ("linux/other_common.h",),
                      ("net/bsd.h",), ("net/ipt_ecn.h",)]
    assert "inline:swap" in clash_keys("linux/common.h", installed["linux/common.h"])


def test_each_surely_included_header_is_recorded_by_its_first_tu() -> None:
    installed = {
        "a.h": '#include "common.h"\n#ifdef X\n#include "maybe.h"\n#endif\n',
        "b.h": '#include "common.h"\n#include "maybe.h"\n',
        "common.h": "#include <deep.h>\n",
        "deep.h": "",
        "maybe.h": "",
    }
    assert owners(installed, [("a.h",), ("b.h",)]) == (frozenset(), frozenset({"common.h", "deep.h"}))


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["x86_64", "mips"])
def test_recording_each_header_once_keeps_the_merged_graph(linux_source: Path, tmp_path: Path, arch: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """With every TU recording every header (no skips) and with the plan's skips, the arch's merged
    types are the same structures (ids may differ) and the constants and diagnostics are equal.

    Without libc headers: in a TU that includes them first, linux/libc-compat.h turns some of a
    shared header's definitions off (linux/in6.h's struct in6_addr), so there the plan's choice of
    recorder (a TU without libc headers) is what keeps the tree's own view."""
    import abiguard.sources.kernel as kernel

    monkeypatch.setattr(kernel, "libc_for", lambda target, given=(): None)
    spec = f"kernel:{linux_source}"
    target = TARGETS[arch]
    planned = load_kernel(spec, [target], cache_root=tmp_path / "a").graphs[0]
    monkeypatch.setattr(planning, "owners", lambda installed, chunks, closure=None: tuple(frozenset() for _ in chunks))
    everywhere = load_kernel(spec, [target], cache_root=tmp_path / "b").graphs[0]
    assert len(planned) == len(everywhere) > 5000
    assert dict(planned.constants) == dict(everywhere.constants)
    assert planned.diagnostics == everywhere.diagnostics
    assert _shapes(planned) == _shapes(everywhere)


_REF = re.compile(r"\b(ref|type|index_type)=(\d+)")


def _shapes(graph: object) -> collections.Counter[str]:
    """Every type's description with each reference replaced by the referenced type's, 4 levels deep."""
    texts = [repr(graph[i]) for i in range(len(graph))]  # type: ignore[index,arg-type]
    keys = [_REF.sub(r"\1=#", t) for t in texts]
    for _ in range(4):
        keys = [_REF.sub(lambda m, k=keys: f"{m.group(1)}={hash(k[int(m.group(2))])}", t) for t in texts]
    return collections.Counter(keys)
