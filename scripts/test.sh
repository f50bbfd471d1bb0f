#!/usr/bin/env bash
# Runs bun's test runner (sequentially: lab tests share one kernel), keeps its output,
# then prints one plain closing line "tests: N passed, N failed" that CI can read, and
# checks that no lab namespace was left behind.
set -uo pipefail
cd "$(dirname "$0")/.."
BUN=node_modules/.bin/bun
out=$(mktemp)
pidfile=$(mktemp)
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
if [ "$pass" -eq 0 ] && [ "$rc" -eq 0 ]; then echo "no test ran" >&2; rc=1; fi
echo "tests: ${pass} passed, ${fail} failed"
exit "$rc"
