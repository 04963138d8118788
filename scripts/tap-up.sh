#!/usr/bin/env bash
# Creates a persistent tap device owned by a non-root user, with the host side configured,
# so that `taplab serve` can run as that user and attach to it.
# usage: sudo scripts/tap-up.sh [NAME [USER]]     (defaults: tap0, the user who ran sudo)
# Environment: HOST_ADDR (192.168.69.100/24), HOST_ADDR6 (fdaa::100/64), MTU (1500).
set -euo pipefail
name=${1:-tap0}
user=${2:-${SUDO_USER:-$(id -un)}}
if [ "$(id -u)" -ne 0 ]; then
    echo "tap-up.sh: creating a tap needs root: sudo $0 $*" >&2
    exit 1
fi
if ip link show dev "$name" >/dev/null 2>&1; then
    echo "tap-up.sh: $name already exists; remove it first: sudo scripts/tap-down.sh $name" >&2
    exit 1
fi
ip tuntap add dev "$name" mode tap user "$user"
ip link set dev "$name" mtu "${MTU:-1500}"
ip addr add "${HOST_ADDR:-192.168.69.100/24}" dev "$name"
ip -6 addr add "${HOST_ADDR6:-fdaa::100/64}" dev "$name" nodad
ip link set dev "$name" up
echo "tap-up.sh: $name is ready for user $user; now run (as $user): cargo run --release -- serve --tap $name"
