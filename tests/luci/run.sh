#!/usr/bin/env bash
# Runs the luci-app-rail view tests under Node: installs the pinned jsdom from
# package-lock.json (npm ci) when it is missing or stale, then `node --test`.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "tests/luci: node and npm are needed (scripts/deps.sh installs them)" >&2
    exit 1
fi

# npm ci wipes node_modules; skip it when the installed tree already matches the lock.
if ! cmp -s package-lock.json node_modules/.rail-lock 2>/dev/null; then
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.rail-lock
fi

TZ=UTC exec node --test test/
