# shellcheck shell=bash
# shellcheck disable=SC2154 # $tmp is set by the script that sources this
# The harness of the packaging tests (cross/test-packaging.sh, cross/owrt-apk.sh), sourced
# after they set $tmp (a scratch directory): check <name> <command...> runs a command with
# its output kept aside, counts it in $passed or $failed and shows the output of a
# failure; fails <command...> succeeds when the command fails.
passed=0
failed=0
check() {
    local name="$1"
    shift
    if "$@" >"$tmp/out" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $name" >&2
        sed 's/^/    /' "$tmp/out" >&2
    fi
}
fails() { ! "$@"; }
