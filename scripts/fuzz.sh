#!/usr/bin/env bash
# `make fuzz`: run every cargo-fuzz target in fuzz/ for SECONDS each (default 60).
# cargo-fuzz needs nightly-only -Z flags: the stable toolchain is used with RUSTC_BOOTSTRAP=1.
# Seeds are read from fuzz/corpus/<target>; what libFuzzer learns goes to
# fuzz/target/corpus/<target> (not committed). A crash leaves its input in
# fuzz/artifacts/<target>/: turn it into a unit test in the module that crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (several minutes on 2 cores)"
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
for t in uci ubus probe_reply netlink; do
    echo "== fuzz $t for ${secs}s"
    mkdir -p "target/corpus/$t"
    cargo fuzz run "$t" "target/corpus/$t" "corpus/$t" -- \
        -max_total_time="$secs" -max_len=65536 -rss_limit_mb=1024 -print_final_stats=1
done
