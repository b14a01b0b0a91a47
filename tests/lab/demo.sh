#!/usr/bin/env bash
# `make demo`: rail in the lab's router, balancing a LAN host's connections over ISP1
# (Ethernet-like) and ISP2 (PPPoE-like); then a silent blackhole behind ISP1 (the link stays
# up and its first hop answers), rail's failover with its measured time, the repair and the
# failback. Tears the lab down on exit, also on Ctrl-C. About half a minute.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB=$HERE/lab.sh
NAME=demo$$
CONNECTIONS=40
WORK=$(mktemp -d)

if [ -t 1 ]; then
    BOLD=$'\e[1m' DIM=$'\e[2m' OFF=$'\e[0m'
else
    BOLD='' DIM='' OFF=''
fi

step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$OFF"; }
say() { printf '%s%s%s\n' "$DIM" "$*" "$OFF"; }
lab() { "$LAB" "$1" "$NAME" "${@:2}"; }
info() { lab info | sed -n "s/^$1=//p"; }
rail() { lab exec rtr "$RAIL" -c "$WORK/rail.conf" "$@"; }

[ "$(id -u)" -eq 0 ] || {
    echo "demo: needs root (network namespaces); try: sudo make demo" >&2
    exit 1
}

cleanup() {
    step "tearing down"
    if [ -n "${RAIL_PID:-}" ] && kill "$RAIL_PID" 2>/dev/null; then
        wait "$RAIL_PID" 2>/dev/null || true
        say "rail stopped: $(tail -n 1 "$WORK/rail.log")"
    fi
    lab down
    rm -rf "$WORK"
}
trap cleanup EXIT

step "building rail"
(cd "$ROOT" && cargo build --quiet --bin rail)
RAIL=$ROOT/target/debug/rail

step "bringing up lab '$NAME': LAN host -> router -> ISP1, ISP2 -> Internet"
lab up --isps 2
service=$(info service)
say "ISP1: $(info isp1.dev) $(info isp1.addr) via $(info isp1.gw) (Ethernet-like)"
say "ISP2: $(info isp2.dev) $(info isp2.addr) peer $(info isp2.gw) (PPPoE-like)"
say "the Internet service at $service answers with the source address it sees"

# The lab's configuration, with fast probing: every 0.2 s, down after 3 lost rounds.
{
    lab rail-config
    for i in 1 2; do
        printf "\nconfig interface 'isp%s'\n" "$i"
        printf "\toption %s '%s'\n" interval 0.2 timeout 0.2 down 3 up 3 hold 0
    done
} >"$WORK/rail.conf"

step "starting rail in the router (probes every 0.2 s, down after 3 lost rounds)"
"$RAIL" -c "$WORK/rail.conf" check 2>&1 | sed 's/^/  rail check: /'
# Not through lab(): a function in the background would be a subshell, and $! its pid.
"$LAB" exec "$NAME" rtr "$RAIL" -c "$WORK/rail.conf" daemon -f >"$WORK/rail.log" 2>&1 &
RAIL_PID=$!

# Waits until interface $1 is in state $2 (at most 10 s); prints the milliseconds since
# the unix time $3. Polls `rail status --json` every 20 ms, as a monitoring system would,
# so the figure includes up to one poll of delay.
wait_state() {
    lab exec rtr python3 - "$RAIL" "$WORK/rail.conf" "$1" "$2" "$3" <<'EOF'
import json, subprocess, sys, time
rail, conf, iface, want, since = sys.argv[1:]
deadline = time.time() + 10
while time.time() < deadline:
    out = subprocess.run([rail, "-c", conf, "status", "--json"], capture_output=True, text=True)
    try:
        state = json.loads(out.stdout)["interfaces"][iface]["state"]
    except (ValueError, KeyError):
        state = None
    if state == want:
        print(round((time.time() - float(since)) * 1000))
        sys.exit(0)
    time.sleep(0.02)
sys.exit(f"{iface} did not become {want} within 10 s")
EOF
}

wait_state isp1 up "$EPOCHREALTIME" >/dev/null
wait_state isp2 up "$EPOCHREALTIME" >/dev/null
rail status

# Opens CONNECTIONS new connections from the LAN host and prints how many each ISP carried.
spread() {
    local counts n i key bar
    say "lan# $CONNECTIONS x HTTP GET http://$service/ (each a new connection)"
    counts=$(lab exec lan python3 "$HERE/whoami.py" tally --host "$service" \
        -n "$CONNECTIONS" --timeout 0.5)
    for i in 1 2 failed; do
        case $i in
        failed) key=error ;;
        *) key=$(info "isp$i.addr") ;;
        esac
        n=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], 0))' \
            "$counts" "$key")
        bar=$(printf '%*s' "$n" '' | tr ' ' '#')
        if [ "$i" = failed ]; then
            printf '  %-22s %3d  %s\n' "failed" "$n" "$bar"
        else
            printf '  ISP%s %-17s %3d  %s\n' "$i" "($key)" "$n" "$bar"
        fi
    done
}

step "balanced: new connections spread over both ISPs"
spread

step "silent blackhole behind ISP1: link up, first hop answers, nothing forwarded"
applied=$(lab fault blackhole 1 | sed -n 's/^applied=//p')
say "router# ping -c1 $(info isp1.gw)    (ISP1's first hop)"
lab exec rtr ping -q -c1 -W1 "$(info isp1.gw)" | sed -n 's/^/  /; /received/p'
took=$(wait_state isp1 down "$applied")
printf '%s  rail took ISP1 down %s ms after the fault (3 rounds of 0.2 s)%s\n' "$BOLD" "$took" "$OFF"
say "(measured by polling rail's status; make bench measures it precisely)"
spread
rail status | sed -n '/^Policies/,$p'

step "ISP1 repaired: rail brings it back after 3 good rounds"
applied=$(lab clear 1 | sed -n 's/^applied=//p')
took=$(wait_state isp1 up "$applied")
printf '%s  ISP1 up again %s ms after the repair%s\n' "$BOLD" "$took" "$OFF"
spread
