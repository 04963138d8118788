#!/usr/bin/env bash
# A throwaway demonstration: in a network namespace of its own, taplab serves www/ on
# tap0, curl fetches the page, tcpdump captures the exchange, and the capture is printed.
# Nothing touches the machine's own network. Needs root.
# usage: sudo scripts/demo.sh [extra taplab serve flags]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: network namespaces need root: sudo scripts/demo.sh" >&2
    exit 1
fi
for tool in ip tcpdump curl; do
    command -v $tool >/dev/null || { echo "demo.sh: $tool is missing (apt-get install iproute2 tcpdump curl)" >&2; exit 1; }
done
cargo build --release --quiet
ns=taplab-demo-$$
work=$(mktemp -d)
server_pid=; dump_pid=
cleanup() {
    [ -n "$dump_pid" ] && kill "$dump_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" target/release/taplab serve "$@" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do grep -q "http://" "$work/serve.log" && break; sleep 0.1; done
grep -q "http://" "$work/serve.log" || { cat "$work/serve.log"; exit 1; }
ip netns exec "$ns" tcpdump -i tap0 -nn -U --immediate-mode -w "$work/demo.pcap" 2>"$work/tcpdump.log" &
dump_pid=$!
for _ in $(seq 50); do grep -q "listening" "$work/tcpdump.log" && break; sleep 0.1; done
echo "== curl http://192.168.69.1/ (and the logo) from the host side, inside namespace $ns"
ip netns exec "$ns" curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{size_download} bytes %{url_effective}\n' \
    http://192.168.69.1/ -o /dev/null http://192.168.69.1/logo.svg
sleep 0.5
kill -INT "$dump_pid"; wait "$dump_pid" 2>/dev/null || true; dump_pid=
echo "== taplab's log"
cat "$work/serve.log"
echo "== the capture (tcpdump -r demo.pcap -nn)"
tcpdump -r "$work/demo.pcap" -nn 2>/dev/null
