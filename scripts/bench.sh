#!/usr/bin/env bash
# The benchmark (issue 10): taplab next to three baselines measured in the same run on
# this machine, printed as one markdown table with every ratio (taplab ÷ baseline).
#
#   taplab        target/release/taplab serve, on a tap it makes (tl0, tl1)
#   bare smoltcp  examples/bench_smoltcp.rs: smoltcp 0.14 alone, on a tap made here (sm0, sm1)
#   kernel epoll  examples/bench_epoll.rs: the kernel's TCP, one thread, across a veth pair
#   nginx         Debian's nginx (one process, from a config made here), across the veth
#
# Rows: bulk 64 MiB with curl at MTU 1500, 9000 and 65521, taplab with and without
# --offload; keep-alive req/s and p50/p99 latency with wrk at 1, 16 and 256 connections on
# a 200-byte file; new connections per second (Connection: close); RSS and a fresh GET's
# latency while 1,000 and 10,000 idle keep-alive connections are held (bench_hold); bulk
# with 16 vs 10,000 sockets allowed; `taplab lab page-load` wall time (hyperfine).
#
# A row whose flags this taplab does not take (e.g. --offload, --max-conns 10000 before
# they land) shows `n/a (this build: <taplab's error>)` in taplab's cell; the row starts
# working by itself when the flag does. Figures are printed, never asserted: the machine
# is shared and noisy, which is why every ratio is against a baseline of the same run,
# the configurations a row compares run side by side with their rounds interleaved, and
# each cell is the median of its rounds.
#
# Everything runs in two network namespaces made here (clients in one; the kernel servers
# in the other), logging off. Nothing is pinned to a CPU: a server and its client on
# the same core hand over without a cross-core wakeup, and the scheduler finds that
# (pinned apart, 1-connection req/s fell to a third). Every client command has a time
# limit and the whole run a watchdog; everything started is stopped by PID and the
# namespaces deleted on exit, also on failure. Installs wrk, nginx and hyperfine
# (Debian) when missing. Needs root (namespaces, taps).
#
# usage: sudo scripts/bench.sh [--quick]
#   --quick: the same table with 1 round, 1-second wrk runs and 100/1,000 idle
#            connections (CI; about a minute after the build)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
case "${1:-}" in
    --quick) quick=1 ;;
    "") ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (usage: sudo scripts/bench.sh [--quick])" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
    echo "bench.sh: needs root for its network namespaces and taps: sudo scripts/bench.sh" >&2
    exit 1
fi

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ip || need+=(iproute2)
have curl || need+=(curl)
have wrk || need+=(wrk)
have nginx || need+=(nginx)
have hyperfine || need+=(hyperfine)
if [ ${#need[@]} -gt 0 ]; then
    echo "bench.sh: installing ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${need[@]}" >/dev/null
fi
[ -e /dev/net/tun ] || modprobe tun

if [ $quick = 1 ]; then
    rounds=1 bulk_rounds=1 dur=1 idle_counts="100 1000" lat_gets=5 page_runs=3 limit=600
else
    rounds=3 bulk_rounds=5 dur=5 idle_counts="1000 10000" lat_gets=11 page_runs=10 limit=1800
fi
bulk_mib=64
hold_secs=240

cargo build --release --locked --quiet --bins --examples
taplab=$PWD/target/release/taplab
ex=$PWD/target/release/examples

# Room for 10,000 held connections per process (the hard limit may not be raisable here).
ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)

cli=tlbench-c-$$ srv=tlbench-s-$$
tmp=$(mktemp -d /tmp/taplab-bench.XXXXXX)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# Every server process by instance name; the holder and the watchdog apart.
declare -A pid=()
hold_pid='' dog_pid=''
stop_pid() { # PID: SIGTERM, up to 5 s, then SIGKILL
    local p=$1
    [ -n "$p" ] || return 0
    kill -TERM "$p" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}
stop() { # INSTANCE...
    local i
    for i in "$@"; do
        stop_pid "${pid[$i]:-}"
        unset "pid[$i]"
    done
}
cleanup() {
    local i
    stop_pid "$hold_pid"
    for i in "${!pid[@]}"; do stop_pid "${pid[$i]}"; done
    stop_pid "$dog_pid"
    ip netns del "$cli" 2>/dev/null || true
    ip netns del "$srv" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "bench.sh: stopped" >&2; exit 143' TERM INT
# The watchdog: the whole run is bounded even if something hangs between time limits.
# ($$ is this script also inside the subshell; stopping the watchdog stops its sleep.)
(
    trap 'kill "$s" 2>/dev/null; exit 0' TERM
    sleep "$limit" &
    s=$!
    wait "$s" && kill -TERM $$ 2>/dev/null
) &
dog_pid=$!

# For commands run in the foreground only: `in_cli prog &` would background a subshell,
# and $! would not be prog's PID. Background commands use `ip netns exec` directly (it
# execs the program, which keeps the PID).
in_cli() { ip netns exec "$cli" "$@"; }

# --- the site: a 200-byte page and the bulk file ---------------------------------------
site=$tmp/site
mkdir "$site"
{
    printf '<!doctype html><title>bench</title><p>'
    head -c 157 /dev/zero | tr '\0' 'x'
    printf '</p>\n'
} >"$site/f200.html"
head -c $((bulk_mib << 20)) /dev/urandom >"$site/big.bin"
# The idle rows compare memory: there the baselines hold only the small page in memory.
mkdir "$tmp/site-small"
cp "$site/f200.html" "$tmp/site-small/"
small=/f200.html big=/big.bin

# --- the namespaces ----------------------------------------------------------------------
# Clients, taplab and the bare smoltcp server in $cli (a tap's host side is where its
# clients are); the kernel servers in $srv, across the veth pair bv0–bv1.
ip netns add "$cli"
ip netns add "$srv"
in_cli ip link set lo up
ip netns exec "$srv" ip link set lo up
# Many short connections from one client address: reuse TIME-WAIT ports, use them all.
in_cli sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
ip link add bv0 netns "$cli" type veth peer name bv1 netns "$srv"
in_cli ip addr add 192.168.70.100/24 dev bv0
ip netns exec "$srv" ip addr add 192.168.70.1/24 dev bv1
in_cli ip link set bv0 up
ip netns exec "$srv" ip link set bv1 up
set_veth_mtu() { in_cli ip link set bv0 mtu "$1"; ip netns exec "$srv" ip link set bv1 mtu "$1"; }

# Two instances each of taplab (tA, tB) and of the bare server (bA, bB), so that the
# configurations a row compares run side by side and their rounds interleave.
declare -A url=(
    [tA]=http://192.168.69.1 [tB]=http://192.168.72.1
    [bA]=http://192.168.71.1 [bB]=http://192.168.73.1
    [kernel]=http://192.168.70.1:8080 [nginx]=http://192.168.70.1:80
)
declare -A net=([tA]=69 [tB]=72 [bA]=71 [bB]=73) tap=([tA]=tl0 [tB]=tl1 [bA]=sm0 [bB]=sm1)
for i in bA bB; do
    in_cli ip tuntap add dev "${tap[$i]}" mode tap
    in_cli ip addr add "192.168.${net[$i]}.100/24" dev "${tap[$i]}"
    in_cli ip link set "${tap[$i]}" up
done

# Waits up to 15 s for LOG to contain READY (if given) while PID lives, then up to 5 s
# for URL to answer a GET. On failure prints the process's first error line (or its
# log's last).
wait_ready() { # PID LOG READY URL
    local i=0
    while [ -n "$3" ] && [ $((i += 1)) -le 150 ]; do
        grep -q "$3" "$2" && break
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null && { [ -z "$3" ] || grep -q "$3" "$2"; }; then
        for _ in $(seq 50); do
            in_cli curl -s -o /dev/null --max-time 1 "$4$small" && return 0
            sleep 0.1
        done
        echo "started but did not answer GET $4$small within 5 s"
        return 1
    fi
    grep -m1 -i 'error' "$2" || tail -n1 "$2" || true
    [ "$i" -gt 150 ] && echo "no ready line within 15 s"
    return 1
}

# Starts taplab serve ARGS as instance tA or tB. On failure sets err[INSTANCE] to
# taplab's one-line error (what a row prints in taplab's cell) and returns 1.
declare -A err=()
start_taplab() { # INSTANCE ARGS...
    local i=$1 n=${net[$1]} v6 e
    shift
    v6=$([ "$i" = tA ] && echo fdaa || echo fdab)
    : >"$tmp/taplab-$i.log" # empty before the start, so no earlier ready line is seen
    RUST_LOG=warn ip netns exec "$cli" "$taplab" serve --tap "${tap[$i]}" --addr "192.168.$n.1/24" \
        --host-addr "192.168.$n.100/24" --addr6 "$v6::1/64" --host-addr6 "$v6::100/64" \
        --www "$site" "$@" >"$tmp/taplab-$i.log" 2>&1 &
    pid[$i]=$!
    if e=$(wait_ready "${pid[$i]}" "$tmp/taplab-$i.log" "http://" "${url[$i]}"); then
        return 0
    fi
    err[$i]="n/a (this build: $(echo "$e" | head -n1 | sed 's/^taplab: //; s/|/\\|/g'))"
    stop "$i"
    return 1
}

start_bare() { # INSTANCE CONNS MTU [DIR]
    local i=$1
    in_cli ip link set "${tap[$i]}" mtu "$3"
    : >"$tmp/bare-$i.log"
    ip netns exec "$cli" "$ex/bench_smoltcp" --tap "${tap[$i]}" --addr "192.168.${net[$i]}.1/24" \
        --dir "${4:-$site}" --conns "$2" >"$tmp/bare-$i.log" 2>&1 &
    pid[$i]=$!
    wait_ready "${pid[$i]}" "$tmp/bare-$i.log" serving "${url[$i]}" >&2 || {
        echo "bench.sh: bench_smoltcp --conns $2 on ${tap[$i]} (MTU $3) did not start; its log:" >&2
        cat "$tmp/bare-$i.log" >&2
        exit 1
    }
}

start_epoll() { # DIR
    : >"$tmp/epoll.log"
    ip netns exec "$srv" "$ex/bench_epoll" --listen 192.168.70.1:8080 --dir "$1" \
        >"$tmp/epoll.log" 2>&1 &
    pid[kernel]=$!
    wait_ready "${pid[kernel]}" "$tmp/epoll.log" serving "${url[kernel]}" >&2 || {
        echo "bench.sh: bench_epoll did not start; its log:" >&2
        cat "$tmp/epoll.log" >&2
        exit 1
    }
}

start_nginx() {
    mkdir -p "$tmp/nginx"
    cat >"$tmp/nginx/nginx.conf" <<NGINX
# One process serving the bench's site, as the other servers here are single-threaded.
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile $nofile;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 12000; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 600s;
    keepalive_requests 100000000;
    client_body_temp_path $tmp/nginx/body;
    types { text/html html; application/octet-stream bin; }
    server {
        listen 192.168.70.1:80 backlog=4096;
        root $site;
    }
}
NGINX
    ip netns exec "$srv" nginx -p "$tmp/nginx" -e "$tmp/nginx/error.log" \
        -c "$tmp/nginx/nginx.conf" >"$tmp/nginx.log" 2>&1 &
    pid[nginx]=$!
    # nginx prints no ready line: wait_ready's GET is the test.
    wait_ready "${pid[nginx]}" "$tmp/nginx.log" "" "${url[nginx]}" >&2 || {
        echo "bench.sh: nginx did not start:" >&2
        cat "$tmp/nginx/error.log" >&2 || true
        exit 1
    }
}

# --- results: samples per cell, or a note in place of a figure --------------------------
cols=(taplab bare kernel nginx)
declare -A samples=() note=() label=() unit=() better=()
rows=()
row() { rows+=("$1"); label[$1]=$2; unit[$1]=$3; better[$1]=$4; }
add() { samples[$1/$2]="${samples[$1/$2]:-} $3"; }
na() { # ROW... COL TEXT: TEXT in place of COL's figure in each ROW
    local a=("$@") n=$#
    local r
    for r in "${a[@]:0:n-2}"; do note[$r/${a[n - 2]}]=${a[n - 1]}; done
}
warnings=()
median() { printf '%s\n' $1 | sort -g | awk '{v[NR]=$1} END { if (NR) print v[int((NR+1)/2)] }'; }
up() { [ -n "${pid[$1]:-}" ]; }

# One curl of the bulk file from INSTANCE; the sample is its speed in MB/s.
bulk_once() { # ROW COL INSTANCE
    local out code size speed
    up "$3" || return 0
    out=$(in_cli curl -sS --max-time 120 -o /dev/null \
        -w '%{http_code} %{size_download} %{speed_download}' "${url[$3]}$big" 2>&1) || true
    read -r code size speed _ <<<"$out" || true
    if [ "$code" = 200 ] && [ "$size" = $((bulk_mib << 20)) ]; then
        add "$1" "$2" "$(awk -v b="$speed" 'BEGIN { printf "%.1f", b / 1e6 }')"
    else
        warnings+=("bulk from ${url[$3]} ($2): ${out:-no answer}")
    fi
}

# wrk for $dur seconds: req/s, p50 and p99 in ms, from a Lua done() hook of ours.
cat >"$tmp/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %.1f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
LUA
wrk_once() { # ROWPREFIX COL INSTANCE CONNS [wrk args...]
    local pre=$1 col=$2 i=$3 c=$4 out line rps p50 p99 errs bad
    shift 4
    up "$i" || return 0
    out=$(in_cli timeout $((dur + 30)) wrk -t1 -c"$c" -d"${dur}s" --timeout 5s \
        -s "$tmp/report.lua" "$@" "${url[$i]}$small" 2>&1) || true
    line=$(grep '^WRK ' <<<"$out" || true)
    if [ -z "$line" ]; then
        warnings+=("wrk -c$c $* ($col): $(tail -n1 <<<"$out")")
        return 0
    fi
    read -r _ rps p50 p99 errs bad <<<"$line"
    add "${pre}_rps" "$col" "$rps"
    if [ -n "${unit[${pre}_p50]:-}" ]; then
        add "${pre}_p50" "$col" "$p50"
        add "${pre}_p99" "$col" "$p99"
    fi
    if [ "$errs" != 0 ] || [ "$bad" != 0 ]; then
        warnings+=("wrk -c$c $* ($col): $errs socket errors, $bad non-2xx responses")
    fi
}

# Holds N idle connections to INSTANCE, reads its RSS, times fresh GETs meanwhile.
hold_and_measure() { # N COL INSTANCE
    local n=$1 col=$2 i=$3 out t
    local hostport=${url[$i]#http://}
    : >"$tmp/hold.log"
    [ "$hostport" = "${hostport%:*}" ] && hostport=$hostport:80
    ip netns exec "$cli" timeout $((hold_secs + 10)) "$ex/bench_hold" --connect "$hostport" --path "$small" \
        --conns "$n" --hold "$hold_secs" >"$tmp/hold.log" 2>&1 &
    hold_pid=$!
    for _ in $(seq $((hold_secs * 10))); do
        grep -q -e '^held' -e 'error' "$tmp/hold.log" && break
        kill -0 "$hold_pid" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q '^held' "$tmp/hold.log"; then
        out=$(head -n1 "$tmp/hold.log")
        na "idle${n}_rss" "$col" "n/a (${out:-bench_hold gave no answer})"
        na "idle${n}_lat" "$col" "n/a"
    else
        add "idle${n}_rss" "$col" "$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/${pid[$i]}/status")"
        for _ in $(seq "$lat_gets"); do
            if t=$(in_cli curl -sS --max-time 10 -o /dev/null -w '%{time_total}' "${url[$i]}$small" 2>&1); then
                add "idle${n}_lat" "$col" "$(awk -v t="$t" 'BEGIN { printf "%.3f", t * 1000 }')"
            else
                warnings+=("fresh GET ($col, $n held): $t")
            fi
        done
    fi
    stop_pid "$hold_pid"
    hold_pid=''
}

# ======================= the measurements =======================
for mtu in 1500 9000 65521; do
    row "bulk$mtu" "bulk ${bulk_mib} MiB, MTU $mtu" MB/s up
    row "bulk${mtu}o" "bulk ${bulk_mib} MiB, MTU $mtu, taplab --offload" MB/s up
done
for c in 1 16 256; do
    conns="$c conn$([ "$c" = 1 ] || echo s)"
    row "ka${c}_rps" "keep-alive, $conns$([ "$c" = 256 ] && echo ' (pool 512)')" req/s up
    row "ka${c}_p50" "keep-alive, $conns, p50" ms down
    row "ka${c}_p99" "keep-alive, $conns, p99" ms down
done
row conn_rps "new connections (Connection: close), 16 at a time" conn/s up
for n in $idle_counts; do
    row "idle${n}_rss" "RSS, $n idle keep-alive conns held" MiB down
    row "idle${n}_lat" "fresh GET, $n idle conns held (median of $lat_gets)" ms down
done
row pool16 "bulk, MTU 1500, 16 sockets allowed" MB/s up
row pool10000 "bulk, MTU 1500, 10000 sockets allowed" MB/s up
row pool_ratio "bulk 10000 sockets ÷ 16 sockets" × up
row pageload "taplab lab page-load (hyperfine, median)" ms down

echo "bench.sh: $([ $quick = 1 ] && echo quick || echo full) run; $rounds round(s), wrk ${dur} s" >&2
start_epoll "$site"
start_nginx

# Keep-alive and new connections: every server up at once, rounds interleaved. The pool
# is taplab's default (64) up to 16 connections, 512 for 256.
echo "bench.sh: keep-alive and new connections" >&2
declare -A inst=([taplab]=tA [bare]=bA [kernel]=kernel [nginx]=nginx)
start_bare bA 64 1500
start_taplab tA --max-conns 64 ||
    na ka1_rps ka1_p50 ka1_p99 ka16_rps ka16_p50 ka16_p99 conn_rps taplab "${err[tA]}"
for _ in $(seq "$rounds"); do
    for col in "${cols[@]}"; do
        wrk_once ka1 "$col" "${inst[$col]}" 1
        wrk_once ka16 "$col" "${inst[$col]}" 16
        wrk_once conn "$col" "${inst[$col]}" 16 -H "Connection: close"
    done
done
stop tA bA
start_bare bA 512 1500
start_taplab tA --max-conns 512 || na ka256_rps ka256_p50 ka256_p99 taplab "${err[tA]}"
for _ in $(seq "$rounds"); do
    for col in "${cols[@]}"; do wrk_once ka256 "$col" "${inst[$col]}" 256; done
done
stop tA bA

# Bulk at each MTU, taplab with (tB) and without (tA) --offload side by side. The
# baselines have no offload switch, so the --offload rows repeat their figures (the veth
# pair's own offloads are always on).
for mtu in 1500 9000 65521; do
    echo "bench.sh: bulk at MTU $mtu" >&2
    set_veth_mtu "$mtu"
    start_bare bA 64 "$mtu"
    start_taplab tA --mtu "$mtu" || na "bulk$mtu" taplab "${err[tA]}"
    start_taplab tB --mtu "$mtu" --offload || na "bulk${mtu}o" taplab "${err[tB]}"
    for _ in $(seq "$bulk_rounds"); do
        bulk_once "bulk$mtu" bare bA
        bulk_once "bulk$mtu" kernel kernel
        bulk_once "bulk$mtu" nginx nginx
        bulk_once "bulk$mtu" taplab tA
        bulk_once "bulk${mtu}o" taplab tB
    done
    for col in bare kernel nginx; do samples[bulk${mtu}o/$col]=${samples[bulk$mtu/$col]:-}; done
    stop tA tB bA
done
set_veth_mtu 1500

# Bulk with few and with many sockets allowed (smoltcp's egress walks every socket).
echo "bench.sh: bulk with 16 and 10000 sockets" >&2
start_bare bA 16 1500
start_bare bB 10000 1500
start_taplab tA --max-conns 16 || na pool16 taplab "${err[tA]}"
start_taplab tB --max-conns 10000 || na pool10000 taplab "${err[tB]}"
for _ in $(seq "$bulk_rounds"); do
    bulk_once pool16 bare bA
    bulk_once pool10000 bare bB
    bulk_once pool16 taplab tA
    bulk_once pool10000 taplab tB
done
stop tA tB bA bB
for col in taplab bare; do
    many=${samples[pool10000/$col]:-} few=${samples[pool16/$col]:-}
    if [ -n "$many" ] && [ -n "$few" ]; then
        add pool_ratio "$col" "$(awk -v a="$(median "$many")" -v b="$(median "$few")" 'BEGIN { printf "%.2f", a / b }')"
    fi
done

# Idle connections, one server at a time (each holds N).
stop kernel
start_epoll "$tmp/site-small"
for n in $idle_counts; do
    echo "bench.sh: $n idle connections" >&2
    pool=$((n * 1024 / 1000)) # 1,000 held in taplab's 1,024 of today, with room for the GETs
    start_bare bA "$pool" 1500 "$tmp/site-small"
    hold_and_measure "$n" bare bA
    stop bA
    if start_taplab tA --max-conns "$pool" --close client-first; then
        hold_and_measure "$n" taplab tA
        stop tA
    else
        na "idle${n}_rss" "idle${n}_lat" taplab "${err[tA]}"
    fi
    hold_and_measure "$n" kernel kernel
    hold_and_measure "$n" nginx nginx
done
stop kernel nginx

echo "bench.sh: taplab lab page-load" >&2
if hyperfine -N --warmup 1 --runs "$page_runs" --export-json "$tmp/hf.json" \
    "$taplab lab page-load" >"$tmp/hf.log" 2>&1; then
    add pageload taplab "$(sed -n 's/^ *"median": *\([0-9.e+-]*\).*/\1/p' "$tmp/hf.json" |
        awk 'NR == 1 { printf "%.1f", $1 * 1000 }')"
else
    na pageload taplab "n/a ($(grep -m1 -i error "$tmp/hf.log" || tail -n1 "$tmp/hf.log"))"
fi

# ======================= the table =======================
fmt() { # VALUE UNIT
    case $2 in
        req/s | conn/s | MB/s) awk -v v="$1" 'BEGIN { printf "%.0f", v }' ;;
        ms) awk -v v="$1" 'BEGIN { if (v < 10) printf "%.2f", v; else printf "%.1f", v }' ;;
        *) echo "$1" ;;
    esac
}
echo
echo "| test | unit | taplab | bare smoltcp | kernel epoll (veth) | nginx (veth) | ÷ bare | ÷ kernel | ÷ nginx |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
    declare -A m=()
    line="| ${label[$r]} | ${unit[$r]} $([ "${better[$r]}" = up ] && echo ↑ || echo ↓) |"
    for col in "${cols[@]}"; do
        m[$col]=$(median "${samples[$r/$col]:-}")
        if [ -n "${m[$col]}" ]; then
            line+=" $(fmt "${m[$col]}" "${unit[$r]}") |"
        else
            line+=" ${note[$r/$col]:-–} |"
        fi
    done
    for col in bare kernel nginx; do
        if [ "${unit[$r]}" != × ] && [ -n "${m[taplab]}" ] && [ -n "${m[$col]}" ]; then
            line+=" $(awk -v a="${m[taplab]}" -v b="${m[$col]}" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "–" }') |"
        else
            line+=" – |"
        fi
    done
    echo "$line"
    unset m
done
echo
echo "Ratios are taplab ÷ baseline (↑: higher is better, ↓: lower is better); each cell is the" \
    "median of $rounds round(s), bulk of $bulk_rounds."
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
    "Linux $(uname -r); load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
    "taplab $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes');" \
    "wrk -t1 ${dur} s; $(date -u '+%Y-%m-%d %H:%M UTC')."
echo "RSS of the kernel servers counts their process only: their sockets' memory is the kernel's."
if [ ${#warnings[@]} -gt 0 ]; then
    echo
    echo "Warnings:"
    printf -- '- %s\n' "${warnings[@]}"
fi
