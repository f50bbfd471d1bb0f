#!/usr/bin/env bash
# `make bench`: egressctl beside the alternatives, in one run, reported as ratios (never
# asserted: these machines are shared and noisy). In order:
#   1. the policy engine     (make bench-policy, test/bench/policy.bench.ts)
#   2. applying rulesets     (make bench-apply, when that target exists)
#   3. learn writes         (make bench-learn, test/bench/learn.bench.ts: raw netlink vs
#                             libnftables, one write under static policies of 0/1k/10k CIDRs)
#   4. adoption at restart   (make bench-adopt, test/bench/adopt.bench.ts: serve restarting
#                             over 65,536 learned elements: time, CPU, longest DNS stall)
#   5. DNS throughput        (test/bench/dns.bench.ts: dnsperf against Knot, dnsmasq,
#                             dnsmasq --nftset, a minimal Bun forwarder and egressctl serve)
#      and what users feel   (test/bench/serve-feel.ts: p50/p99 latency at 5,000 q/s through
#                             the redirect beside Knot direct, memory idle and after 1M and
#                             2M queries, exec to ready)
# Needs root (lab namespaces). Checks that no lab namespace is left behind.
set -uo pipefail
cd "$(dirname "$0")/.."
BUN=node_modules/.bin/bun
rc=0
before=$(ip netns list 2>/dev/null | awk '{print $1}' | grep '^egl-' | sort)
section() { printf '\n== %s ==\n' "$1"; }

section "policy engine"
if [ -f test/bench/policy.bench.ts ]; then
  make --no-print-directory bench-policy || rc=1
else
  echo "skipped: test/bench/policy.bench.ts does not exist yet"
fi

section "apply"
if make -n bench-apply >/dev/null 2>&1; then
  make --no-print-directory bench-apply || rc=1
else
  echo "skipped: no 'bench-apply' target in the Makefile yet"
fi

section "learn writes"
make --no-print-directory bench-learn || rc=1

section "adopting full learned sets"
"$BUN" test/bench/adopt.bench.ts || rc=1

section "DNS throughput, latency, memory, start-up"
"$BUN" test/bench/dns.bench.ts || rc=1

# A lab is named egl-<pid of its process>-<n>-sb/-w; others may run labs concurrently, so
# only a new namespace whose process has ended counts as left behind.
left=$(comm -13 <(echo "$before") <(ip netns list 2>/dev/null | awk '{print $1}' | grep '^egl-' | sort) |
  while read -r ns; do pid=${ns#egl-}; pid=${pid%%-*}; [ -d "/proc/$pid" ] || echo "$ns"; done)
if [ -n "$left" ]; then echo "leftover lab namespaces: $(echo $left)" >&2; rc=1; fi
exit "$rc"
