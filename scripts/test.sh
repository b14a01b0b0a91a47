#!/usr/bin/env bash
# `make test`: everything CI checks, in order of cost.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== format"
cargo fmt --all -- --check
echo "== shellcheck"
shellcheck tests/lab/*.sh
echo "== clippy"
cargo clippy --all-targets -- -D warnings
echo "== tests (unit and lab)"
cargo test --all-targets 2>&1
if [ -n "${RAIL_UBUSD:-}" ] && [ -n "${RAIL_UBUS:-}" ]; then
    echo "== ubus interop with OpenWrt's ubusd (docs/openwrt.md)"
    cargo test --test ubus_interop -- --ignored
fi
echo "== LuCI views (node)"
tests/luci/run.sh
cross/ci.sh  # cross builds (mips, mipsel, armv7, aarch64), unit tests under qemu, .ipk, size budget
