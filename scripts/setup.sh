#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: system tools the tests use as oracles,
# then a project virtualenv (.venv) with abiguard installed in editable mode, with its libc extra
# (the ziglang wheel's glibc/musl headers, for kernel headers that include libc ones).
# ABIGUARD_SETUP=minimal installs only what `abiguard` itself needs (no compilers, no kernel source).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${ABIGUARD_SETUP:-full}
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

minimal_pkgs=(python3-venv git)
full_pkgs=(
  clang llvm dwarves bpftool libbpf-dev linux-source-6.1 abigail-tools xz-utils hyperfine chromium
  gcc gcc-i686-linux-gnu gcc-aarch64-linux-gnu gcc-s390x-linux-gnu gcc-powerpc64le-linux-gnu
  gcc-riscv64-linux-gnu gcc-arm-linux-gnueabihf gcc-mips64el-linux-gnuabi64 gcc-powerpc64-linux-gnu
  gcc-powerpc-linux-gnu gcc-mips-linux-gnu gcc-mipsel-linux-gnu gcc-sparc64-linux-gnu
  # each cross gcc's libc headers: the gcc oracle checks the UAPI headers that include libc ones too
  libc6-dev libc6-dev-i386-cross libc6-dev-arm64-cross libc6-dev-s390x-cross libc6-dev-ppc64el-cross
  libc6-dev-riscv64-cross libc6-dev-armhf-cross libc6-dev-mips64el-cross libc6-dev-ppc64-cross
  libc6-dev-powerpc-cross libc6-dev-mips-cross libc6-dev-mipsel-cross libc6-dev-sparc64-cross
)
pkgs=("${minimal_pkgs[@]}")
[ "$mode" = minimal ] || pkgs+=("${full_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.abiguard-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  # Playwright drives Debian's chromium (tests point it there): never download a browser of its own.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv/bin/python -m pip install -q -e '.[test,fleet,libc]'
  touch "$stamp"
fi

# Real distro kernel packages for the tests that read kernels as shipped (a few, cached).
[ "$mode" = minimal ] || ./scripts/kernels.sh
