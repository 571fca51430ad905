"""Fleet-shaped output: kernels with the same verdict for the same reasons are one group, named compactly."""

from __future__ import annotations

import json

from abiguard.report.fleet import span

from .conftest import run_core
from .test_load import FUNC_IDS_NEW, FUNC_IDS_OLD, HELPER_PROG


def test_span_compresses_one_numeric_run():
    assert span(["6.1.0-47-cloud-amd64", "6.1.0-48-cloud-amd64", "6.1.0-49-cloud-amd64"]) == "6.1.0-47..49-cloud-amd64"
    assert span(["6.1.0-47-cloud-amd64"]) == "6.1.0-47-cloud-amd64"
    # not a run, or two places differ: listed
    assert span(["6.1.0-47-cloud-amd64", "6.1.0-49-cloud-amd64"]) == "6.1.0-47-cloud-amd64, 6.1.0-49-cloud-amd64"
    assert span(["6.1.0-47-cloud-amd64", "6.1.0-48-rt-amd64"]) == "6.1.0-47-cloud-amd64, 6.1.0-48-rt-amd64"
    many = [f"k{i}" for i in (1, 3, 5, 7, 9, 11)]
    assert span(many) == "k1, k3, k5, k7 and 2 more"


def test_kernels_grouped_by_verdict(bpf_prog, kernel_btf):
    obj = bpf_prog(HELPER_PROG)
    olds = [kernel_btf(FUNC_IDS_OLD, ["enum bpf_func_id"], name=f"6.1.0-{n}-cloud-amd64", raw=True)
            for n in (47, 48, 49)]
    new = kernel_btf(FUNC_IDS_NEW, ["enum bpf_func_id"], name="6.12.57+deb12-cloud-amd64", raw=True)
    args = [a for k in [*olds, new] for a in ("--kernel", k)]
    rc, text, err = run_core(obj, *args, "--no-cache")
    assert rc == 1, err
    assert "fails on 6.1.0-47..49-cloud-amd64 (3 kernels, cloud-amd64, x86_64):" in text
    assert "helper bpf_ktime_get_ns (#5): not in this kernel's enum bpf_func_id" in text
    assert text.count("bpf_ktime_get_ns (#5)") == 1  # one group, printed once
    rc, out, _ = run_core(obj, *args, "--no-cache", "--format", "json")
    doc = json.loads(out)
    groups = [(g["status"], g["span"], len(g["kernels"])) for g in doc["groups"]]
    assert groups[0] == ("fails", "6.1.0-47..49-cloud-amd64", 3)
    assert groups[1][1:] == ("6.12.57+deb12-cloud-amd64", 1) and groups[1][0] != "fails"
    assert [k["release"] for k in doc["kernels"]][:1] == ["6.1.0-47-cloud-amd64"]
    rc, md, _ = run_core(obj, *args, "--no-cache", "--format", "markdown")
    assert "| `prog.o` | 6.1.0-47..49-cloud-amd64 (3 kernels, cloud-amd64, x86_64) | **fails** |" in md
