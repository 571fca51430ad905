"""Broken kernel images and packages: one line `abiguard: error: <file>: <what>`, exit 2, no traceback."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from . import builders as b
from .test_images import PROG, abiguard


def _flip_middle(data: bytes, start: int = 0) -> bytes:
    mid = start + (len(data) - start) // 2
    return data[:mid] + bytes(x ^ 0x5A for x in data[mid : mid + 64]) + data[mid + 64 :]


def _bzimage_payload_start(image: bytes) -> int:
    return (image[0x1F1] + 1) * 512 + struct.unpack_from("<I", image, 0x248)[0]


CASES: dict[str, tuple[str, Callable[[bytes], bytes], str]] = {
    # name: (file name, make(vmlinux ELF bytes) -> file bytes, what the message says)
    "truncated deb": (
        "linux-image-x_1_amd64.deb",
        lambda elf: b.deb({"./boot/vmlinuz-6.1.0-1-amd64": b.bzimage(elf, "xz")})[:-300],
        "truncated",
    ),
    "deb with a corrupt data.tar.xz": (
        "linux-image-x_1_amd64.deb",
        lambda elf: _flip_middle(b.deb({"./boot/vmlinuz-6.1.0-1-amd64": b.bzimage(elf, "gzip")}), 300),
        "package",
    ),
    "deb without data.tar": (
        "linux-image-x_1_amd64.deb",
        lambda elf: b.ar_of([("debian-binary", b"2.0\n")]),
        "data.tar",
    ),
    "deb without a kernel image": (
        "linux-image-x_1_amd64.deb",
        lambda elf: b.deb({"./usr/share/doc/x/copyright": b"GPL"}),
        "no kernel image",
    ),
    "ar with a damaged header": ("x.deb", lambda elf: b"!<arch>\n" + b"x" * 70, "damaged"),
    "truncated bzImage": ("vmlinuz", lambda elf: b.bzimage(elf, "zstd")[:2000], "truncated"),
    "bzImage with a corrupt zstd payload": (
        "vmlinuz",
        lambda elf: _flip_middle(img := b.bzimage(elf, "zstd"), _bzimage_payload_start(img)),
        "zstd",
    ),
    "bzImage with a corrupt xz payload": (
        "vmlinuz",
        lambda elf: _flip_middle(img := b.bzimage(elf, "xz"), _bzimage_payload_start(img)),
        "xz",
    ),
    "truncated gzip image": ("Image.gz", lambda elf: b.COMPRESSORS["gzip"](b.arm64_image(elf))[:-200], "truncated"),
    "truncated lz4 image": ("vmlinux.lz4", lambda elf: b.lz4_legacy(elf)[:-100], "truncated"),
    "arm64 Image without BTF": ("Image", lambda elf: b.arm64_image(b"no btf here"), "holds no BTF"),
    "zboot with a payload past the end": ("vmlinuz.efi", lambda elf: b.zboot(b.arm64_image(elf))[:700], "truncated"),
    "lzo payload": ("vmlinuz", lambda elf: b"\x89LZO\x00\r\n\x1a\n" + bytes(100), "LZO"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["layout", "core"])
def test_broken_kernel_file(case: str, command: str, compile_c, tmp_path: Path):
    name, make, what = CASES[case]
    elf = compile_c(b.KERNEL_C, name="vmlinux").read_bytes()
    bad = tmp_path / name
    bad.write_bytes(make(elf))
    if command == "layout":
        proc = abiguard("layout", "task_struct", bad)
    else:
        proc = abiguard("core", compile_c(PROG, name="prog"), "--kernel", bad, "--no-cache")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"abiguard: error: {bad}"), lines[0]
    assert what in lines[0], lines[0]


def test_module_without_base(compile_c, tmp_path: Path):
    module = tmp_path / "nf_tables.ko"
    module.write_bytes(compile_c("struct nft_ctx { int x; } c;", name="mod").read_bytes())
    proc = abiguard("core", compile_c(PROG, name="prog"), "--kernel", module, "--no-cache")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"abiguard: error: {module}: a kernel module's BTF is split BTF: give its kernel with --base "
        "(BTF, vmlinuz or .deb)"
    )
