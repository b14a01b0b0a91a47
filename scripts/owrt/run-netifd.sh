#!/bin/bash
# Runs OpenWrt's netifd from a RAIL_OWRT prefix (docs/owrt.md) with its ucode where its
# compiled-in path expects it (/lib/netifd), in a private mount namespace, so the host's
# /lib stays untouched.
#
#   RAIL_OWRT=PREFIX scripts/owrt/run-netifd.sh [-n NETNS] [-p PROTODIR] -- NETIFD-ARGS...
#
# NETIFD-ARGS are netifd's own, typically `-c CONFDIR -s UBUS_SOCKET -h HOTPLUG -S`.
# -n NETNS   run in that network namespace (ip netns exec).
# -p DIR     also install DIR/*.uc as ucode proto handlers (/lib/netifd/proto).
# netifd replaces this script's process (exec): its pid is this script's pid, a signal to it
# stops netifd, and the mounts go with the namespace.
set -euo pipefail

usage() {
	sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

if [ -z "${RAIL_OWRT:-}" ]; then
	echo "run-netifd.sh: RAIL_OWRT must name the OpenWrt prefix (docs/owrt.md)" >&2
	exit 2
fi
P=$(realpath "$RAIL_OWRT")
netns=
proto=
while getopts n:p: opt; do
	case $opt in
	n) netns=$OPTARG ;;
	p) proto=$(realpath "$OPTARG") ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ -x "$P/sbin/netifd" ] || {
	echo "run-netifd.sh: no $P/sbin/netifd" >&2
	exit 1
}
[ -d "$P/lib/netifd" ] || {
	echo "run-netifd.sh: no $P/lib/netifd (netifd's ucode)" >&2
	exit 1
}

# One mount point per prefix; each namespace mounts its own tmpfs on it, so concurrent
# instances do not meet.
mnt=$P/run/netifd-ns
mkdir -p "$mnt"
# /lib is usr/lib on Debian; overlay whichever directory /lib really is.
lib=$(realpath /lib)

# The part that runs inside the new mount namespace.
# shellcheck disable=SC2016 # expanded by the inner shell
inner='
set -eu
mount -t tmpfs rail-netifd "$MNT"
mkdir -p "$MNT/layer/netifd"
cp -r "$P/lib/netifd/." "$MNT/layer/netifd/"
if [ -n "$PROTO" ]; then
	mkdir -p "$MNT/layer/netifd/proto"
	cp "$PROTO"/*.uc "$MNT/layer/netifd/proto/"
fi
mount -t overlay rail-netifd -o "lowerdir=$MNT/layer:$LIB" "$LIB"
exec "$P/sbin/netifd" "$@"
'
cmd=(env MNT="$mnt" P="$P" PROTO="$proto" LIB="$lib"
	unshare --mount --propagation private bash -c "$inner" netifd "$@")
if [ -n "$netns" ]; then
	exec ip netns exec "$netns" "${cmd[@]}"
fi
exec "${cmd[@]}"
