#!/usr/bin/env bash
# Runs bun's test runner (sequentially: lab tests share one kernel), keeps its output,
# then prints one plain closing line "tests: N passed, N failed" that CI can read, and
# checks that no lab namespace was left behind.
set -uo pipefail
cd "$(dirname "$0")/.."
BUN=node_modules/.bin/bun
out=$(mktemp)
pidfile=$(mktemp)
# the host's own firewall, which nothing of this suite may change (labs live in
# namespaces of their own; podman runs with no network unless told one)
host_rules() { nft -s list ruleset 2>/dev/null | grep -v '^\s*$'; }
host_before=$(host_rules)
# bun runs every test file in one process and the lab names its namespaces
# egl-<that pid>-...: only those are this run's, a concurrent run's labs are not
sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$BUN" test --timeout 120000 "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
pid=$(cat "$pidfile")
rm -f "$pidfile"
pass=$(grep -Eo '^ *[0-9]+ pass' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
fail=$(grep -Eo '^ *[0-9]+ fail' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
rm -f "$out"
# namespaces this run created and did not remove
left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^egl-${pid}-" || true)
if [ -n "$left" ]; then
  echo "leftover lab namespaces after the suite: $(echo "$left" | tr '\n' ' ')" >&2
  rc=1
fi
# podman objects this run's image tests made (named egl-<pid>-...): bun test runs no exit
# hooks, so the suite cannot remove the image it shares between files itself
if command -v podman >/dev/null 2>&1; then
  export CONTAINERS_CONF="$PWD/scripts/podman/containers.conf"
  mapfile -t pods < <(podman pod ps --format '{{.Name}}' 2>/dev/null | grep "^egl-${pid}-" || true)
  ((${#pods[@]})) && podman pod rm -f -t 0 "${pods[@]}" >/dev/null 2>&1
  mapfile -t ctrs < <(podman ps -a --format '{{.Names}}' 2>/dev/null | grep "^egl-${pid}-" || true)
  ((${#ctrs[@]})) && podman rm -f -t 0 "${ctrs[@]}" >/dev/null 2>&1
  mapfile -t imgs < <(podman images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep "^localhost/egl-${pid}-" || true)
  ((${#imgs[@]})) && podman rmi -f "${imgs[@]}" >/dev/null 2>&1
fi
rm -rf "${TMPDIR:-/tmp}"/egl-"${pid}"-podman-*
if [ "$(host_rules)" != "$host_before" ]; then
  echo "the host's own nftables ruleset changed during the suite:" >&2
  diff <(echo "$host_before") <(host_rules) >&2
  rc=1
fi
if [ "$pass" -eq 0 ] && [ "$rc" -eq 0 ]; then echo "no test ran" >&2; rc=1; fi
echo "tests: ${pass} passed, ${fail} failed"
exit "$rc"
