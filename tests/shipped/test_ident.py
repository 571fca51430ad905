"""Kernel identity (release, arch, flavour, package version) from file names and version banners."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from abiguard.bpf.kernels import DEFAULT_KERNEL, file_identity, load_kernels
from abiguard.sources.shipped.ident import KernelIdentity, from_file_name, from_version_string


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "linux-image-6.1.0-47-cloud-amd64-unsigned_6.1.170-3_amd64.deb",
            KernelIdentity("6.1.0-47-cloud-amd64", "x86_64", "cloud-amd64", "6.1.170-3"),
        ),
        (
            "linux-image-6.12.57+deb12-rt-amd64-unsigned_6.12.57-1~deb12u1_amd64.deb",
            KernelIdentity("6.12.57+deb12-rt-amd64", "x86_64", "rt-amd64", "6.12.57-1~deb12u1"),
        ),
        (
            "linux-image-6.1.0-57-cloud-arm64-unsigned_6.1.192-3_arm64.deb",
            KernelIdentity("6.1.0-57-cloud-arm64", "aarch64", "cloud-arm64", "6.1.192-3"),
        ),
        (
            "linux-image-6.1.0-57-powerpc64le_6.1.192-3_ppc64el.deb",
            KernelIdentity("6.1.0-57-powerpc64le", "ppc64le", "powerpc64le", "6.1.192-3"),
        ),
        ("vmlinuz-6.1.0-57-cloud-amd64", KernelIdentity("6.1.0-57-cloud-amd64", "x86_64", "cloud-amd64")),
        ("5.15.0-91-generic.btf.tar.xz", KernelIdentity("5.15.0-91-generic", "", "generic")),
        ("4.18.0-305.el8.x86_64.btf.tar.xz", KernelIdentity("4.18.0-305.el8.x86_64", "x86_64", "")),
        ("prog.o", KernelIdentity()),
        ("linux-headers-6.1.0-57-amd64_6.1.192-3_amd64.deb", KernelIdentity(arch="x86_64", version="6.1.192-3")),
    ],
)
def test_identity_from_file_names(name, expected):
    assert from_file_name(name) == expected


def test_identity_from_version_banner():
    banner = b"\0\0Linux version 6.1.0-57-cloud-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14))"
    assert from_version_string(banner) == KernelIdentity("6.1.0-57-cloud-arm64", "aarch64", "cloud-arm64")
    assert from_version_string(b"no banner here") == KernelIdentity()


def test_btfhub_path_gives_the_arch(tmp_path: Path):
    path = tmp_path / "ubuntu" / "22.04" / "arm64" / "5.15.0-91-generic.btf.tar.xz"
    assert file_identity(path) == KernelIdentity("5.15.0-91-generic", "aarch64", "generic")


def test_running_kernel_identity(vmlinux_btf):
    (ref,) = load_kernels([str(DEFAULT_KERNEL)])
    assert ref.release == os.uname().release
    assert ref.arch
