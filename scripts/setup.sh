#!/usr/bin/env bash
# Installs everything a fresh machine lacks, and nothing the machine already has:
# Debian packages for the lab and the kernel backend, then the npm packages (Bun
# itself comes from the npm package `bun`). Safe to run again; quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(nftables libnftables1 iproute2 iptables knot knot-dnsutils dnsutils dnsperf curl dnsmasq-base libcap2-bin python3 strace openssl)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -x node_modules/.bin/bun ] || [ package.json -nt node_modules/.install-stamp ]; then
  echo "setup: installing npm packages" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
  touch node_modules/.install-stamp
fi
node_modules/.bin/bun --version >/dev/null
