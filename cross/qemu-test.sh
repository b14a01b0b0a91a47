#!/usr/bin/env bash
# cross/qemu-test.sh <triple> [test filter...]: builds the library's unit tests for
# <triple> and runs them under qemu-user, so byte-order and word-size assumptions (netlink,
# ubus blobs, ICMP checksums, MIPS32 without 64-bit atomics) are checked on the CPU they
# ship to. Tests that need root, network namespaces or netlink see RAIL_UNDER_QEMU=1 and
# skip themselves: qemu-user translates only part of the netlink ABI. (None does today;
# Unix sockets, epoll and timerfd work under qemu-user.)
set -euo pipefail
here="$(dirname "$0")"
# shellcheck source=cross/env.sh
. "$here/env.sh"

target="${1:?usage: cross/qemu-test.sh <triple> [test filter...]}"
shift
qemu="$(qemu_binary "$target")"
if ! command -v "$qemu" >/dev/null; then
    echo "cross: installing qemu-user-static for $qemu"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq qemu-user-static >/dev/null
fi

"$here/setup.sh" "$target"
cross_env "$target"
# The test harness needs the `test` crate and unwinding, so build-std takes cargo's
# default crate set here instead of std,panic_abort.
for i in "${!ZIGBUILD_ARGS[@]}"; do
    [[ ${ZIGBUILD_ARGS[$i]} == -Zbuild-std=* ]] && ZIGBUILD_ARGS[i]=-Zbuild-std
done

runner_var="CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$target")_RUNNER"
export "$runner_var=$qemu"
export RAIL_UNDER_QEMU=1

cd "$CROSS_ROOT"
echo "cross: unit tests for $target under $qemu"
cargo-zigbuild test --locked "${ZIGBUILD_ARGS[@]}" --lib -- "$@"
