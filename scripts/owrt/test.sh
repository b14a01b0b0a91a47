#!/usr/bin/env bash
# `make owrt-test`: the opt-in tests against OpenWrt's own daemons (docs/owrt.md).
# Runs every tests/owrt_*.rs with `-- --ignored` (their tests are
# `#[ignore = "needs RAIL_OWRT ..."]`) and tests/luci/real/run.sh when present, then says
# how many real-daemon tests ran. Fails when RAIL_OWRT is unset, when a test fails, or when
# none ran.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${RAIL_OWRT:-}" ]; then
	echo "owrt-test: RAIL_OWRT must name a prefix of OpenWrt's daemons built from source (docs/owrt.md)" >&2
	exit 2
fi
[ -d "$RAIL_OWRT" ] || {
	echo "owrt-test: RAIL_OWRT=$RAIL_OWRT is not a directory" >&2
	exit 2
}
RAIL_OWRT=$(realpath "$RAIL_OWRT")
export RAIL_OWRT

log=$(mktemp)
trap 'rm -f "$log"' EXIT
ran=0
passed=0
failed=()

# Adds up libtest's "test result: ok. P passed; F failed; ..." lines (one per binary).
count_cargo() {
	awk '/^test result: / { for (i = 1; i <= NF; i++) {
		if ($(i + 1) ~ /^passed/) p += $i; if ($(i + 1) ~ /^failed/) f += $i } }
		END { print p + 0, f + 0 }' "$log"
}

for file in tests/owrt_*.rs; do
	[ -e "$file" ] || continue
	name=$(basename "$file" .rs)
	echo "== $name"
	if ! cargo test --test "$name" -- --ignored 2>&1 | tee "$log"; then
		failed+=("$name")
	fi
	read -r p f < <(count_cargo)
	passed=$((passed + p))
	ran=$((ran + p + f))
done

if [ -x tests/luci/real/run.sh ]; then
	echo "== tests/luci/real"
	# Its TAP summary (`# pass N` and `# fail N`, as node --test prints them) gives
	# the counts.
	if ! tests/luci/real/run.sh 2>&1 | tee "$log"; then
		failed+=(tests/luci/real)
	fi
	read -r p f < <(awk '/^# pass [0-9]+$/ { p += $3 } /^# fail [0-9]+$/ { f += $3 }
		END { print p + 0, f + 0 }' "$log")
	passed=$((passed + p))
	ran=$((ran + p + f))
fi

echo "owrt-test: $ran real-daemon tests ran against $RAIL_OWRT, $passed passed"
if [ ${#failed[@]} -gt 0 ]; then
	echo "owrt-test: FAILED: ${failed[*]}" >&2
	exit 1
fi
if [ "$ran" -eq 0 ]; then
	echo "owrt-test: no real-daemon test ran" >&2
	exit 1
fi
