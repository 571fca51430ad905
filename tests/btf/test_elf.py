"""ELF input: the target each e_machine names, .BTF.base (distilled base), clean errors for odd ELF files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard.errors import AbiguardError
from abiguard.sources.btf.elf import ElfInfo, elf_target
from abiguard.sources.btf.reader import btf_from_elf, elf_section, read_btf, read_btf_file

from .bpftool_raw import assert_same_as_bpftool, bpftool_raw
from .btfwriter import BtfWriter
from .conftest import ALL_KINDS_C

# (e_machine, ELF class, little endian) -> arch, as `readelf -h` of each toolchain's objects says.
MACHINES = [
    (62, 64, True, "x86_64"),
    (3, 32, True, "i386"),
    (183, 64, True, "aarch64"),
    (40, 32, True, "arm"),
    (22, 64, False, "s390x"),
    (21, 64, True, "ppc64le"),
    (21, 64, False, "ppc64"),
    (20, 32, False, "ppc"),
    (243, 64, True, "riscv64"),
    (243, 32, True, "riscv32"),
    (8, 32, False, "mips"),
    (8, 32, True, "mipsel"),
    (8, 64, True, "mips64el"),
    (258, 64, True, "loongarch64"),
    (43, 64, False, "sparc64"),
    (247, 64, True, "bpfel"),
    (247, 64, False, "bpfeb"),
]


@pytest.mark.parametrize(("machine", "elf_class", "little", "arch"), MACHINES, ids=[m[3] for m in MACHINES])
def test_machine_to_target(machine: int, elf_class: int, little: bool, arch: str) -> None:
    target = elf_target(Path("x.o"), ElfInfo(machine, elf_class, little, {}))
    assert target.name == arch
    assert target.big_endian != little


def test_unknown_machine_or_byte_order_is_a_clean_error() -> None:
    with pytest.raises(AbiguardError, match=r"x.o: ELF machine 9999 .* not an architecture abiguard knows"):
        elf_target(Path("x.o"), ElfInfo(9999, 64, True, {}))
    with pytest.raises(AbiguardError, match=r"x.o: ELF byte order does not match x86_64"):
        elf_target(Path("x.o"), ElfInfo(62, 64, False, {}))


def _objcopy() -> str:
    tool = shutil.which("llvm-objcopy") or shutil.which("llvm-objcopy-14")
    if tool is None:
        pytest.skip("llvm-objcopy is not installed")
    return tool


def test_module_with_distilled_base(compile_c, tmp_path: Path, bpftool: str) -> None:
    """An ELF whose .BTF is split on its own .BTF.base (as modules built with a distilled base are)."""
    objcopy = _objcopy()
    obj = compile_c(ALL_KINDS_C, name="distilled")
    base_raw = btf_from_elf(obj)
    base_path = tmp_path / "base.btf"
    base_path.write_bytes(base_raw)
    base = read_btf(base_path)
    w = BtfWriter(first_id=len(base.graph), str_base=len(base.strings))
    ptr = w.ptr(base.graph.resolve("struct outer"))
    w.struct("module_s", 8, [("o", ptr, 0, 0)])
    split_path = tmp_path / "split.btf"
    split_path.write_bytes(w.build())
    module = tmp_path / "module.o"
    subprocess.run(
        [objcopy, f"--update-section=.BTF={split_path}", f"--add-section=.BTF.base={base_path}", str(obj), str(module)],
        check=True,
    )
    graph = read_btf_file(module)
    assert graph.target.name == "bpfel"
    assert graph[graph.resolve("struct module_s")].members[0].type == ptr
    assert graph[graph[ptr].ref].name == "outer"
    assert_same_as_bpftool(graph, bpftool_raw(bpftool, split_path, base=base_path), first_id=len(base.graph))
    assert elf_section(module, ".BTF.base") == base_raw
    assert not graph.diagnostics
    # A base given as well is not what the ids refer to: the distilled one is used, and that is said.
    other = read_btf_file(module, base=read_btf_file(base_path))
    assert other[other.resolve("struct module_s")].members[0].type == ptr
    assert any("distilled" in d.message for d in other.diagnostics)


def test_elf_without_btf(tmp_path: Path) -> None:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler")
    src = tmp_path / "plain.c"
    src.write_text("int x;\n")
    obj = tmp_path / "plain.o"
    subprocess.run([cc, "-c", str(src), "-o", str(obj)], check=True)
    with pytest.raises(AbiguardError, match=r"plain.o: ELF file has no .BTF section"):
        read_btf_file(obj)
    with pytest.raises(AbiguardError, match=r"plain.o: ELF file has no .BTF section"):
        btf_from_elf(obj)
    assert elf_section(obj, ".BTF") is None
    with pytest.raises(AbiguardError, match=r"not an ELF file"):
        elf_section(src, ".BTF")


def test_bpfeb_object_with_explicit_target_mismatch(compile_c) -> None:
    from abiguard.model import get_target

    obj = compile_c(ALL_KINDS_C, target="bpfeb", name="mismatch")
    with pytest.raises(AbiguardError, match=r"BTF is big-endian but the target x86_64 is little"):
        read_btf_file(obj, target=get_target("x86_64"))
    assert read_btf_file(obj, target=get_target("s390x")).target.name == "s390x"


def test_vmlinux_style_elf(tmp_path: Path, vmlinux_btf: Path) -> None:
    """A host ELF carrying the kernel's BTF in .BTF (as vmlinux does): x86-64 target, same types as raw."""
    objcopy = _objcopy()
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler")
    src = tmp_path / "stub.c"
    src.write_text("int stub;\n")
    obj = tmp_path / "stub.o"
    subprocess.run([cc, "-c", str(src), "-o", str(obj)], check=True)
    elf = tmp_path / "vmlinux"
    subprocess.run([objcopy, f"--add-section=.BTF={vmlinux_btf}", str(obj), str(elf)], check=True)
    raw = read_btf_file(vmlinux_btf)
    graph = read_btf_file(elf)
    assert graph.target == raw.target
    assert len(graph) == len(raw)
    tid = graph.resolve("struct task_struct")
    assert tid == raw.resolve("struct task_struct") and graph[tid] == raw[tid]
    # Errors inside the section name the byte offset in the ELF file, not in the section.
    data = bytearray(elf.read_bytes())
    at = data.find(vmlinux_btf.read_bytes()[:64])
    data[at] ^= 0xFF  # the magic
    bad = tmp_path / "bad-vmlinux"
    bad.write_bytes(bytes(data))
    with pytest.raises(AbiguardError, match=rf"bad-vmlinux: BTF header at byte {at}: bad magic"):
        read_btf_file(bad)
