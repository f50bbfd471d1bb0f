#!/usr/bin/env bash
# `make image`: the minimal egressctl image from local files only, into the local podman
# store as egressctl:<version>, and saved as dist/egressctl-image.tar (docker-archive,
# which `podman load` and `docker load` both read).
#
# The root filesystem holds the binary, the libraries `ldd` names for it and for
# libnftables.so.1 (opened at run time through bun:ffi, so ldd of the binary alone does
# not see it), libnftables itself, and Debian's CA bundle. Each file keeps the path the
# host's loader found it at, so the loader's default directories find them without an
# ld.so.cache. Overrides (the tests use them): EGRESSCTL_IMAGE (name:tag) and
# EGRESSCTL_IMAGE_TAR (where the archive goes).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/scripts/podman/containers.conf}"

version=$(node_modules/.bin/bun -e 'console.log(require("./package.json").version)')
image="${EGRESSCTL_IMAGE:-egressctl:$version}"
tar_out="${EGRESSCTL_IMAGE_TAR:-dist/egressctl-image.tar}"
bin=dist/egressctl
[ -x "$bin" ] || { echo "image: $bin is missing: run make build" >&2; exit 1; }

# (awk reads to the end: leaving early would end ldconfig with SIGPIPE, fatal under pipefail)
libnft=$(ldconfig -p | awk '/libnftables\.so\.1 .*(x86-64|AArch64)/ && !found { found = $NF } END { print found }')
[ -n "$libnft" ] || { echo "image: libnftables.so.1 not found (apt-get install libnftables1)" >&2; exit 1; }
ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || { echo "image: $ca missing (apt-get install ca-certificates)" >&2; exit 1; }

stage=$(mktemp -d "${TMPDIR:-/tmp}/egressctl-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/rootfs"
install -D -m 0755 "$bin" "$root/usr/bin/egressctl"
install -D -m 0644 "$ca" "$root$ca"
# every absolute path ldd prints (the loader included), plus libnftables itself
libs=$( { ldd "$bin"; ldd "$libnft"; echo "$libnft"; } | grep -o '/[^ ]*' | sort -u)
for lib in $libs; do
  install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
done
cp deploy/image/Containerfile "$stage/Containerfile"

# the image this tag named before, removed below once nothing else names it
previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
podman build --quiet --format docker --no-cache --pull=never \
  --label "org.opencontainers.image.title=egressctl" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" \
  -t "$image" -f "$stage/Containerfile" "$stage" >/dev/null
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$image")" ]; then
  # untagged now; kept if a container still uses it or another tag names it
  [ -z "$(podman image inspect --format '{{join .RepoTags " "}}' "$previous" 2>/dev/null)" ] && podman rmi "$previous" >/dev/null 2>&1 || true
fi
mkdir -p "$(dirname "$tar_out")"
rm -f "$tar_out"
podman save --quiet --format docker-archive -o "$tar_out" "$image"
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image: $image ($((size / 1000 / 1000)) MB, $(echo "$libs" | wc -l) libraries), saved to $tar_out" >&2
