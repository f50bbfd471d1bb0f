#!/usr/bin/env bash
# make demo: a throwaway lab running the real sidecar (scripts/demo.ts). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/bun scripts/demo.ts
