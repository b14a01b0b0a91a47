#!/usr/bin/env bash
# cross/size.sh: the size of every cross-built rail binary and of every package in
# target/dist, as a table, and the budget a 16 MB router can afford (issue 7): the stripped
# mips binary at most 1.0 MiB and the mips .ipk at most 500 KiB (the mips .apk, what
# OpenWrt 25.12 downloads instead, is held to the same 500 KiB). Sizes are deterministic
# (the release profile strips, the packages are reproducible), so a breach is a real
# change: exits 1 when one is over budget, and when the mips artifacts are missing with
# --require. GUARD_MIPS_BINARY / GUARD_MIPS_IPK (bytes, set by cross/ci.sh) add a tighter
# limit under the budget, today's size plus a small margin, so growth is noticed and
# argued for long before the budget breaks; a row over its guard fails too.
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

BUDGET_MIPS_BINARY="${BUDGET_MIPS_BINARY:-1048576}" # 1.0 MiB
BUDGET_MIPS_IPK="${BUDGET_MIPS_IPK:-512000}"        # 500 KiB
BUDGET_MIPS_APK="${BUDGET_MIPS_APK:-$BUDGET_MIPS_IPK}"
GUARD_MIPS_BINARY="${GUARD_MIPS_BINARY:-}"
GUARD_MIPS_IPK="${GUARD_MIPS_IPK:-}"
require=0
[ "${1:-}" = "--require" ] && require=1

kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
over=0
# judge <bytes> <limit> <name>: "<name> met (<= limit)" or "OVER <NAME> (limit)", which
# also remembers the breach; nothing without a limit.
judge() {
    [ -n "$2" ] || return 0
    if [ "$1" -le "$2" ]; then
        echo "$3 met (<= $(kib "$2"))"
    else
        echo "OVER ${3^^} ($(kib "$2"))"
    fi
}
# row <target> <artifact> <file> [budget [guard]]: prints one line, remembers a breach.
row() {
    local bytes budget guard verdict
    bytes="$(wc -c <"$3")"
    budget="$(judge "$bytes" "${4:-}" budget)"
    guard="$(judge "$bytes" "${5:-}" guard)"
    [[ "$budget$guard" == *OVER* ]] && over=1
    verdict="${budget:--}${guard:+, $guard}"
    printf '%-30s %-42s %10s %11s  %s\n' "$1" "$2" "$bytes" "$(kib "$bytes")" "$verdict"
}

printf '%-30s %-42s %10s %11s  %s\n' "target" "artifact" "bytes" "size" "budget"
mips_bin="" mips_ipk=""
version="$(package_version)"
while IFS='|' read -r triple arch _; do
    mips=""
    [ "$triple" = mips-unknown-linux-musl ] && mips=1
    bin="$(release_binary "$triple")"
    if [ -f "$bin" ]; then
        file "$bin" | grep -q 'not stripped' && echo "size: warning: $bin is not stripped" >&2
        row "$triple" "rail (stripped binary)" "$bin" "${mips:+$BUDGET_MIPS_BINARY}" \
            "${mips:+$GUARD_MIPS_BINARY}"
        [ -n "$mips" ] && mips_bin="$bin"
    fi
    ipk="$DIST_DIR/rail_${version}_${arch}.ipk"
    if [ -f "$ipk" ]; then
        row "$triple" "$(basename "$ipk")" "$ipk" "${mips:+$BUDGET_MIPS_IPK}" "${mips:+$GUARD_MIPS_IPK}"
        [ -n "$mips" ] && mips_ipk="$ipk"
    fi
    apk="$(apk_file rail "$arch")"
    if [ -f "$apk" ]; then
        row "$triple" "$arch/$(basename "$apk")" "$apk" "${mips:+$BUDGET_MIPS_APK}"
    fi
done <<<"$CROSS_TABLE"
luci="$DIST_DIR/luci-app-rail_${version}_all.ipk"
[ -f "$luci" ] && row "all" "$(basename "$luci")" "$luci"
luci="$(apk_file luci-app-rail noarch)"
[ -f "$luci" ] && row "noarch" "noarch/$(basename "$luci")" "$luci"

if [ "$require" = 1 ] && { [ -z "$mips_bin" ] || [ -z "$mips_ipk" ]; }; then
    echo "size: the mips binary and .ipk must be built first (make ipk TARGET=mips-unknown-linux-musl)" >&2
    exit 1
fi
if [ "$over" = 1 ]; then
    echo "size: over budget or guard: shrink the binary (features, dependencies), or argue for a new guard in cross/ci.sh (the budget is issue 7's)" >&2
    exit 1
fi
