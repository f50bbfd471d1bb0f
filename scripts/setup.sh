#!/usr/bin/env bash
# Installs everything a fresh machine lacks, and nothing the machine already has:
# Debian packages for the lab and the kernel backend, then the npm packages (Bun
# itself comes from the npm package `bun`). Safe to run again; quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

# the lab and the kernel backend (python3-prometheus-client: Prometheus's own parser, which
# the tests read /metrics with); then the image and its lab tests (podman builds and
# runs it, runc is the runtime these machines need, catatonit lets `podman kube play` run
# pods, ca-certificates is the bundle the image ships; Debian 12's podman-compose 1.0.3
# cannot run deploy/docker/, see docs/install.md)
debs=(nftables libnftables1 iproute2 iptables knot knot-dnsutils dnsutils dnsperf curl dnsmasq-base libcap2-bin python3 python3-prometheus-client strace openssl tcpdump
  podman runc catatonit ca-certificates)
# `scripts/setup.sh release`: what `make release` checks the arm64 binary with, if Debian
# has it (qemu-user and the arm64 C library); optional, see scripts/release.sh
optional=()
if [ "${1:-}" = release ]; then optional=(qemu-user libc6-arm64-cross); fi

missing_of() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t missing < <(missing_of "${debs[@]}")
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
mapfile -t missing < <(missing_of "${optional[@]}")
if ((${#missing[@]})); then
  echo "setup: installing optional Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; } ||
    echo "setup: could not install ${missing[*]} (optional: make release falls back)" >&2
fi

if [ ! -x node_modules/.bin/bun ] || [ package.json -nt node_modules/.install-stamp ]; then
  echo "setup: installing npm packages" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
  touch node_modules/.install-stamp
fi
node_modules/.bin/bun --version >/dev/null
