"""Builders of small kernel images and packages around a clang-compiled ELF, laid out as kernels ship them."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile

import lz4.block
import lz4.frame
import zstandard

RELEASE = "6.1.0-99-cloud-amd64"
BANNER = f"Linux version {RELEASE} (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14)) #1 SMP Debian 6.1.999-1"

# Kernel-like types kept alive by globals, and the banner every kernel image carries in its .rodata.
KERNEL_C = f"""
struct task_struct {{ int pid; long state; struct task_struct *real_parent; }};
typedef unsigned long long u64;
struct bpf_perf_event_data {{ u64 regs[21]; u64 sample_period; u64 addr; }};
struct task_struct task;
struct bpf_perf_event_data sample;
const char linux_banner[] = "{BANNER}\\n";
"""


def lz4_legacy(data: bytes) -> bytes:
    """The kernel's `lz4 -l` format: magic, then <u32 size, block> per 8 MB of input."""
    out = bytearray(b"\x02\x21\x4c\x18")
    for start in range(0, len(data), 8 << 20):
        block = lz4.block.compress(data[start : start + (8 << 20)], store_size=False)
        out += struct.pack("<I", len(block)) + block
    return bytes(out)


COMPRESSORS = {
    "gzip": gzip.compress,
    "xz": lambda d: lzma.compress(d, lzma.FORMAT_XZ),
    "lzma": lambda d: lzma.compress(d, lzma.FORMAT_ALONE),
    "bzip2": bz2.compress,
    "zstd": lambda d: zstandard.ZstdCompressor(level=19, write_checksum=True).compress(d),  # as `zstd` does
    "lz4": lz4_legacy,
    "lz4-frame": lz4.frame.compress,
}


def bzimage(elf: bytes, fmt: str, version: str = f"{RELEASE} (debian-kernel@lists.debian.org) #1 SMP") -> bytes:
    """A minimal x86 bzImage: one setup sector after the boot sector, boot protocol 2.15, the
    compressed ELF as payload with the uncompressed size appended (as the kernel build does)."""
    payload = COMPRESSORS[fmt](elf) + struct.pack("<I", len(elf))
    setup = bytearray(1024)
    setup[0x1F1] = 1  # setup_sects
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, 0x020F)
    setup[0x300 : 0x300 + len(version) + 1] = version.encode() + b"\0"
    struct.pack_into("<H", setup, 0x20E, 0x300 - 0x200)  # kernel_version, relative to 0x200
    payload_offset = 0x40
    struct.pack_into("<II", setup, 0x248, payload_offset, len(payload))
    return bytes(setup) + bytes(payload_offset) + payload + bytes(64)


def arm64_image(btf: bytes, banner: str = BANNER.replace("amd64", "arm64")) -> bytes:
    """A raw arm64 Image: the 64-byte header ("ARM\\x64" at 56), code, the BTF blob, the banner."""
    header = bytearray(64)
    header[56:60] = b"ARM\x64"
    return bytes(header) + bytes(4000) + btf + b"\0" * 3 + banner.encode() + b"\n\0" + bytes(100)


def zboot(image: bytes, fmt: str = "gzip") -> bytes:
    """An EFI zboot image: "MZ", "zimg", payload offset and size, compression name, then the payload."""
    payload = COMPRESSORS[fmt](image)
    header = bytearray(512)
    header[0:2] = b"MZ"
    header[4:8] = b"zimg"
    struct.pack_into("<II", header, 8, len(header), len(payload))
    header[24:24 + len(fmt)] = fmt.encode()
    return bytes(header) + payload


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def ar_of(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, content in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(content):<10}`\n".encode()
        out += content + (b"\n" if len(content) % 2 else b"")
    return bytes(out)


def deb(files: dict[str, bytes], data_fmt: str = "xz") -> bytes:
    """A Debian binary package holding `files` in data.tar.<data_fmt> (xz, zst, gz or '' for none)."""
    tar = tar_of(files)
    packed = {
        "xz": lambda d: lzma.compress(d, lzma.FORMAT_XZ),
        "zst": lambda d: zstandard.ZstdCompressor().compress(d),
        "gz": gzip.compress,
        "": lambda d: d,
    }[data_fmt](tar)
    control = lzma.compress(tar_of({"./control": b"Package: linux-image-test\n"}), lzma.FORMAT_XZ)
    data_name = f"data.tar.{data_fmt}" if data_fmt else "data.tar"
    return ar_of([("debian-binary", b"2.0\n"), ("control.tar.xz", control), (data_name, packed)])
