"""Who a kernel is: release, arch, flavour and package version, from file names and version strings."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...model.target import ALIASES, TARGETS

# Debian/Ubuntu package architectures that are not already arch names or aliases abiguard knows.
_DEB_ARCHES = {"ppc64el": "ppc64le", "loong64": "loongarch64", "armel": "arm", "powerpc": "ppc"}

_DEB_NAME = re.compile(r"^(?P<pkg>[^_/]+)_(?P<version>[^_/]+)_(?P<arch>[^_/.]+)\.deb$")
_IMAGE_PKG = re.compile(r"^linux-image-(?:unsigned-)?(?P<release>\d+\.\d+.*?)(?:-unsigned|-dbg|-dbgsym)?$")
_VERSION_LINE = re.compile(rb"Linux version (\d+\.\d+[\x21-\x7e]*) \(")
_RELEASE_IN_NAME = re.compile(r"(\d+\.\d+(?:\.\d+)?[-+.][\w.+~-]*?|\d+\.\d+(?:\.\d+)?)(?:\.btf(?:\.tar\.xz)?)?$")


@dataclass(frozen=True, slots=True)
class KernelIdentity:
    """What the report says of a kernel; empty strings where nothing tells."""

    release: str = ""  # `uname -r`, e.g. 6.1.0-47-cloud-amd64
    arch: str = ""  # abiguard's arch name, e.g. x86_64
    flavour: str = ""  # the build variant in the release, e.g. cloud-amd64, rt-amd64, generic
    version: str = ""  # the package version, e.g. 6.1.170-3

    def merged(self, other: KernelIdentity) -> KernelIdentity:
        """Fields of self, filled in from `other` where self has none."""
        return KernelIdentity(
            self.release or other.release,
            self.arch or other.arch,
            self.flavour or other.flavour,
            self.version or other.version,
        )


def arch_name(name: str) -> str:
    """abiguard's arch name for a package, uname or ELF arch name; '' when unknown."""
    key = name.strip().lower()
    key = _DEB_ARCHES.get(key, ALIASES.get(key, key))
    return key if key in TARGETS else ""


def flavour_of(release: str) -> str:
    """The flavour part of a release: the dash-separated words after the version that start with a letter."""
    words = release.split("-")
    for i, word in enumerate(words[1:], 1):
        if word[:1].isalpha():
            return "-".join(words[i:])
    return ""


def from_release(release: str, arch: str = "", version: str = "") -> KernelIdentity:
    """Identity from a `uname -r` string; arch from its suffix when it carries one (Fedora's .x86_64)."""
    if not arch:
        tail = release.rsplit(".", 1)[-1]
        arch = arch_name(tail) if "." in release and not tail.isdigit() else ""
        if not arch:
            last = release.rsplit("-", 1)[-1]
            arch = arch_name(last) if "-" in release else ""
    return KernelIdentity(release, arch, flavour_of(release), version)


def from_deb_name(file_name: str) -> KernelIdentity:
    """Identity from a `linux-image-<release>[-unsigned]_<version>_<arch>.deb` file name."""
    m = _DEB_NAME.match(file_name)
    if m is None:
        return KernelIdentity()
    arch, version = arch_name(m["arch"]), m["version"]
    image = _IMAGE_PKG.match(m["pkg"])
    if image is None:
        return KernelIdentity(arch=arch, version=version)
    return from_release(image["release"], arch, version)


def from_file_name(file_name: str) -> KernelIdentity:
    """Identity from `vmlinuz-<release>`, `<release>.btf(.tar.xz)` (BTFHub) or a .deb name."""
    if file_name.endswith(".deb"):
        return from_deb_name(file_name)
    stem = re.sub(r"^(?:vmlinuz|vmlinux|Image|bzImage|zImage)-", "", file_name)
    if stem == file_name and not file_name.endswith((".btf", ".btf.tar.xz")):
        return KernelIdentity()
    m = _RELEASE_IN_NAME.fullmatch(stem)
    return from_release(m[1]) if m else KernelIdentity()


def from_version_string(data: bytes | memoryview) -> KernelIdentity:
    """Identity from the `Linux version <release> (...` banner inside a kernel image, if any."""
    m = _VERSION_LINE.search(data)
    if m is None:
        return KernelIdentity()
    return from_release(m[1].decode("ascii"))


def version_banner(data: bytes) -> str:
    """The whole `Linux version ...` line inside a kernel image, or ''."""
    start = data.find(b"Linux version ")
    if start < 0:
        return ""
    end = data.find(b"\n", start, start + 512)
    end = data.find(b"\0", start, start + 512) if end < 0 else end
    return data[start : end if end > 0 else start + 200].decode("ascii", "replace").strip()
