#!/usr/bin/env bash
# luci-app-rail in headless Chromium on OpenWrt's real web stack (opt-in: RAIL_OWRT, an
# OpenWrt prefix with LuCI built by scripts/owrt/build.sh; docs/luci.md):
#
#   tests/luci/real/run.sh                the browser tests (node --test, *.test.js here)
#   tests/luci/real/run.sh shots DIR      the same, saving the screenshots into DIR
#
# It builds a lab of two uplinks (tests/lab/lab.sh), serves LuCI with luci-app-rail
# installed as opkg lays it out (scripts/owrt/run-luci.sh -a luci-app-rail), starts rail in
# the lab's router against the same ubusd as rpcd, and a stand-in for procd's `service`
# object that reloads rail when rpcd applies /etc/config/rail. Logins: root (password
# "rail", every ACL) and "viewer" (password "viewer", LuCI's status pages but not the
# luci-app-rail ACL). With RAIL_OWRT_SRC naming the upstream checkouts, the material theme
# from luci/themes is installed too, for the second-theme test. Without RAIL_OWRT (or not
# root) it says so in one line and exits 0. KEEP=1 leaves the state directory behind;
# RAIL_LUCI_TESTS=PATTERN runs only the tests whose names match.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)

skip() {
	echo "tests/luci/real: skipped: $*"
	exit 0
}
[ -n "${RAIL_OWRT:-}" ] || skip "RAIL_OWRT is not set (an OpenWrt prefix with LuCI; docs/owrt.md)"
P=$(realpath "$RAIL_OWRT")
[ -d "$P/luci-root/www" ] || skip "$P has no luci-root (scripts/owrt/build.sh builds it)"
run_luci=${RAIL_RUN_LUCI:-$repo/scripts/owrt/run-luci.sh}
[ -x "$run_luci" ] || skip "no $run_luci"
[ "$(id -u)" = 0 ] || skip "not root (the lab and the chroot need it)"

shots=
if [ "${1:-}" = shots ]; then
	shots=$(realpath -m "${2:?shots needs a directory}")
	mkdir -p "$shots"
fi

if ! command -v chromium >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq chromium >/dev/null
fi
(cd "$repo" && CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build -q --bin rail)
rail=$repo/target/debug/rail
lab_sh=$repo/tests/lab/lab.sh

state=$(mktemp -d /tmp/rail-luci.XXXXXX)
lab=luci$$
port=$((20000 + $$ % 20000))
pids=()
cleanup() {
	[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	"$lab_sh" down "$lab" >/dev/null 2>&1 || true
	if [ -n "${KEEP:-}" ]; then
		echo "tests/luci/real: state kept in $state"
	else
		rm -rf "$state"
	fi
}
trap cleanup EXIT

"$lab_sh" up "$lab" --isps 2 >/dev/null

# /etc/config: rail's for the lab; rpcd's with root and the viewer without rail's ACL.
mkdir -p "$state/config"
"$lab_sh" rail-config "$lab" >"$state/config/rail"
cp "$P/luci-root/etc/config/rpcd" "$state/config/rpcd"
cat >>"$state/config/rpcd" <<EOF

config login
	option username 'viewer'
	option password '$(openssl passwd -6 viewer)'
	list read 'unauthenticated'
	list read 'luci-base'
	list read 'luci-mod-status-index'
	list read 'luci-mod-status'
EOF
apps=(-a "$repo/luci-app-rail")
material=${RAIL_OWRT_SRC:+$RAIL_OWRT_SRC/luci/themes/luci-theme-material}
if [ -n "$material" ] && [ -d "$material/htdocs" ]; then
	apps+=(-a "$material")
	cp "$P/luci-root/etc/config/luci" "$state/config/luci"
	sed -i "/^config internal 'themes'/a\\	option Material '/luci-static/material'" "$state/config/luci"
	export RAIL_LUCI_MATERIAL=1
fi

"$run_luci" -p "$port" -w rail "${apps[@]}" -c "$state/config" "$state/stack" 2>"$state/run-luci.log" &
pids+=($!)
for _ in $(seq 300); do
	[ -e "$state/stack/ready" ] && break
	kill -0 "${pids[0]}" 2>/dev/null || { cat "$state/run-luci.log" >&2; exit 1; }
	sleep 0.1
done
[ -e "$state/stack/ready" ] || { echo "tests/luci/real: LuCI did not come up" >&2; cat "$state/run-luci.log" >&2; exit 1; }
sock=$state/stack/ubus.sock
conf=$state/stack/upper/etc/config/rail
ubus=("$P/bin/ubus" -s "$sock")

"$P/bin/ucode" "$here/procd-stub.uc" "$sock" "$state/procd.log" rail "${ubus[*]} call rail reload" &
pids+=($!)
ip netns exec "$lab-rtr" "$rail" -c "$conf" -s "$sock" daemon -f >"$state/rail.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	"${ubus[@]}" call rail status >/dev/null 2>&1 && "${ubus[@]}" list service >/dev/null 2>&1 && break
	sleep 0.1
done
"${ubus[@]}" list service >/dev/null || { echo "tests/luci/real: the procd stand-in did not come up" >&2; exit 1; }
"${ubus[@]}" call rail status >/dev/null || { echo "tests/luci/real: rail did not come up" >&2; cat "$state/rail.log" >&2; exit 1; }

export LUCI_URL=http://127.0.0.1:$port/cgi-bin/luci RAIL_BIN=$rail RAIL_CONF=$conf RAIL_LAB=$lab \
	LAB_SH=$lab_sh RAIL_STATE=$state UBUS="${ubus[*]}" RAIL_SHOTS=$shots
node --experimental-websocket --no-warnings --test --test-concurrency=1 \
	${RAIL_LUCI_TESTS:+--test-name-pattern="$RAIL_LUCI_TESTS"} "$here"/*.test.js
