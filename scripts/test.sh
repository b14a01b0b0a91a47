#!/usr/bin/env bash
# `make test`: everything CI checks, in order of cost.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== format"
cargo fmt --all -- --check
echo "== shellcheck"
shellcheck tests/lab/*.sh scripts/owrt/*.sh
echo "== clippy"
cargo clippy --all-targets -- -D warnings
echo "== shape: no import cycle, no function over 100 lines"
python3 scripts/shape.py
echo "== tests (unit and lab)"
cargo test --all-targets 2>&1
if [ -n "${RAIL_OWRT:-}" ]; then
    echo "== real OpenWrt daemons (docs/owrt.md)"
    scripts/owrt/test.sh
else
    echo "== real-OpenWrt tests SKIPPED: RAIL_OWRT is unset (set it to a prefix of OpenWrt's daemons and run make owrt-test, docs/owrt.md)"
fi
echo "== LuCI views (node)"
tests/luci/run.sh
cross/ci.sh  # cross builds (mips, mipsel, armv7, aarch64), unit tests under qemu, .ipk, size budget
