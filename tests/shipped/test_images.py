"""Kernel images and packages built in the test around a clang-compiled ELF with .BTF: every payload
compression kernels use, x86 bzImage, arm64 Image (raw, gzip'd, EFI zboot), .deb with each data.tar
compression; abiguard reads the same BTF from each as from the ELF itself (read by pyelftools)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from abiguard.bpf.run import check_core
from abiguard.sources.btf.reader import btf_from_elf
from abiguard.sources.shipped import read_shipped
from abiguard.sources.shipped.decompress import decompress

from . import builders as b

PROG = """
struct task_struct { int pid; } __attribute__((preserve_access_index));
int get_pid(struct task_struct *t) { return t->pid; }
"""


@pytest.fixture
def bpf_prog(compile_c) -> Path:
    """A BPF object with one CO-RE relocation (task_struct.pid)."""
    return compile_c(PROG, name="prog")


@pytest.fixture
def vmlinux(compile_c) -> Path:
    """An ELF with .BTF and the banner in its data, standing in for vmlinux."""
    return compile_c(b.KERNEL_C, name="vmlinux")


def abiguard(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from abiguard.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def layout(source: Path) -> str:
    proc = abiguard("layout", "bpf_perf_event_data", source)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("fmt", sorted(b.COMPRESSORS))
def test_compressed_vmlinux(vmlinux: Path, tmp_path: Path, fmt: str):
    image = tmp_path / f"vmlinux.{fmt}"
    image.write_bytes(b.COMPRESSORS[fmt](vmlinux.read_bytes()))
    found = read_shipped(image, image.read_bytes())
    assert found.btf == btf_from_elf(vmlinux)
    assert found.identity.release == b.RELEASE
    assert found.target is not None and found.target.name == "bpfel"


@pytest.mark.parametrize("fmt", ["gzip", "xz", "lzma", "bzip2", "zstd", "lz4"])
def test_bzimage(vmlinux: Path, tmp_path: Path, fmt: str):
    image = tmp_path / "vmlinuz"
    image.write_bytes(b.bzimage(vmlinux.read_bytes(), fmt))
    found = read_shipped(image, image.read_bytes())
    assert found.btf == btf_from_elf(vmlinux)
    assert found.identity.release == b.RELEASE
    assert found.identity.flavour == "cloud-amd64"
    assert found.form == f"bzImage ({fmt}) -> ELF .BTF"
    assert layout(image) == layout(vmlinux)


def test_bzimage_version_from_setup_header_when_the_payload_has_no_banner(compile_c, tmp_path: Path):
    elf = compile_c("struct task_struct { int pid; } t;", name="nobanner")
    image = tmp_path / "vmlinuz"
    image.write_bytes(b.bzimage(elf.read_bytes(), "gzip", version="6.12.57+deb12-rt-amd64 (x@y) #1 SMP"))
    found = read_shipped(image, image.read_bytes())
    assert (found.identity.release, found.identity.flavour) == ("6.12.57+deb12-rt-amd64", "rt-amd64")


@pytest.mark.parametrize("wrap", ["raw", "gzip", "zboot"])
def test_arm64_image(vmlinux: Path, tmp_path: Path, wrap: str):
    btf = btf_from_elf(vmlinux)
    raw = b.arm64_image(btf)
    data = {"raw": raw, "gzip": b.COMPRESSORS["gzip"](raw), "zboot": b.zboot(raw)}[wrap]
    image = tmp_path / "Image"
    image.write_bytes(data)
    found = read_shipped(image, data)
    assert found.btf == btf
    assert found.identity.release == b.RELEASE.replace("amd64", "arm64")
    assert found.target is not None and found.target.name == "aarch64"
    assert layout(image) == layout(vmlinux)


@pytest.mark.parametrize("data_fmt", ["xz", "zst", "gz", ""])
def test_deb_package(vmlinux: Path, bpf_prog, tmp_path: Path, data_fmt: str):
    package = tmp_path / f"linux-image-{b.RELEASE}-unsigned_6.1.999-1_amd64.deb"
    files = {
        "./boot/config-" + b.RELEASE: b"CONFIG_DEBUG_INFO_BTF=y\n",
        "./boot/vmlinuz-" + b.RELEASE: b.bzimage(vmlinux.read_bytes(), "zstd"),
    }
    package.write_bytes(b.deb(files, data_fmt))
    found = read_shipped(package, package.read_bytes())
    assert found.btf == btf_from_elf(vmlinux)
    assert found.form == f"package boot/vmlinuz-{b.RELEASE} -> bzImage (zstd) -> ELF .BTF"
    assert layout(package) == layout(vmlinux)
    result = check_core([bpf_prog], [package], use_cache=False)
    assert result.ok
    assert [r.status.name for r in result.verdicts[0].results] == ["OK"]
    (identity,) = result.identities
    assert (identity.release, identity.arch, identity.flavour, identity.version) == (
        b.RELEASE,
        "x86_64",
        "cloud-amd64",
        "6.1.999-1",
    )


def test_directory_of_packages_and_images(vmlinux: Path, bpf_prog, tmp_path: Path):
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / f"linux-image-{b.RELEASE}_6.1.999-1_amd64.deb").write_bytes(
        b.deb({f"./boot/vmlinuz-{b.RELEASE}": b.bzimage(vmlinux.read_bytes(), "xz")})
    )
    (fleet / "vmlinuz-6.1.0-98-cloud-arm64").write_bytes(b.arm64_image(btf_from_elf(vmlinux)))
    (fleet / "README").write_text("not a kernel")
    result = check_core([bpf_prog], [fleet], use_cache=False)
    assert result.ok
    assert [Path(k).name for k in result.kernels] == [
        f"linux-image-{b.RELEASE}_6.1.999-1_amd64.deb",
        "vmlinuz-6.1.0-98-cloud-arm64",
    ]
    assert [i.arch for i in result.identities] == ["x86_64", "aarch64"]


def test_kernel_image_or_package_with_the_cache(vmlinux: Path, bpf_prog, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    package = tmp_path / f"linux-image-{b.RELEASE}_6.1.999-1_amd64.deb"
    package.write_bytes(b.deb({f"./boot/vmlinuz-{b.RELEASE}": b.bzimage(vmlinux.read_bytes(), "lz4")}))
    prog = bpf_prog
    first = check_core([prog], [package])
    entries = sorted(p.name.split("-")[0] for p in (tmp_path / "cache" / "abiguard" / "core").iterdir())
    assert entries == ["btf", "idx", "img", "res"]
    again = check_core([prog], [package])
    assert (again.ok, again.identities) == (first.ok, first.identities)
    assert again.identities[0].release == b.RELEASE


def test_decompression_is_bounded():
    bomb = b.COMPRESSORS["zstd"](bytes(64 << 20))
    for fmt in ("gzip", "xz", "bzip2", "zstd", "lz4", "lz4-frame"):
        data = b.COMPRESSORS[fmt](bytes(64 << 20)) if fmt != "zstd" else bomb
        with pytest.raises(Exception, match="decompresses to over 1048576 bytes"):
            decompress(data, "bomb", limit=1 << 20)
