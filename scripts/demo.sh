#!/usr/bin/env bash
# A throwaway demonstration: in a network namespace of its own, taplab serves www/ on
# tap0, curl fetches from it, tcpdump captures the exchange, and `taplab trace` lists the
# capture as Wireshark would, with both ends' TCP states. Nothing touches the machine's
# own network. Needs root.
# usage: sudo scripts/demo.sh [taplab serve flags] [-- curl arguments]
#   sudo scripts/demo.sh                                   # GET / and /logo.svg, one connection
#   sudo scripts/demo.sh --close client-first --close-wait 200
#   sudo scripts/demo.sh -- -o /dev/null http://192.168.69.1/intro.wav
# TAPLAB_BIN=FILE runs that taplab instead of building target/release/taplab (the tests
# use it: cargo holds the build directory while they run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: network namespaces need root: sudo scripts/demo.sh" >&2
    exit 1
fi
for tool in ip tcpdump curl; do
    command -v $tool >/dev/null || { echo "demo.sh: $tool is missing (apt-get install iproute2 tcpdump curl)" >&2; exit 1; }
done
serve_args=(); curl_args=()
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; curl_args=("$@"); break; fi
    serve_args+=("$1"); shift
done
if [ ${#curl_args[@]} -eq 0 ]; then
    curl_args=(-o /dev/null -w '%{http_code} %{size_download} bytes %{url_effective}\n'
        http://192.168.69.1/ -o /dev/null http://192.168.69.1/logo.svg)
fi
bin=${TAPLAB_BIN:-}
if [ -z "$bin" ]; then
    cargo build --release --quiet
    bin=target/release/taplab
fi
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
ip netns exec "$ns" "$bin" serve "${serve_args[@]}" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do grep -q "http://" "$work/serve.log" && break; sleep 0.1; done
grep -q "http://" "$work/serve.log" || { cat "$work/serve.log"; exit 1; }
# -B: a kernel buffer large enough that tcpdump drops no frame of the audio file.
ip netns exec "$ns" tcpdump -i tap0 -nn -U --immediate-mode -B 65536 -w "$work/demo.pcap" 2>"$work/tcpdump.log" &
dump_pid=$!
for _ in $(seq 50); do grep -q "listening" "$work/tcpdump.log" && break; sleep 0.1; done
echo "== curl, from the host side (inside namespace $ns)"
ip netns exec "$ns" curl -sS --max-time 10 "${curl_args[@]}" || echo "(curl exited with status $?)"
# Wait for what follows curl's exit: our FIN (later with --close-wait) and the last ACK.
sleep 1
kill -INT "$dump_pid"; wait "$dump_pid" 2>/dev/null || true; dump_pid=
echo "== taplab's log"
cat "$work/serve.log"
echo "== the capture, as tcpdump on tap0 saw it, listed by taplab trace"
"$bin" trace "$work/demo.pcap"
