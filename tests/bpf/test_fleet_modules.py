"""Fleet indexes carry the modules of kernel packages: where a check needs a module (a kfunc, an attach
target or a CO-RE type defined in one), `core --fleet` answers what `core --kernel PKG.deb` answers.

Real Debian packages from the test cache (scripts/kernels.sh); skipped when none is cached.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from abiguard.bpf.fleet.format import VERSION

from .conftest import run_core
from .test_fleet import KERNEL_PACKAGES, abiguard, build, same_answers
from .test_modules import MODULE_PROG, MODULE_PROGS


@pytest.fixture
def module_objects(bpf_prog) -> list[Path]:
    return [bpf_prog(body, name=name) for name, body in MODULE_PROGS.items()]


def amd64_packages() -> list[Path]:
    found = sorted(KERNEL_PACKAGES.glob("linux-image-*-amd64-unsigned_*_amd64.deb"))
    if not found:
        pytest.skip(f"no amd64 kernel packages in {KERNEL_PACKAGES} (run scripts/kernels.sh)")
    return found[:2]


def test_fleet_answers_module_checks_as_packages_do(module_objects, tmp_path):
    packages = amd64_packages()
    serial = build(tmp_path / "serial.fleet", *packages)
    same_answers(module_objects, packages, serial, cache=True)
    rc, out, err = run_core(*module_objects, "--fleet", serial, "--format", "json", "--verbose")
    assert rc == 1, err
    doc = json.loads(out)
    for cell in doc["matrix"]:
        load = {(f["check"], f["subject"]): f["outcome"] for f in cell["load"]}
        name = Path(cell["object"]).stem
        if name == "conntrack":  # found in nf_conntrack: kfuncs not provable (no tags), its function has 5 args
            assert load == {("kfunc", "bpf_xdp_ct_lookup"): "unknown", ("kfunc", "bpf_ct_release"): "unknown",
                            ("attach target", "nf_ct_get_tuplepr()"): "fails"}, load
        else:  # nf_tables' struct nft_ctx and nft_do_chain; act_ct's nf_conntrack_helper, auth_rpcgss' gss_wrap
            assert load == {}, (name, load)
            assert [r["status"] for r in cell["relocations"]] == ["ok"], cell["relocations"]
    info = json.loads(abiguard("fleet", "info", serial, "--format", "json").stdout)
    assert all(k["modules"] == "all" and k["module_btf_bytes"] > 0 for k in info["kernels"])
    # however the work is spread, and whether kernels come at once or by --update: the same bytes
    dask = build(tmp_path / "dask.fleet", *packages, extra=("--workers", "2"))
    assert dask.read_bytes() == serial.read_bytes()
    if len(packages) > 1:
        first = build(tmp_path / "update.fleet", packages[0])
        proc = abiguard("fleet", "build", "--serial", "--update", first, *packages[1:])
        assert proc.returncode == 0, proc.stderr
        assert first.read_bytes() == serial.read_bytes()


def test_an_index_of_the_previous_format_is_a_clean_error(kernel_btf, bpf_prog, tmp_path):
    index = build(tmp_path / "k.fleet", kernel_btf("struct s { int a; };", ["struct s"], name="k"))
    old = tmp_path / "v1.fleet"
    blob = index.read_bytes()
    old.write_bytes(blob[:8] + (1).to_bytes(4, "little") + blob[12:])
    for args in (("core", bpf_prog(MODULE_PROG), "--fleet", old), ("fleet", "info", old)):
        proc = abiguard(*args)
        assert proc.returncode == 2
        assert proc.stderr == (f"abiguard: error: {old}: fleet index format version 1; "
                               f"this abiguard reads version {VERSION}\n")
