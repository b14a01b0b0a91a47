#!/bin/bash
# Runs OpenWrt's web stack from a RAIL_OWRT prefix (docs/owrt.md): ubusd, rpcd, procd's
# `system` object (system-stub.uc), and uhttpd serving LuCI on 127.0.0.1, in a chroot
# inside a private mount namespace. The chroot's /etc, /usr and /www are overlays: the
# host's files below, the prefix's luci-root (OpenWrt's layout) above, app layers on top,
# writes going to STATEDIR/upper. Nothing on the host changes.
#
#   RAIL_OWRT=PREFIX scripts/owrt/run-luci.sh [options] STATEDIR
#
# -p PORT      uhttpd's port on 127.0.0.1 (default 8080)
# -s SOCKET    use the ubusd already listening there (default: start one, STATEDIR/ubus.sock)
# -a DIR       install a LuCI app from its source tree (htdocs/, root/, ucode/) the way
#              opkg lays out its package; repeatable, e.g. -a luci-app-rail
# -c DIR       copy DIR's files into /etc/config (e.g. a rail config)
# -w PASSWORD  root's password for the LuCI login (default: rail)
# -n NETNS     run in that network namespace (uhttpd's 127.0.0.1 is then the namespace's)
#
# Runs in the foreground until SIGTERM or SIGINT, then stops what it started; exits non-zero
# if a daemon dies. When LuCI answers, STATEDIR/ready holds its URL. In the chroot,
# /var/run/ubus/ubus.sock leads to the socket in use. What the stack writes (/etc/config/*)
# is in STATEDIR/upper/etc; logs in STATEDIR/log.
set -euo pipefail

here=$(dirname "$(realpath "$0")")
usage() {
	sed -n '2,22s/^# \{0,1\}//p' "$0" >&2
	exit 2
}
die() {
	echo "run-luci.sh: $*" >&2
	exit 1
}

[ -n "${RAIL_OWRT:-}" ] || die "RAIL_OWRT must name the OpenWrt prefix (docs/owrt.md)"
P=$(realpath "$RAIL_OWRT")
[ -d "$P/luci-root/www" ] || die "no $P/luci-root/www: the prefix has no LuCI (READY-luci)"
port=8080 sock='' password=rail netns=''
apps=() configs=()
while getopts p:s:a:c:w:n: opt; do
	case $opt in
	p) port=$OPTARG ;;
	s) sock=$(realpath "$OPTARG") ;;
	a) apps+=("$(realpath "$OPTARG")") ;;
	c) configs+=("$(realpath "$OPTARG")") ;;
	w) password=$OPTARG ;;
	n) netns=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
mkdir -p "$1"
S=$(realpath "$1")
own_ubusd=
if [ -z "$sock" ]; then
	sock=$S/ubus.sock
	own_ubusd=1
fi

# A fresh state: layers, uppers and logs from an earlier run are dropped.
rm -rf "${S:?}/layers" "$S/upper" "$S/work" "$S/log" "$S/ready"
mkdir -p "$S/log" "$S/root"

# Each app becomes a layer laid out as its package installs it (luci.mk).
lower_etc='' lower_usr='' lower_www=''
n=0
for app in "${apps[@]}"; do
	n=$((n + 1))
	l=$S/layers/$n
	mkdir -p "$l/etc" "$l/usr/share/ucode/luci" "$l/www"
	[ -d "$app/htdocs" ] && cp -r "$app/htdocs/." "$l/www/"
	[ -d "$app/ucode" ] && cp -r "$app/ucode/." "$l/usr/share/ucode/luci/"
	[ -d "$app/root" ] && cp -r "$app/root/." "$l/"
	# Later -a options win, as a later install would.
	lower_etc=$l/etc:$lower_etc
	lower_usr=$l/usr:$lower_usr
	lower_www=$l/www:$lower_www
done
lower_etc=$lower_etc$P/luci-root/etc:/etc
lower_usr=$lower_usr$P/luci-root/usr:/usr
lower_www=$lower_www$P/luci-root/www:$S/layers/empty
mkdir -p "$S/layers/empty"

for d in etc usr www; do
	mkdir -p "$S/upper/$d" "$S/work/$d"
done
mkdir -p "$S/upper/etc/config"
for c in "${configs[@]}"; do
	cp -r "$c/." "$S/upper/etc/config/"
done
# root's password for rpcd's login ($p$root in /etc/config/rpcd points at /etc/shadow).
hash=$(openssl passwd -6 "$password")
sed "s|^root:[^:]*:|root:$hash:|" /etc/shadow >"$S/upper/etc/shadow"
chmod 600 "$S/upper/etc/shadow"
cp "$here/system-stub.uc" "$S/system-stub.uc"

# The part that runs inside the new mount namespace.
# shellcheck disable=SC2016 # expanded by the inner shell
inner='
set -euo pipefail
R=$S/root
mount -t tmpfs rail-luci "$R"
for d in etc usr www; do mkdir -p "$R/$d"; done
mount -t overlay rail-luci -o "lowerdir=$LOWER_ETC,upperdir=$S/upper/etc,workdir=$S/work/etc" "$R/etc"
mount -t overlay rail-luci -o "lowerdir=$LOWER_USR,upperdir=$S/upper/usr,workdir=$S/work/usr" "$R/usr"
mount -t overlay rail-luci -o "lowerdir=$LOWER_WWW,upperdir=$S/upper/www,workdir=$S/work/www" "$R/www"
# The host'\''s top-level links (merged /usr: bin -> usr/bin, ...).
for e in /*; do
	[ -L "$e" ] && cp -P "$e" "$R/"
done
mkdir -p "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/run" "$R/var"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs rail-luci "$R/tmp"
mount -t tmpfs rail-luci "$R/run"
ln -s ../run "$R/var/run"
mkdir -p "$R/var/lock" "$R/root"
# The prefix (binaries and their libraries), the state and the socket, at the same paths.
for d in "$P" "$S" "$(dirname "$SOCK")"; do
	if ! mountpoint -q "$R$d" 2>/dev/null; then
		mkdir -p "$R$d"
		mount --bind "$d" "$R$d"
	fi
done
mkdir -p "$R/run/ubus"
[ "$SOCK" = /run/ubus/ubus.sock ] || ln -s "$SOCK" "$R/run/ubus/ubus.sock"

pids=()
stop() {
	trap - TERM INT EXIT
	[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
	wait
}
trap "stop; exit 0" TERM INT
trap stop EXIT
run() {
	local name=$1
	shift
	chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@" \
		>>"$S/log/$name.log" 2>&1 &
	pids+=($!)
}
if [ -n "$OWN_UBUSD" ]; then
	rm -f "$SOCK"
	run ubusd "$P/sbin/ubusd" -s "$SOCK"
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	[ -S "$SOCK" ] || { echo "run-luci.sh: ubusd did not start (see $S/log/ubusd.log)" >&2; exit 1; }
fi
run rpcd /usr/sbin/rpcd -s "$SOCK"
run system "$P/bin/ucode" "$S/system-stub.uc" "$SOCK"
run uhttpd /usr/bin/uhttpd -f -p "127.0.0.1:$PORT" -h /www -u /ubus -U "$SOCK" \
	-o /cgi-bin/luci -O /usr/share/ucode/luci/uhttpd.uc
uhttpd=${pids[-1]}
url=http://127.0.0.1:$PORT/cgi-bin/luci/
for _ in $(seq 200); do
	# Someone else on the port would answer too: uhttpd must still be running.
	kill -0 "$uhttpd" 2>/dev/null || { echo "run-luci.sh: uhttpd exited: $(tail -n 2 "$S/log/uhttpd.log")" >&2; exit 1; }
	code=$(curl -s -o /dev/null -w "%{http_code}" "$url" || true)
	[ "$code" = 403 ] || [ "$code" = 200 ] && break
	sleep 0.05
done
[ "$code" = 403 ] || [ "$code" = 200 ] || {
	echo "run-luci.sh: LuCI does not answer at $url (HTTP $code; logs in $S/log)" >&2
	exit 1
}
echo "$url" >"$S/ready"
echo "run-luci.sh: LuCI at $url (root password in -w), ubus at $SOCK" >&2
wait -n || true
echo "run-luci.sh: a daemon exited; stopping (logs in $S/log)" >&2
exit 1
'
cmd=(env S="$S" P="$P" SOCK="$sock" OWN_UBUSD="$own_ubusd" PORT="$port"
	LOWER_ETC="$lower_etc" LOWER_USR="$lower_usr" LOWER_WWW="$lower_www"
	unshare --mount --propagation private bash -c "$inner")
if [ -n "$netns" ]; then
	ip -n "$netns" link set lo up
	exec ip netns exec "$netns" "${cmd[@]}"
fi
exec "${cmd[@]}"
