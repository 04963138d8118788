#!/usr/bin/env bash
# Prints taplab's figures next to a baseline measured in the same run on this machine:
# the kernel's own TCP stack serving the same files (python3 -m http.server across a veth
# pair with the same 1500-byte MTU). Reports page fetch time, MB/s for a 100 MiB file and
# taplab's peak RSS, and the ratios taplab/kernel. Everything runs inside two network
# namespaces this script makes and deletes. Needs root.
# usage: sudo scripts/bench.sh [ROUNDS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
if [ "$(id -u)" -ne 0 ]; then echo "bench.sh: needs root (network namespaces): sudo scripts/bench.sh" >&2; exit 1; fi
for tool in ip curl python3; do
    command -v $tool >/dev/null || { echo "bench.sh: $tool is missing (apt-get install iproute2 curl python3)" >&2; exit 1; }
done
cargo build --release --quiet

cli=taplab-bench-cli-$$; srv=taplab-bench-srv-$$
site=$(mktemp -d); out=$(mktemp -d)
taplab_pid=; py_pid=
cleanup() {
    [ -n "$taplab_pid" ] && kill "$taplab_pid" 2>/dev/null || true
    [ -n "$py_pid" ] && kill "$py_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    ip netns del "$cli" 2>/dev/null || true
    ip netns del "$srv" 2>/dev/null || true
    rm -rf "$site" "$out"
}
trap cleanup EXIT
cp www/* "$site"/
head -c $((100 << 20)) /dev/urandom > "$site/big.bin"

ip netns add "$cli"; ip netns add "$srv"
ip netns exec "$cli" ip link set lo up
ip netns exec "$srv" ip link set lo up
ip link add bv0 netns "$cli" type veth peer name bv1 netns "$srv"
ip netns exec "$cli" ip addr add 192.168.70.100/24 dev bv0
ip netns exec "$srv" ip addr add 192.168.70.1/24 dev bv1
ip netns exec "$cli" ip link set bv0 mtu 1500 up
ip netns exec "$srv" ip link set bv1 mtu 1500 up

ip netns exec "$cli" target/release/taplab serve --www "$site" >"$out/taplab.log" 2>&1 &
taplab_pid=$!
ip netns exec "$srv" python3 -m http.server 80 --bind 192.168.70.1 --directory "$site" >/dev/null 2>&1 &
py_pid=$!
for _ in $(seq 100); do
    grep -q "http://" "$out/taplab.log" && ip netns exec "$cli" curl -s -o /dev/null http://192.168.70.1/ && break
    sleep 0.1
done

# Median of N runs of curl's total time (s) or download speed (B/s).
measure() { # url field n
    for _ in $(seq "$3"); do
        ip netns exec "$cli" curl -sS --max-time 120 -o /dev/null -w "%{$2}\n" "$1"
    done | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
page_t=$(measure http://192.168.69.1/ time_total 21)
page_k=$(measure http://192.168.70.1/ time_total 21)
big_t=$(measure http://192.168.69.1/big.bin speed_download "$rounds")
big_k=$(measure http://192.168.70.1/big.bin speed_download "$rounds")
rss=$(awk '/VmHWM/ {print $2}' /proc/$taplab_pid/status)

awk -v pt="$page_t" -v pk="$page_k" -v bt="$big_t" -v bk="$big_k" -v rss="$rss" 'BEGIN {
    printf "%-34s %12s %12s %8s\n", "", "taplab", "kernel", "ratio"
    printf "%-34s %10.2f ms %9.2f ms %8.2f\n", "GET / (median of 21, curl total)", pt*1000, pk*1000, pt/pk
    printf "%-34s %7.1f MB/s %7.1f MB/s %8.2f\n", "100 MiB file (median)", bt/1e6, bk/1e6, bt/bk
    printf "%-34s %8d KiB\n", "taplab peak RSS (VmHWM)", rss
}'
