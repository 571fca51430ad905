#!/usr/bin/env bash
# Idempotent: download a few real Debian kernel packages (as shipped) into the test cache, for the
# tests and benchmarks that read kernels from packages: the newest 6.1 cloud-amd64, the newest 6.12
# cloud-amd64 and the newest 6.1 cloud-arm64 `-unsigned` image packages. Nothing is downloaded when
# a package of that flavour is already cached. ABIGUARD_KERNELS_DIR overrides the cache directory.
set -euo pipefail

cache_root=${ABIGUARD_TEST_CACHE:-$HOME/.cache/abiguard-tests}  # as tests/conftest.py finds it
dest=${ABIGUARD_KERNELS_DIR:-$cache_root/kernels}
mkdir -p "$dest"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

# pattern of the package name (a regex for apt-cache), architecture
wanted=(
  '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$ amd64'
  '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$ amd64'
  '^linux-image-6\.1\.0-[0-9]+-cloud-arm64-unsigned$ arm64'
)

have_cached() {  # $1 = regex on the package name, $2 = arch
  local f name
  for f in "$dest"/*_"$2".deb; do
    [ -e "$f" ] || continue
    name=$(basename "$f"); name=${name%%_*}
    [[ "$name" =~ $1 ]] && return 0
  done
  return 1
}

newest() {  # newest package whose name matches $1, by version order of the name
  apt-cache search --names-only "$1" 2>/dev/null | cut -d' ' -f1 | sort -V | tail -n 1
}

updated=no
ensure_lists() {  # $1 = arch whose package lists we need
  if [ "$1" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$1"; then
    "${sudo_cmd[@]}" dpkg --add-architecture "$1"
    updated=no
  fi
  if [ "$updated" = no ]; then
    "${sudo_cmd[@]}" apt-get update -qq
    updated=yes
  fi
}

for entry in "${wanted[@]}"; do
  read -r pattern arch <<<"$entry"
  have_cached "$pattern" "$arch" && continue
  ensure_lists "$arch"
  pkg=$(newest "$pattern")
  if [ -z "$pkg" ]; then
    echo "kernels: no package matches $pattern ($arch)" >&2
    exit 1
  fi
  echo "kernels: downloading $pkg:$arch into $dest" >&2
  # apt downloads as its _apt user, who must reach the directory (a home directory is often closed)
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -qq "$pkg:$arch")
  for f in "$tmp"/*.deb; do
    name=$(basename "$f")
    # copy under a name the cache check ignores, then rename: a half-copied package is never seen
    mv "$f" "$dest/.$name.partial"
    mv "$dest/.$name.partial" "$dest/$name"
  done
  rm -rf "$tmp"
done
