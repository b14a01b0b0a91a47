#!/usr/bin/env bash
# The rail network lab: a LAN host, a router, N ISPs and an "Internet", each a network
# namespace; faults injected one command each. Topology and addresses: docs/lab.md.
#
#   lab.sh up NAME [--isps N] [--ppp LIST] [--masq]
#                                        build lab NAME (namespaces NAME-lan, NAME-rtr,
#                                        NAME-isp1..N, NAME-inet); N = 1..16, default 3;
#                                        LIST: PPPoE-like ISPs, e.g. 2,3 (default 2) or none
#   lab.sh down NAME                     remove everything of lab NAME (idempotent)
#   lab.sh info NAME                     key=value description (addresses, devices)
#   lab.sh exec NAME NODE CMD...         run CMD in NODE (lan, rtr, isp1.., inet)
#   lab.sh fault NAME KIND ISP [ARG]     KIND: carrier | blackhole [ipv4|ipv6] | loss PCT |
#                                        pppoe-drop | pppoe-up [new] | renew
#   lab.sh clear NAME ISP                undo every fault on ISP
#   lab.sh rail-config NAME              a rail configuration (UCI) for the lab's uplinks
#   lab.sh routes NAME N                 add N routes to the router's main table (scale)
#   lab.sh steer NAME CPUS               process what the router sends each ISP on CPUS
#                                        (hex mask, RPS): the far ends' work off rail's CPU
#   lab.sh list                          names of labs that exist on this machine
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN_DIR=${RAIL_LAB_RUN:-/run/rail-lab}
MAX_ISPS=16
# The PPPoE-like uplinks (up --ppp); every other ISP is Ethernet-like. Read from the lab's
# state once NAME is known.
PPP_LIST=2
TARGETS=(198.18.0.1 198.18.0.2 198.18.0.3 198.18.0.4 198.18.0.5 198.18.0.6 198.18.0.7 198.18.0.8)
SERVICE=198.18.0.80
TARGETS6=(2001:db8:ffff::1 2001:db8:ffff::2 2001:db8:ffff::3 2001:db8:ffff::4
    2001:db8:ffff::5 2001:db8:ffff::6 2001:db8:ffff::7 2001:db8:ffff::8)
SERVICE6=2001:db8:ffff::80
HTTP_PORT=80
ECHO_PORT=9000
LAN_NET=203.0.113
LAN_NET6=2001:db8:1:
LAN_DEV=lan0
# IPv6 is built when the kernel has it; `info` says which (ipv6=1|0).
if [ -d /proc/sys/net/ipv6 ]; then V6=1; else V6=0; fi

die() {
    echo "lab: $*" >&2
    exit 1
}

usage() {
    sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

check_name() {
    [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$ ]] ||
        die "bad lab name '$1': use 1-32 of [A-Za-z0-9_-], starting with a letter or digit"
}

# --- the address plan (docs/lab.md); k = ISP number - 1 -----------------------------------
# ISP i's customer block is 192.0.2.(16k)/28 and 2001:db8:100:i::/64; its Internet link
# 198.51.100.(4k)/30 and 2001:db8:200:i::/64. The second argument is the host part.
cust() { echo "192.0.2.$((16 * ($1 - 1) + $2))"; }
transit() { echo "198.51.100.$((4 * ($1 - 1) + $2))"; }
cust6() { echo "2001:db8:100:$1::$2"; }
transit6() { echo "2001:db8:200:$1::$2"; }

# Runs its arguments only when the lab has IPv6.
v6() { [ "$V6" -eq 0 ] || "$@"; }

is_ppp() { [[ " $PPP_LIST " == *" $1 "* ]]; }
uplink_dev() { if is_ppp "$1"; then echo "ppp-isp$1"; else echo "eth-isp$1"; fi; }
isp_end() { if is_ppp "$1"; then echo ppp-cust; else echo cust; fi; }

# An uplink's host parts depend on its generation, bumped by `pppoe-up new` and `renew`:
# generation 0 is router 2, ISP 1; later ones move within the block so that each differs
# from the one before.
gen_of() { cat "$RUN_DIR/$NAME/isp$1.gen" 2>/dev/null || echo 0; }
local_host() { echo $((2 + $1 % 6)); }
peer_host() { if [ "$1" -eq 0 ]; then echo 1; else echo $((8 + $1 % 6)); fi; }

# Host parts of the router's address and of its gateway on ISP $1, as they are now.
uplink_host() { local_host "$(gen_of "$1")"; }
gw_host() { peer_host "$(gen_of "$1")"; }

ns() { echo "$NAME-$1"; }

# The kernel acts on a carrier change at once only when the device's ifindex differs from
# its peer's (linkwatch_urgent_event); otherwise it may wait up to a second, and traffic and
# rail's netlink events with it. Every veth is therefore created from the side away from
# the router with a large fixed index, so that the two ends' indexes never match, and the
# router's ends keep kernel-chosen ones (new on every PPPoE-like reconnect).
far_index() { echo $((100000 + $1)); }

# Waits until DEV in node NODE has operational state WANT (UP or DOWN): the kernel applies
# carrier changes asynchronously, and a fault or clear is only done once it has.
wait_oper() {
    local node=$1 dev=$2 want=$3 tries
    for ((tries = 0; tries < 200; tries++)); do
        [[ $(ip -n "$(ns "$node")" -o link show dev "$dev" 2>/dev/null) != *" state $want "* ]] || return 0
        sleep 0.01
    done
    die "$dev in $node did not become $want within 2 s"
}

nsx() {
    local node=$1
    shift
    ip netns exec "$(ns "$node")" "$@"
}

# Namespaces that belong to lab NAME, whatever state a failed `up` left them in.
lab_namespaces() {
    ip netns list | awk '{print $1}' | grep -E "^${NAME}-(lan|rtr|inet|isp[0-9]+)$" || true
}

isp_count() {
    local n
    n=$(cat "$RUN_DIR/$NAME/isps" 2>/dev/null) || die "no lab '$NAME' (try: lab.sh list)"
    echo "$n"
}

check_isp() {
    local n
    n=$(isp_count)
    if ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ] || [ "$1" -gt "$n" ]; then
        die "lab '$NAME' has no ISP '$1' (ISPs are 1..$n)"
    fi
}

# Set before the node gets devices, so they inherit the defaults. Forwarding nodes ($2 = 1)
# are the router and the ISPs. DAD is off so addresses work at once; secondaries are
# promoted so that `renew` can drop an old primary address after adding the new one.
sysctls() {
    local node=$1 fwd=$2
    local set=(net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2
        net.ipv4.conf.all.promote_secondaries=1 net.ipv4.conf.default.promote_secondaries=1
        "net.ipv4.ip_forward=$fwd")
    [ "$V6" -eq 0 ] || set+=(net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
        net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
        "net.ipv6.conf.all.forwarding=$fwd")
    nsx "$node" sysctl -q -w "${set[@]}"
}

# --- up --------------------------------------------------------------------------------
# Creates node $1 with forwarding $2. The first `ip netns add` on a machine sets up
# /run/netns; the lock keeps labs that start at once from racing there.
new_ns() {
    mkdir -p "$RUN_DIR"
    flock "$RUN_DIR/.lock" ip netns add "$(ns "$1")"
    ip -n "$(ns "$1")" link set dev lo up
    sysctls "$1" "$2"
}

# The point-to-point session: a veth pair without ARP whose two ends share one MAC address,
# so frames reach the peer without neighbour resolution, like a PPP device. Deleting either
# end deletes both; recreating gives new ifindexes.
# IPv6 on it: the /64 with the same host parts, and fixed link-local addresses (the shared
# MAC would give both ends the same EUI-64 one).
ppp_create() {
    local i=$1 gen=$2 dev mac l p
    dev=$(uplink_dev "$i")
    mac=$(printf '02:00:5e:10:%02x:%02x' "$i" $((gen % 256)))
    l=$(local_host "$gen")
    p=$(peer_host "$gen")
    ip -n "$(ns "isp$i")" link add ppp-cust index "$(far_index "$i")" address "$mac" type veth \
        peer name "$dev" address "$mac" netns "$(ns rtr)"
    v6 ip -n "$(ns rtr)" link set dev "$dev" addrgenmode none
    v6 ip -n "$(ns "isp$i")" link set dev ppp-cust addrgenmode none
    ip -n "$(ns rtr)" link set dev "$dev" arp off up
    ip -n "$(ns "isp$i")" link set dev ppp-cust arp off up
    ip -n "$(ns rtr)" addr add "$(cust "$i" "$l")" peer "$(cust "$i" "$p")" dev "$dev"
    ip -n "$(ns "isp$i")" addr add "$(cust "$i" "$p")" peer "$(cust "$i" "$l")" dev ppp-cust
    v6 ip -n "$(ns rtr)" addr add fe80::2/64 dev "$dev"
    v6 ip -n "$(ns "isp$i")" addr add fe80::1/64 dev ppp-cust
    v6 ip -n "$(ns rtr)" addr add "$(cust6 "$i" "$l")/64" dev "$dev"
    v6 ip -n "$(ns "isp$i")" addr add "$(cust6 "$i" "$p")/64" dev ppp-cust
    wait_oper rtr "$dev" UP
}

up_isp() {
    local i=$1 tdev=isp$1
    new_ns "isp$i" 1
    # ISP <-> Internet
    ip -n "$(ns inet)" link add "$tdev" index "$(far_index "$i")" type veth \
        peer name upstream netns "$(ns "isp$i")"
    ip -n "$(ns inet)" addr add "$(transit "$i" 1)/30" dev "$tdev"
    ip -n "$(ns inet)" link set dev "$tdev" up
    ip -n "$(ns "isp$i")" addr add "$(transit "$i" 2)/30" dev upstream
    ip -n "$(ns "isp$i")" link set dev upstream up
    ip -n "$(ns "isp$i")" route add default via "$(transit "$i" 1)"
    ip -n "$(ns inet)" route add "$(cust "$i" 0)/28" via "$(transit "$i" 2)"
    v6 ip -n "$(ns inet)" addr add "$(transit6 "$i" 1)/64" dev "$tdev"
    v6 ip -n "$(ns "isp$i")" addr add "$(transit6 "$i" 2)/64" dev upstream
    v6 ip -n "$(ns "isp$i")" route add default via "$(transit6 "$i" 1)"
    v6 ip -n "$(ns inet)" route add "$(cust6 "$i" '')/64" via "$(transit6 "$i" 2)"
    # router <-> ISP
    echo 0 >"$RUN_DIR/$NAME/isp$i.gen"
    if is_ppp "$i"; then
        ppp_create "$i" 0
    else
        local dev
        dev=$(uplink_dev "$i")
        ip -n "$(ns "isp$i")" link add cust index "$(far_index "$i")" type veth \
            peer name "$dev" netns "$(ns rtr)"
        ip -n "$(ns "isp$i")" addr add "$(cust "$i" 1)/28" dev cust
        ip -n "$(ns "isp$i")" link set dev cust up
        ip -n "$(ns rtr)" addr add "$(cust "$i" 2)/28" dev "$dev"
        ip -n "$(ns rtr)" link set dev "$dev" up
        v6 ip -n "$(ns "isp$i")" addr add "$(cust6 "$i" 1)/64" dev cust
        v6 ip -n "$(ns rtr)" addr add "$(cust6 "$i" 2)/64" dev "$dev"
    fi
}

# The service listens on the wildcard address, so it can start (python takes a while) as
# soon as its namespace exists, while the rest is built; wait_service joins it.
SERVICE_PID=
start_service() {
    rm -f "$RUN_DIR/$NAME/whoami.pid"
    nsx inet setsid python3 "$HERE/whoami.py" serve --pidfile "$RUN_DIR/$NAME/whoami.pid" \
        --http-port "$HTTP_PORT" --echo-port "$ECHO_PORT" \
        </dev/null >"$RUN_DIR/$NAME/whoami.log" 2>&1 &
    SERVICE_PID=$!
}

wait_service() {
    local tries=0
    until [ -s "$RUN_DIR/$NAME/whoami.pid" ]; do
        tries=$((tries + 1))
        [ "$tries" -le 400 ] || die "the Internet service did not start: $(cat "$RUN_DIR/$NAME/whoami.log")"
        kill -0 "$SERVICE_PID" 2>/dev/null || die "the Internet service died: $(cat "$RUN_DIR/$NAME/whoami.log")"
        sleep 0.01
    done
}

masquerade() {
    nsx rtr nft -f - <<EOF
table inet lab_masq {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname != "$LAN_DEV" masquerade
    }
}
EOF
}

cmd_up() {
    local isps=3 masq=0
    while [ $# -gt 0 ]; do
        case $1 in
        --isps)
            isps=${2:-}
            shift 2 || usage
            ;;
        --masq)
            masq=1
            shift
            ;;
        --ppp)
            [[ ${2:-} =~ ^(none|[0-9]+(,[0-9]+)*)$ ]] || die "--ppp takes ISP numbers like 2,3 or none"
            PPP_LIST=${2//,/ }
            [ "$PPP_LIST" != none ] || PPP_LIST=
            shift 2
            ;;
        *) usage ;;
        esac
    done
    if ! [[ $isps =~ ^[0-9]+$ ]] || [ "$isps" -lt 1 ] || [ "$isps" -gt $MAX_ISPS ]; then
        die "--isps must be 1..$MAX_ISPS, not '$isps'"
    fi
    local p
    for p in $PPP_LIST; do
        if [ "$p" -lt 1 ] || [ "$p" -gt "$isps" ]; then
            die "--ppp: there is no ISP $p (ISPs are 1..$isps)"
        fi
    done
    if [ -n "$(lab_namespaces)" ] || [ -e "$RUN_DIR/$NAME" ]; then
        die "lab '$NAME' already exists (lab.sh down $NAME)"
    fi
    mkdir -p "$RUN_DIR/$NAME"
    # A half-built lab is removed rather than left behind.
    trap up_failed EXIT
    echo "$isps" >"$RUN_DIR/$NAME/isps"
    echo "$PPP_LIST" >"$RUN_DIR/$NAME/ppp"

    new_ns inet 0
    start_service
    local t
    {
        for t in "${TARGETS[@]}" "$SERVICE"; do echo "addr add $t/32 dev lo"; done
        if [ "$V6" -eq 1 ]; then
            for t in "${TARGETS6[@]}" "$SERVICE6"; do echo "addr add $t/128 dev lo"; done
        fi
    } | ip -n "$(ns inet)" -batch -

    new_ns rtr 1
    new_ns lan 0
    ip -n "$(ns lan)" link add eth0 index "$(far_index 0)" type veth peer name "$LAN_DEV" netns "$(ns rtr)"
    ip -n "$(ns rtr)" addr add "$LAN_NET.1/24" dev "$LAN_DEV"
    ip -n "$(ns rtr)" link set dev "$LAN_DEV" up
    ip -n "$(ns lan)" addr add "$LAN_NET.2/24" dev eth0
    ip -n "$(ns lan)" link set dev eth0 up
    ip -n "$(ns lan)" route add default via "$LAN_NET.1"
    v6 ip -n "$(ns rtr)" addr add "$LAN_NET6:1/64" dev "$LAN_DEV"
    v6 ip -n "$(ns lan)" addr add "$LAN_NET6:2/64" dev eth0
    v6 ip -n "$(ns lan)" route add default via "$LAN_NET6:1"

    local i
    for ((i = 1; i <= isps; i++)); do
        up_isp "$i"
    done
    [ "$masq" -eq 0 ] || masquerade
    for ((i = 1; i <= isps; i++)); do
        wait_oper rtr "$(uplink_dev "$i")" UP
    done
    wait_oper rtr "$LAN_DEV" UP
    wait_service
    trap - EXIT
}

up_failed() {
    echo "lab: up $NAME failed; removing it" >&2
    cmd_down
}

# --- down ------------------------------------------------------------------------------
cmd_down() {
    local n tries pids=()
    # Processes keep a namespace (and its devices) alive after `ip netns del`: end the
    # ones running inside this lab's namespaces first (the service, a rail under test).
    for n in $(lab_namespaces); do
        mapfile -t pids < <(ip netns pids "$n" 2>/dev/null)
        [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
    done
    for n in $(lab_namespaces); do
        for ((tries = 0; tries < 20; tries++)); do
            mapfile -t pids < <(ip netns pids "$n" 2>/dev/null)
            [ ${#pids[@]} -gt 0 ] || break
            sleep 0.05
        done
        [ ${#pids[@]} -eq 0 ] || kill -KILL "${pids[@]}" 2>/dev/null || true
        ip netns del "$n" 2>/dev/null || true
    done
    rm -rf "${RUN_DIR:?}/$NAME"
}

# --- info ------------------------------------------------------------------------------
cmd_info() {
    local isps i
    isps=$(isp_count)
    echo "name=$NAME"
    echo "isps=$isps"
    echo "lan_ns=$(ns lan)"
    echo "lan_dev=eth0"
    echo "lan_addr=$LAN_NET.2"
    echo "lan_prefix=24"
    echo "lan_gw=$LAN_NET.1"
    echo "rtr_ns=$(ns rtr)"
    echo "rtr_lan_dev=$LAN_DEV"
    echo "inet_ns=$(ns inet)"
    echo "targets=${TARGETS[*]}"
    echo "service=$SERVICE"
    echo "http_port=$HTTP_PORT"
    echo "echo_port=$ECHO_PORT"
    echo "ipv6=$V6"
    if [ "$V6" -eq 1 ]; then
        echo "lan_addr6=$LAN_NET6:2"
        echo "lan_gw6=$LAN_NET6:1"
        echo "targets6=${TARGETS6[*]}"
        echo "service6=$SERVICE6"
    fi
    local u g
    for ((i = 1; i <= isps; i++)); do
        u=$(uplink_host "$i")
        g=$(gw_host "$i")
        echo "isp$i.ns=$(ns "isp$i")"
        if is_ppp "$i"; then echo "isp$i.kind=ppp"; else echo "isp$i.kind=ethernet"; fi
        echo "isp$i.dev=$(uplink_dev "$i")"
        echo "isp$i.addr=$(cust "$i" "$u")"
        if is_ppp "$i"; then echo "isp$i.prefix=32"; else echo "isp$i.prefix=28"; fi
        echo "isp$i.gw=$(cust "$i" "$g")"
        if [ "$V6" -eq 1 ]; then
            echo "isp$i.addr6=$(cust6 "$i" "$u")"
            echo "isp$i.gw6=$(cust6 "$i" "$g")"
        fi
    done
}

# --- rail-config -----------------------------------------------------------------------
# Interfaces isp1..N on the router's uplink devices (the PPPoE-like one without a gateway:
# rail learns its peer), probing the first three targets, masquerading (the LAN is not
# routed back); one member each in policy 'balanced', which every rule-less flow uses.
# UCI merges a section named twice, so a caller appends e.g.
# "config interface 'isp1' / option interval '0.2'" to change one option.
cmd_rail_config() {
    local isps i
    isps=$(isp_count)
    printf '# rail configuration for lab %s (tests/lab/lab.sh rail-config)\n' "$NAME"
    printf "\nconfig globals 'globals'\n\toption log_level 'info'\n"
    for ((i = 1; i <= isps; i++)); do
        printf "\nconfig interface 'isp%s'\n\toption device '%s'\n" "$i" "$(uplink_dev "$i")"
        is_ppp "$i" || printf "\toption gateway '%s'\n" "$(cust "$i" "$(gw_host "$i")")"
        printf "\tlist track_ip '%s'\n" "${TARGETS[@]:0:3}"
        printf "\toption masquerade '1'\n"
    done
    for ((i = 1; i <= isps; i++)); do
        printf "\nconfig member 'isp%s_m1_w1'\n\toption interface 'isp%s'\n" "$i" "$i"
        printf "\toption metric '1'\n\toption weight '1'\n"
    done
    printf "\nconfig policy 'balanced'\n"
    for ((i = 1; i <= isps; i++)); do
        printf "\tlist use_member 'isp%s_m1_w1'\n" "$i"
    done
    printf "\toption last_resort 'unreachable'\n"
    printf "\nconfig rule 'all'\n\toption use_policy 'balanced'\n"
}

# --- routes ----------------------------------------------------------------------------
# N blackhole /32 routes in the router's main table, for showing that rail's cost does not
# grow with main: 198.19.0.0/16 (the benchmark range's second half, which nothing in the
# lab uses), repeated with a higher metric every 65536 routes. They carry no traffic.
cmd_routes() {
    local n=${1:-}
    if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -gt 1000000 ]; then
        die "routes needs a count 0..1000000, not '$n'"
    fi
    isp_count >/dev/null
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
        printf "route add blackhole 198.19.%d.%d/32 metric %d\n",
            int(i / 256) % 256, i % 256, 1000 + int(i / 65536) }' |
        ip -n "$(ns rtr)" -batch -
}

# veth delivers a packet within the sender's system call: without steering, the ISP's and
# the Internet's work on a probe (forwarding, nft, the echo reply and its way back) runs on
# the prober's thread and is charged to it. RPS on the ISP's end of each uplink queues what
# the router sends there to CPUS instead, as a NIC hands a packet to the far end's own CPU.
cmd_steer() {
    local mask=${1:-} i n
    [[ $mask =~ ^[0-9a-fA-F]+$ ]] || die "steer needs a hex CPU mask (e.g. 2 for CPU 1), not '$mask'"
    n=$(isp_count)
    for ((i = 1; i <= n; i++)); do
        nsx "isp$i" sh -c "echo $mask > /sys/class/net/$(isp_end "$i")/queues/rx-0/rps_cpus" ||
            die "cannot steer ISP $i's receive queue (no RPS in this kernel?)"
    done
}

# --- faults ----------------------------------------------------------------------------
# Each filtering fault is a table of its own in the ISP's namespace, so faults combine and
# `clear` removes them without touching anything else.
nft_fault() {
    local i=$1 table=$2 rule=$3
    nsx "isp$i" nft -f - <<EOF
table inet $table
delete table inet $table
table inet $table {
    chain forward {
        type filter hook forward priority filter; policy accept;
        $rule
    }
}
EOF
}

# Per-direction drop probability (in 1/10000) so a request and its reply, each crossing
# the ISP once, are lost together with probability PCT: 1 - (1 - q)^2 = PCT/100.
loss_per_direction() {
    awk -v p="$1" 'BEGIN { printf "%d", (1 - sqrt(1 - p / 100)) * 10000 + 0.5 }'
}

cmd_fault() {
    local kind=${1:-} i=${2:-}
    if [ -z "$kind" ] || [ -z "$i" ]; then usage; fi
    check_isp "$i"
    local applied
    case $kind in
    carrier)
        # The ISP's end goes down: the router's end shows NO-CARRIER.
        ip -n "$(ns "isp$i")" link set dev "$(isp_end "$i")" down
        applied=$EPOCHREALTIME
        wait_oper rtr "$(uplink_dev "$i")" DOWN
        ;;
    blackhole)
        case ${3:-} in
        "") nft_fault "$i" lab_blackhole "drop" ;;
        ipv4 | ipv6) nft_fault "$i" "lab_blackhole_$3" "meta nfproto $3 drop" ;;
        *) die "blackhole takes ipv4, ipv6 or nothing (both), not '$3'" ;;
        esac
        applied=$EPOCHREALTIME
        ;;
    loss)
        local pct=${3:-}
        if ! [[ $pct =~ ^[0-9]+$ ]] || [ "$pct" -gt 100 ]; then
            die "loss needs a percentage 0..100, not '$pct'"
        fi
        nft_fault "$i" lab_loss "numgen random mod 10000 < $(loss_per_direction "$pct") drop"
        applied=$EPOCHREALTIME
        ;;
    pppoe-drop)
        is_ppp "$i" || die "ISP $i is Ethernet-like; PPPoE-like ISPs: ${PPP_LIST:-none}"
        ip -n "$(ns rtr)" link del "$(uplink_dev "$i")" 2>/dev/null || true
        applied=$EPOCHREALTIME
        ;;
    pppoe-up)
        is_ppp "$i" || die "ISP $i is Ethernet-like; PPPoE-like ISPs: ${PPP_LIST:-none}"
        local gen
        gen=$(gen_of "$i")
        case ${3:-} in
        new) gen=$((gen + 1)) ;;
        "") ;;
        *) die "pppoe-up takes 'new' or nothing, not '$3'" ;;
        esac
        # A session that is still up is torn down first, as pppd would on a reconnect.
        ip -n "$(ns rtr)" link del "$(uplink_dev "$i")" 2>/dev/null || true
        echo "$gen" >"$RUN_DIR/$NAME/isp$i.gen"
        ppp_create "$i" "$gen"
        applied=$EPOCHREALTIME
        ;;
    renew)
        ! is_ppp "$i" || die "ISP $i is PPPoE-like: a new address comes with pppoe-up $i new"
        renew "$i"
        applied=$EPOCHREALTIME
        ;;
    *) die "unknown fault '$kind' (carrier, blackhole, loss PCT, pppoe-drop, pppoe-up [new], renew)" ;;
    esac
    echo "applied=$applied"
}

# A DHCP renew that brings a new address and gateway on Ethernet-like ISP $1: the device
# and its ifindex stay; the addresses move as netifd would move them.
renew() {
    local i=$1 dev old new ol op nl np
    dev=$(uplink_dev "$i")
    old=$(gen_of "$i")
    new=$((old + 1))
    ol=$(local_host "$old") op=$(peer_host "$old") nl=$(local_host "$new") np=$(peer_host "$new")
    ip -n "$(ns "isp$i")" addr add "$(cust "$i" "$np")/28" dev cust
    ip -n "$(ns rtr)" addr del "$(cust "$i" "$ol")/28" dev "$dev"
    ip -n "$(ns rtr)" addr add "$(cust "$i" "$nl")/28" dev "$dev"
    ip -n "$(ns "isp$i")" addr del "$(cust "$i" "$op")/28" dev cust
    v6 ip -n "$(ns "isp$i")" addr add "$(cust6 "$i" "$np")/64" dev cust
    v6 ip -n "$(ns rtr)" addr del "$(cust6 "$i" "$ol")/64" dev "$dev"
    v6 ip -n "$(ns rtr)" addr add "$(cust6 "$i" "$nl")/64" dev "$dev"
    v6 ip -n "$(ns "isp$i")" addr del "$(cust6 "$i" "$op")/64" dev cust
    echo "$new" >"$RUN_DIR/$NAME/isp$i.gen"
}

cmd_clear() {
    local i=${1:-}
    [ -n "$i" ] || usage
    check_isp "$i"
    local t
    for t in lab_blackhole lab_blackhole_ipv4 lab_blackhole_ipv6 lab_loss; do
        nsx "isp$i" nft delete table inet "$t" 2>/dev/null || true
    done
    if is_ppp "$i" && ! ip -n "$(ns rtr)" link show "$(uplink_dev "$i")" >/dev/null 2>&1; then
        ppp_create "$i" "$(gen_of "$i")"
    else
        ip -n "$(ns "isp$i")" link set dev "$(isp_end "$i")" up
        wait_oper rtr "$(uplink_dev "$i")" UP
        # Address resolution attempted during the outage may still be running out its
        # probes and would then fail the first packets after it; start both ends afresh.
        ip -n "$(ns rtr)" neigh flush dev "$(uplink_dev "$i")"
        ip -n "$(ns "isp$i")" neigh flush dev "$(isp_end "$i")"
    fi
    echo "applied=$EPOCHREALTIME"
}

cmd_list() {
    ip netns list | awk '{print $1}' | sed -n 's/-rtr$//p'
    [ -d "$RUN_DIR" ] && find "$RUN_DIR" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'
    true
}

main() {
    local cmd=${1:-}
    [ -n "$cmd" ] || usage
    shift
    if [ "$cmd" = list ]; then
        cmd_list | sort -u
        return
    fi
    NAME=${1:-}
    [ -n "$NAME" ] || usage
    shift
    check_name "$NAME"
    [ ! -e "$RUN_DIR/$NAME/ppp" ] || PPP_LIST=$(cat "$RUN_DIR/$NAME/ppp")
    case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    info) cmd_info ;;
    rail-config) cmd_rail_config ;;
    routes) cmd_routes "$@" ;;
    steer) cmd_steer "$@" ;;
    exec)
        [ $# -ge 2 ] || usage
        local node=$1
        shift
        [[ $node =~ ^(lan|rtr|inet|isp[0-9]+)$ ]] || die "unknown node '$node' (lan, rtr, isp1.., inet)"
        exec ip netns exec "$(ns "$node")" "$@"
        ;;
    fault) cmd_fault "$@" ;;
    clear) cmd_clear "$@" ;;
    *) usage ;;
    esac
}

main "$@"
