"""Real Debian kernel packages (scripts/kernels.sh caches a few; skipped when absent).

Oracles: bpftool reads the BTF we extract and counts the same types; the image's own version
string names the release the package name does; a module's split BTF reads in bpftool on our vmlinux BTF.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard.bpf.run import check_core
from abiguard.sources.btf.reader import parse_btf
from abiguard.sources.shipped import package_module_btfs, read_shipped
from abiguard.sources.shipped.deb import kernel_image
from abiguard.sources.shipped.ident import from_deb_name
from abiguard.sources.shipped.image import btf_from_image

from .test_images import PROG


def _bpftool_types(btf: Path, base: Path | None = None) -> list[str]:
    bpftool = shutil.which("bpftool")
    if bpftool is None:
        pytest.skip("bpftool is not installed (run scripts/setup.sh)")
    cmd = [bpftool, *(["-B", str(base)] if base is not None else []), "btf", "dump", "file", str(btf), "format", "raw"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
    return [line for line in out.splitlines() if line.startswith("[")]


def test_packages_as_shipped(kernel_packages: list[Path], tmp_path: Path):
    for package in kernel_packages:
        data = package.read_bytes()
        named = from_deb_name(package.name)
        member, image = kernel_image(data, str(package))
        assert member == f"boot/vmlinuz-{named.release}"
        own = btf_from_image(image, member)
        # the image's version string names the release of the package name, for the arch of its name
        assert own.identity.release == named.release, package.name
        assert own.target is not None and own.target.name == named.arch, package.name
        found = read_shipped(package, data)
        assert found.btf == own.btf
        assert found.identity == named
        raw = tmp_path / f"{named.release}.btf"
        raw.write_bytes(found.btf)
        graph = parse_btf(found.btf, str(raw), target=found.target).graph
        rows = _bpftool_types(raw)
        assert len(rows) == len(graph) - 1, package.name  # bpftool does not list void
        task = next(r for r in rows if re.match(r"\[\d+\] STRUCT 'task_struct' ", r))
        tid = int(task[1 : task.index("]")])
        assert f"size={graph.size_of(tid)} " in task + " "


def test_core_on_packages_equals_core_on_their_btf(kernel_packages: list[Path], compile_c, tmp_path: Path):
    prog = compile_c(PROG, name="prog")
    raws = []
    for package in kernel_packages:
        raw = tmp_path / package.name.replace(".deb", ".btf")
        raw.write_bytes(read_shipped(package, package.read_bytes()).btf)
        raws.append(raw)
    on_packages = check_core([prog], kernel_packages, use_cache=False)
    on_btf = check_core([prog], raws, use_cache=False)
    assert on_packages.ok and on_btf.ok
    for a, c in zip(on_packages.verdicts, on_btf.verdicts, strict=True):
        assert [(r.relo.insn_off, r.status, r.new_val) for r in a.results] == [
            (r.relo.insn_off, r.status, r.new_val) for r in c.results
        ]
        assert a.results
    assert [i.release for i in on_packages.identities] == [from_deb_name(p.name).release for p in kernel_packages]


def test_module_split_btf_from_a_package(kernel_packages: list[Path], tmp_path: Path):
    package = kernel_packages[0]
    data = package.read_bytes()
    vmlinux = read_shipped(package, data)
    modules = package_module_btfs(package, data)
    assert len(modules) > 100
    assert list(modules) == sorted(modules)
    base_file = tmp_path / "vmlinux.btf"
    base_file.write_bytes(vmlinux.btf)
    base = parse_btf(vmlinux.btf, str(base_file), target=vmlinux.target)
    name = "nf_tables" if "nf_tables" in modules else next(iter(modules))
    mod_file = tmp_path / f"{name}.btf"
    mod_file.write_bytes(modules[name])
    split = parse_btf(modules[name], str(mod_file), base)
    rows = _bpftool_types(mod_file, base_file)
    assert len(rows) == len(split.graph) - len(base.graph)
    if name == "nf_tables":
        assert split.graph.ids_named("nft_ctx")
