#!/usr/bin/env bash
# Removes a persistent tap made by scripts/tap-up.sh.
# usage: sudo scripts/tap-down.sh [NAME]     (default tap0)
set -euo pipefail
name=${1:-tap0}
if [ "$(id -u)" -ne 0 ]; then
    echo "tap-down.sh: removing a tap needs root: sudo $0 $*" >&2
    exit 1
fi
if [ ! -e "/sys/class/net/$name/tun_flags" ]; then
    echo "tap-down.sh: $name is not a tap device (or does not exist); nothing done" >&2
    exit 1
fi
ip tuntap del dev "$name" mode tap
echo "tap-down.sh: removed $name"
