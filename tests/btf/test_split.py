"""Split BTF: ids and string offsets continue after the base, as in libbpf (module BTF on vmlinux)."""

from __future__ import annotations

from pathlib import Path

import pytest

from abiguard.errors import AbiguardError
from abiguard.model import Kind
from abiguard.sources import SourceOptions, load_source
from abiguard.sources.btf.reader import btf_from_elf, read_btf, read_btf_file

from .bpftool_raw import assert_same_as_bpftool, bpftool_raw
from .btfwriter import BtfWriter
from .conftest import ALL_KINDS_C

SYS_BTF = Path("/sys/kernel/btf")


def _module_btf() -> Path:
    modules = sorted(p for p in SYS_BTF.glob("*") if p.name != "vmlinux") if SYS_BTF.is_dir() else []
    if not (SYS_BTF / "vmlinux").exists() or not modules:
        pytest.skip("this kernel exposes no module BTF under /sys/kernel/btf")
    return modules[0]


def test_kernel_module_btf_matches_bpftool(bpftool: str) -> None:
    module = _module_btf()
    base = read_btf_file(SYS_BTF / "vmlinux")
    split = read_btf(module, base=base)
    split.validate_all()
    assert_same_as_bpftool(split.graph, bpftool_raw(bpftool, module, base=SYS_BTF / "vmlinux"), first_id=len(base))


def _split_on(base_path: Path, tmp_path: Path, endian: str = "little") -> tuple[Path, dict[str, int]]:
    """A hand-built split blob whose types point into the base and reuse base strings."""
    base = read_btf(base_path)
    g = base.graph
    w = BtfWriter(endian=endian, first_id=len(g), str_base=len(base.strings))
    int_id = g.ids_named("int")[0]
    ids = {}
    ids["ptr"] = w.ptr(g.resolve("struct outer"))
    ids["mod_s"] = w.struct(
        "mod_s", 24, [("x", int_id, 0, 0), ("flags", int_id, 32, 3), ("outer", ids["ptr"], 64, 0), ("", int_id, 128, 0)]
    )
    # A name that lives only in the base string section (offsets below the base's length resolve there).
    ids["td"] = w.typedef(base.strings.index(b"cvi_t\0"), ids["mod_s"])
    ids["e64"] = w.enum64("mod_e", 8, [("NEG", -2), ("HUGE", 1 << 62)], signed=True)
    ids["arr"] = w.array(ids["td"], g.ids_named("__ARRAY_SIZE_TYPE__")[0], 4)
    ids["tag"] = w.decl_tag("mod_tag", ids["mod_s"], 1)
    path = tmp_path / "split.btf"
    path.write_bytes(w.build())
    return path, ids


@pytest.mark.parametrize("target", ["bpf", "bpfeb"])
def test_split_on_compiled_base_matches_bpftool(compile_c, tmp_path: Path, bpftool: str, target: str) -> None:
    obj = compile_c(ALL_KINDS_C, target=target, name=f"base_{target}")
    base_path = tmp_path / "base.btf"
    base_path.write_bytes(btf_from_elf(obj))
    endian = "big" if target == "bpfeb" else "little"
    split_path, ids = _split_on(base_path, tmp_path, endian)
    base = read_btf_file(base_path)
    split = read_btf(split_path, base=base)
    split.validate_all()
    g = split.graph
    assert_same_as_bpftool(g, bpftool_raw(bpftool, split_path, base=base_path), first_id=len(base))
    # Ids continue after the base; base ids read through the split graph are the base's types.
    assert ids["ptr"] == len(base)
    assert g[g[ids["ptr"]].ref].name == "outer" and g[g.ids_named("int")[0]] == base[base.ids_named("int")[0]]
    assert g[ids["td"]].name == "cvi_t" and g.ids_named("cvi_t") == [base.resolve("cvi_t"), ids["td"]]
    assert g.ids_named("mod_s") == [ids["mod_s"]]
    assert [e.value for e in g[ids["e64"]].enumerators] == [-2, 1 << 62]
    assert g[ids["mod_s"]].members[1].bit_size == 3
    assert g.size_of(ids["arr"]) == 4 * 24
    assert split.strings.startswith(read_btf(base_path).strings)
    base_len = len(read_btf(base_path).strings)
    assert split.string_at(split.strings.index(b"mod_s\0", base_len)) == "mod_s"
    assert g.target == base.target  # split BTF is for the arch of its base


def test_split_through_load_source(compile_c, tmp_path: Path) -> None:
    obj = compile_c(ALL_KINDS_C, name="base_ls")
    base_path = tmp_path / "base.btf"
    base_path.write_bytes(btf_from_elf(obj))
    split_path, ids = _split_on(base_path, tmp_path)
    (graph,) = load_source(str(split_path), [], SourceOptions(base=base_path))
    assert graph[ids["mod_s"]].kind == Kind.STRUCT
    assert graph.resolve("struct mod_s") == ids["mod_s"]


def test_split_without_its_base_is_a_clean_error(compile_c, tmp_path: Path) -> None:
    obj = compile_c(ALL_KINDS_C, name="base_nb")
    base_path = tmp_path / "base.btf"
    base_path.write_bytes(btf_from_elf(obj))
    split_path, _ = _split_on(base_path, tmp_path)
    with pytest.raises(AbiguardError) as err:
        read_btf(split_path).validate_all()
    assert str(split_path) in str(err.value) and "byte " in str(err.value)


def test_split_on_wrong_base_is_a_clean_error(compile_c, tmp_path: Path) -> None:
    """A split blob whose ids go beyond a smaller base: out-of-range ids, named with file and offset."""
    big = tmp_path / "big.btf"
    big.write_bytes(btf_from_elf(compile_c(ALL_KINDS_C, name="big")))
    split_path, _ = _split_on(big, tmp_path)
    small = tmp_path / "small.btf"
    small.write_bytes(
        btf_from_elf(compile_c("struct outer { int a; } o; int x; typedef int cvi_t; cvi_t y;", name="sm"))
    )
    with pytest.raises(AbiguardError) as err:
        read_btf(split_path, base=read_btf_file(small)).validate_all()
    assert str(split_path) in str(err.value) and "byte " in str(err.value)
