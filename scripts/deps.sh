#!/usr/bin/env bash
# Installs what building and testing rail needs on a Debian machine, as root. Idempotent and
# quiet when everything is already there.
set -euo pipefail

need=()
for pair in nft:nftables conntrack:conntrack ip:iproute2 shellcheck:shellcheck \
            ping:iputils-ping socat:socat curl:curl sysctl:procps python3:python3; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# tests/luci runs the LuCI views under Node (Debian's nodejs is new enough).
for pair in node:nodejs npm:npm; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "deps: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

for comp in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$comp" || rustup component add "$comp"
done
# make bench measures the daemon's cost on a static musl build, as OpenWrt ships it.
rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl
