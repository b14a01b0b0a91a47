#!/usr/bin/env bash
# `make screenshot`: docs/img/luci-status.png (or the path given), the status page rendered
# from the fixtures (status and history) and photographed by headless Chromium (installed
# from Debian if missing). Not part of `make test`: Chromium is too heavy for CI. README's
# docs/img/luci-history.png is this with the path given.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$repo/docs/img/luci-status.png}"

if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi

"$here/run.sh" >/dev/null   # installs jsdom, and proves the view renders what it should

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
node "$here/screenshot.js" "$tmp/status.html"

mkdir -p "$(dirname "$out")"
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --disable-sync --hide-scrollbars \
    --user-data-dir="$tmp/profile" --force-device-scale-factor=1 \
    --window-size="${SHOT_SIZE:-1080,1900}" --screenshot="$out" "file://$tmp/status.html" 2>/dev/null
echo "screenshot: $out ($(stat -c %s "$out") bytes)"
