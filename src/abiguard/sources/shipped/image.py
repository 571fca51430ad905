"""Kernel images as shipped (vmlinuz): find the vmlinux BTF inside, and the version banner.

x86 bzImage: the setup header locates the compressed payload, an ELF vmlinux with a .BTF section.
arm64/riscv `Image` (raw or gzip'd, or wrapped in an EFI zboot image): no sections, so the BTF blob is
found by its header magic and validated. A bare vmlinux ELF and a compressed vmlinux work too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from ...errors import AbiguardError
from ...fileio import ELF_MAGIC
from ...model.target import TARGETS, Target
from ..btf.elf import elf_target, read_elf_bytes
from .decompress import DEFAULT_LIMIT, compression_of, decompress
from .ident import KernelIdentity, from_release, from_version_string

_BZIMAGE_MAGIC = b"HdrS"
_ZBOOT_MAGIC = b"zimg"
# Raw Image headers: magic at byte 56 -> arch (arm64 "ARM\x64", riscv "RSC\x05")
_IMAGE_MAGICS = {b"ARM\x64": "aarch64", b"RSC\x05": "riscv64"}
_BTF_HEADER = struct.Struct("<HBBIIIII")  # magic, version, flags, hdr_len, type_off, type_len, str_off, str_len


@dataclass(frozen=True, slots=True)
class ImageBtf:
    """The vmlinux BTF found in a kernel image, and what the image says of its kernel."""

    btf: bytes
    target: Target | None  # None when the image does not say (a raw BTF blob in an unknown image)
    identity: KernelIdentity
    form: str  # how it was found, for messages: "bzImage (zstd) -> ELF .BTF", ...


def is_kernel_image(data: bytes) -> bool:
    """Does `data` look like a kernel image (bzImage, zboot, raw Image, compressed stream)?"""
    return (
        _bzimage_header(data) is not None
        or (data[4:8] == _ZBOOT_MAGIC and data[:2] == b"MZ")
        or data[56:60] in _IMAGE_MAGICS
        or compression_of(data) is not None
    )


def btf_from_image(data: bytes, where: str, limit: int = DEFAULT_LIMIT) -> ImageBtf:
    """The vmlinux BTF inside a kernel image; an image without one is an AbiguardError naming `where`."""
    return _unwrap(data, where, limit, [], KernelIdentity(), depth=0)


def _unwrap(data: bytes, where: str, limit: int, form: list[str], known: KernelIdentity, depth: int) -> ImageBtf:
    if depth > 3:
        raise AbiguardError(where, "kernel image nests compressed payloads too deeply")
    if data[:4] == ELF_MAGIC:
        return _from_elf(data, where, [*form, "ELF .BTF"], known)
    header = _bzimage_header(data)
    if header is not None:
        payload = _bzimage_payload(data, where, header)
        fmt = compression_of(payload) or "unknown"
        setup_banner = _setup_version(data, header)
        known = known.merged(from_release(setup_banner.split(" ", 1)[0]) if setup_banner else KernelIdentity())
        inner = decompress(payload, f"{where} (bzImage payload)", limit) if fmt != "unknown" else payload
        return _unwrap(inner, where, limit, [*form, f"bzImage ({fmt})"], known, depth + 1)
    if data[:2] == b"MZ" and data[4:8] == _ZBOOT_MAGIC:
        off, size = struct.unpack_from("<II", data, 8)
        if off + size > len(data) or size == 0:
            raise AbiguardError(where, "EFI zboot image is truncated (payload runs past the end)")
        payload = data[off : off + size]
        inner = decompress(payload, f"{where} (zboot payload)", limit)
        return _unwrap(inner, where, limit, [*form, f"zboot ({compression_of(payload)})"], known, depth + 1)
    fmt = compression_of(data)
    if fmt is not None:
        inner = decompress(data, where, limit)
        return _unwrap(inner, where, limit, [*form, fmt], known, depth + 1)
    arch = _IMAGE_MAGICS.get(data[56:60], "")
    blob = find_btf_blob(data)
    if blob is None:
        what = f"{arch} Image" if arch else "file"
        raise AbiguardError(where, f"{what} holds no BTF (kernel built without CONFIG_DEBUG_INFO_BTF?)")
    identity = from_version_string(data).merged(known).merged(KernelIdentity(arch=arch))
    target = TARGETS.get(identity.arch) if identity.arch else None
    kind = f"{arch} Image" if arch else "image"
    return ImageBtf(blob, target, identity, " -> ".join([*form, f"{kind}, BTF blob"]))


def _from_elf(data: bytes, where: str, form: list[str], known: KernelIdentity) -> ImageBtf:
    info = read_elf_bytes(data, where, (".BTF",))
    sec = info.sections.get(".BTF")
    if sec is None:
        raise AbiguardError(where, "vmlinux has no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF?)")
    target = elf_target(Path(where), info)
    identity = from_version_string(data).merged(known).merged(KernelIdentity(arch=target.name))
    return ImageBtf(sec.data, target, identity, " -> ".join(form))


def _bzimage_header(data: bytes) -> tuple[int, int, int] | None:
    """(setup size, payload offset, payload length) of an x86 bzImage (boot protocol >= 2.08), else None."""
    if len(data) < 0x250 or data[0x202:0x206] != _BZIMAGE_MAGIC:
        return None
    (protocol,) = struct.unpack_from("<H", data, 0x206)
    if protocol < 0x208:
        return None  # no payload fields before boot protocol 2.08
    setup = ((data[0x1F1] or 4) + 1) * 512
    payload_offset, payload_length = struct.unpack_from("<II", data, 0x248)
    return setup, payload_offset, payload_length


def _bzimage_payload(data: bytes, where: str, header: tuple[int, int, int]) -> memoryview:
    setup, payload_offset, payload_length = header
    start = setup + payload_offset
    if payload_length == 0 or start + payload_length > len(data):
        raise AbiguardError(
            where, f"bzImage is truncated: payload at {start} + {payload_length} bytes, file has {len(data)}"
        )
    return memoryview(data)[start : start + payload_length]


def _setup_version(data: bytes, header: tuple[int, int, int]) -> str:
    """The version string the setup header points at ("6.1.0-47-cloud-amd64 (debian-kernel@...) #1 ...")."""
    (pointer,) = struct.unpack_from("<H", data, 0x20E)
    start = pointer + 0x200
    if pointer == 0 or start >= min(len(data), header[0]):
        return ""
    end = data.find(b"\0", start, start + 256)
    return data[start : end if end > 0 else start].decode("ascii", "replace")


def find_btf_blob(data: bytes) -> bytes | None:
    """The largest well-formed BTF blob inside `data` (found by header magic, version 1), or None."""
    best: tuple[int, int] | None = None
    for magic, order in ((b"\x9f\xeb\x01\x00", "<"), (b"\xeb\x9f\x01\x00", ">")):
        pos = data.find(magic)
        while pos >= 0:
            size = _blob_size(data, pos, order)
            if size and (best is None or size > best[1]):
                best = (pos, size)
            pos = data.find(magic, pos + 4)
    return None if best is None else data[best[0] : best[0] + best[1]]


def _blob_size(data: bytes, pos: int, order: str) -> int:
    """Total size of the BTF blob whose header is at `pos` when the header is consistent, else 0."""
    if pos + 24 > len(data):
        return 0
    _, _, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(order + "HBBIIIII", data, pos)
    if flags or hdr_len not in (24, 32) or type_off % 4 or type_len == 0 or str_len < 2:
        return 0
    if type_off + type_len > str_off:
        return 0
    total = hdr_len + str_off + str_len
    if pos + total > len(data):
        return 0
    strings = pos + hdr_len + str_off
    if data[strings] != 0 or data[strings + str_len - 1] != 0:
        return 0
    return total
