#!/usr/bin/env bash
# `make demo` until rail runs in the router: brings up the lab, gives the router a plain
# kernel multipath default route over ISP1 (Ethernet-like) and ISP2 (PPPoE-like), and shows
# which ISP carried each of 40 new connections from the LAN host: balanced, after carrier
# loss on ISP1, and with a silent blackhole behind ISP1 (what plain multipath cannot see,
# and what rail's probing is for). Tears the lab down on exit, also on Ctrl-C.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/lab.sh
NAME=demo$$
CONNECTIONS=40

if [ -t 1 ]; then
    BOLD=$'\e[1m' DIM=$'\e[2m' OFF=$'\e[0m'
else
    BOLD='' DIM='' OFF=''
fi

step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$OFF"; }
say() { printf '%s%s%s\n' "$DIM" "$*" "$OFF"; }
lab() { "$LAB" "$1" "$NAME" "${@:2}"; }
rtr() {
    say "router# $*"
    lab exec rtr "$@"
}
info() { lab info | sed -n "s/^$1=//p"; }

[ "$(id -u)" -eq 0 ] || {
    echo "demo: needs root (network namespaces); try: sudo make demo" >&2
    exit 1
}

trap 'step "tearing down"; lab down' EXIT
step "bringing up lab '$NAME': LAN host -> router -> ISP1, ISP2 -> Internet"
lab up --isps 2 --masq
for i in 1 2; do
    declare "dev$i=$(info "isp$i.dev")" "addr$i=$(info "isp$i.addr")" "gw$i=$(info "isp$i.gw")"
done
service=$(info service)
# shellcheck disable=SC2154 # dev1.. are set by the declare above
say "ISP1: $dev1 $addr1 via $gw1 (Ethernet-like); ISP2: $dev2 $addr2 peer $gw2 (PPPoE-like)"
say "the Internet service at $service answers with the source address it sees"

# Opens CONNECTIONS new connections from the LAN host and prints how many each ISP carried.
spread() {
    local counts n i bar
    say "lan# $CONNECTIONS x HTTP GET http://$service/ (each a new flow)"
    counts=$(lab exec lan python3 "$HERE/whoami.py" tally --host "$service" \
        -n "$CONNECTIONS" --timeout 0.4)
    for i in 1 2 failed; do
        local key
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

step "kernel multipath over ISP1 and ISP2, L4 hash so flows spread"
rtr sysctl -qw net.ipv4.fib_multipath_hash_policy=1
# Without this the kernel keeps using a nexthop whose device lost its carrier.
rtr sysctl -qw net.ipv4.conf.all.ignore_routes_with_linkdown=1
rtr ip route add default nexthop via "$gw1" dev "$dev1" nexthop via "$gw2" dev "$dev2"
rtr ip route show default
spread

step "carrier loss on ISP1: the kernel alone moves new flows to ISP2"
lab fault carrier 1 >/dev/null
rtr ip route show default
spread
lab clear 1 >/dev/null

step "silent blackhole behind ISP1: link up, first hop answers, nothing beyond"
lab fault blackhole 1 >/dev/null
rtr ping -q -c1 -W1 "$gw1"
spread
say "plain multipath keeps hashing flows into the dead ISP: rail probes each uplink"
say "through itself and takes ISP1 out of the route within a second"
lab clear 1 >/dev/null
