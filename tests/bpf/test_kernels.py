"""--kernel sources: files, directories, BTFHub-style .btf.tar.xz archives, split BTF on --base, the cache."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

from . import test_relocate as progs
from .conftest import relos, require_tool, run_core


def _kernels(kernel_btf) -> tuple[Path, Path]:
    old = kernel_btf(progs.S390_OLD, progs.S390_USES, name="kold", raw=True)
    new = kernel_btf(progs.S390_NEW, progs.S390_NEW_USES, name="knew", raw=True)
    return old, new


def _btfhub_tree(tmp_path: Path, old: Path, new: Path) -> Path:
    """<distro>/<release>/<arch>/<uname -r>.btf.tar.xz, one BTF per archive, as BTFHub ships them."""
    root = tmp_path / "btfhub"
    for release, src in (("20.04", old), ("22.04", new)):
        d = root / "ubuntu" / release / "s390x"
        d.mkdir(parents=True)
        uname = f"5.{release[:2]}.0-generic"
        with tarfile.open(d / f"{uname}.btf.tar.xz", "w:xz") as tar:
            tar.add(src, arcname=f"{uname}.btf")
    return root


def _matrix(out: str) -> dict[str, bool]:
    return {c["kernel"]: c["ok"] for c in json.loads(out)["matrix"]}


def test_directory_of_archives_and_the_cache(bpf_prog, kernel_btf, tmp_path):
    obj = bpf_prog(progs.V2_PROG)
    old, new = _kernels(kernel_btf)
    hub = _btfhub_tree(tmp_path, old, new)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    rc, out, err = run_core(obj, "--kernel", hub, "--format", "json", env=env)
    assert rc == 1, err
    first = _matrix(out)
    names = sorted(Path(k.split(":")[0]).name for k in first)
    assert names == ["5.20.0-generic.btf.tar.xz", "5.22.0-generic.btf.tar.xz"]
    assert [ok for _, ok in sorted(first.items())] == [False, True]
    cache = tmp_path / "cache" / "abiguard" / "core"
    entries = sorted(p.name.split("-")[0] for p in cache.iterdir())
    assert entries == ["btf", "btf", "idx", "idx", "res", "res", "tar", "tar"]
    # a cached run answers the same; so does one after every entry was corrupted
    rc2, out2, _ = run_core(obj, "--kernel", hub, "--format", "json", env=env)
    assert (rc2, out2) == (rc, out)
    for p in cache.iterdir():
        p.write_bytes(b"garbage")
    rc3, out3, err3 = run_core(obj, "--kernel", hub, "--format", "json", env=env)
    assert (rc3, out3) == (rc, out), err3
    # a kernel entry gone while its archive manifest stays: read the archive again
    for p in cache.iterdir():
        if p.name.startswith("btf-"):
            p.unlink()
    rc4, out4, _ = run_core(obj, "--kernel", hub, "--format", "json", env=env)
    assert (rc4, out4) == (rc, out)


def test_elf_raw_and_directory_sources_agree(bpf_prog, kernel_btf, tmp_path):
    obj = bpf_prog(progs.FLAVOR_PROG % progs.UNGUARDED_S390)
    old_elf = kernel_btf(progs.S390_OLD, progs.S390_USES, name="eold")
    old_raw, new_raw = _kernels(kernel_btf)
    d = tmp_path / "dir"
    d.mkdir()
    (d / "a.btf").write_bytes(old_raw.read_bytes())
    (d / "b.btf").write_bytes(new_raw.read_bytes())
    (d / "README").write_text("not a kernel")
    rc, out, _ = run_core(obj, "--kernel", old_elf, "--kernel", d, "--format", "json", "--no-cache")
    assert rc == 1
    assert _matrix(out) == {str(old_elf): False, str(d / "a.btf"): False, str(d / "b.btf"): True}


def test_module_split_btf_on_base(bpf_prog, kernel_btf, compile_c, tmp_path):
    """Candidates come from vmlinux (base) first; module types only when the base has none."""
    pahole = require_tool("pahole")
    base = kernel_btf(
        "struct conf___a { int flags; long val; };\nstruct task { int pid; };", ["struct conf___a", "struct task"],
        name="base", raw=True,
    )
    mod_src = tmp_path / "mod.c"
    mod_src.write_text("struct conf___b { long pad; int flags; long val; };\nstruct modonly { long x; int y; };\n"
                       "struct conf___b *m1; struct modonly *m2;\n")
    mod_obj = tmp_path / "mod.o"
    subprocess.run([require_tool("gcc"), "-g", "-c", str(mod_src), "-o", str(mod_obj)], check=True)
    mod = tmp_path / "mod.btf"
    subprocess.run([pahole, f"--btf_base={base}", f"--btf_encode_detached={mod}", str(mod_obj)], check=True,
                   capture_output=True)
    obj = bpf_prog("""
struct conf { long val; } __attribute__((preserve_access_index));
struct modonly { int y; } __attribute__((preserve_access_index));
SEC("kprobe/x")
int f(struct conf *c)
{
    bpf_printk("%ld %d", c->val, ((struct modonly *)c)->y);
    return 0;
}
""")
    rc, out, err = run_core(obj, "--kernel", mod, "--base", base, "--format", "json", "--verbose", "--no-cache")
    assert rc == 0, out + err
    got = {r["local_type"]: r for r in relos(json.loads(out))}
    assert got["struct conf"]["candidates"] == [got["struct conf"]["candidates"][0]]  # base only: no ambiguity
    assert "conf___a" in got["struct conf"]["target"]
    assert got["struct modonly"]["status"] == "ok" and "modonly.y" in got["struct modonly"]["target"]
    # without the module only the base is searched
    rc, out, _ = run_core(obj, "--kernel", base, "--format", "json", "--no-cache")
    assert rc == 1


def test_missing_and_bad_kernel_sources(bpf_prog, tmp_path):
    obj = bpf_prog(progs.V2_PROG)
    rc, _, err = run_core(obj, "--kernel", tmp_path / "nope")
    assert rc == 2 and "no such file or directory" in err
    bad = tmp_path / "bad.btf.tar.xz"
    bad.write_bytes(b"\xfd7zXZ\x00garbage")
    rc, _, err = run_core(obj, "--kernel", bad, "--no-cache")
    assert rc == 2 and err.count("\n") == 1 and "cannot read archive" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, _, err = run_core(obj, "--kernel", empty)
    assert rc == 2 and "holds no BTF" in err
    trunc = tmp_path / "trunc.btf"
    trunc.write_bytes(b"\x9f\xeb\x01\x00\x18\x00\x00\x00")
    rc, _, err = run_core(obj, "--kernel", trunc, "--no-cache")
    assert rc == 2 and err.startswith(f"abiguard: error: {trunc}") and err.count("\n") == 1
