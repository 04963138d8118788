#!/usr/bin/env bash
# The benchmark (issue 10): taplab next to three baselines measured in the same run on
# this machine, printed as one markdown table with every ratio (taplab ÷ baseline).
#
#   taplab        target/release/taplab serve, on tap tl0
#   bare smoltcp  examples/bench_smoltcp.rs: smoltcp 0.14 alone, on tap sm0
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
# is shared and noisy, which is why every ratio is against a baseline of the same run and
# each cell is the median of the rounds.
#
# Everything runs in two network namespaces made here (clients in one; the kernel servers
# in the other), logging off. Nothing is pinned to a CPU: a server and its client on
# the same core hand over without a cross-core wakeup, and the scheduler finds that
# (pinned apart, 1-connection req/s fell to a third). Every client command has a time
# limit and the whole run a watchdog; everything started is stopped by PID and the
# namespaces deleted on exit, also on failure. Installs wrk, nginx and
# hyperfine (Debian) when missing. Needs root (namespaces, taps).
#
# usage: sudo scripts/bench.sh [--quick]
#   --quick: the same table with 1 round, 1-second wrk runs and 100/1,000 idle
#            connections (CI; a minute or two after the build)
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
    rounds=1 dur=1 idle_counts="100 1000" lat_gets=5 page_runs=3 limit=600
else
    rounds=3 dur=5 idle_counts="1000 10000" lat_gets=11 page_runs=10 limit=1800
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
tl_pid='' sm_pid='' ep_pid='' ngx_pid='' hold_pid='' dog_pid=''
stop_pid() { # PID: SIGTERM, up to 5 s, then SIGKILL
    local p=$1
    [ -n "$p" ] || return 0
    kill -TERM "$p" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}
cleanup() {
    local p
    for p in "$hold_pid" "$tl_pid" "$sm_pid" "$ep_pid" "$ngx_pid" "$dog_pid"; do stop_pid "$p"; done
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

in_cli() { ip netns exec "$cli" "$@"; }

# --- the site: a 200-byte page and the bulk file --------------------------------------
site=$tmp/site
mkdir "$site"
{
    printf '<!doctype html><title>bench</title><p>'
    head -c 145 /dev/zero | tr '\0' 'x'
    printf '</p>\n'
} >"$site/f200.html"
head -c $((bulk_mib << 20)) /dev/urandom >"$site/big.bin"
# The idle rows compare memory: there the baselines hold only the small page in memory.
mkdir "$tmp/site-small"
cp "$site/f200.html" "$tmp/site-small/"
small=/f200.html big=/big.bin

# --- the namespaces ----------------------------------------------------------------------
ip netns add "$cli"
ip netns add "$srv"
ip netns exec "$cli" ip link set lo up
ip netns exec "$srv" ip link set lo up
# Many short connections from one client address: reuse TIME-WAIT ports, use them all.
ip netns exec "$cli" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
ip link add bv0 netns "$cli" type veth peer name bv1 netns "$srv"
ip netns exec "$cli" ip addr add 192.168.70.100/24 dev bv0
ip netns exec "$srv" ip addr add 192.168.70.1/24 dev bv1
ip netns exec "$cli" ip link set bv0 up
ip netns exec "$srv" ip link set bv1 up
ip netns exec "$cli" ip tuntap add dev sm0 mode tap
ip netns exec "$cli" ip addr add 192.168.71.100/24 dev sm0
ip netns exec "$cli" ip link set sm0 up

set_veth_mtu() { ip netns exec "$cli" ip link set bv0 mtu "$1"; ip netns exec "$srv" ip link set bv1 mtu "$1"; }

cols=(taplab bare kernel nginx)
declare -A url=(
    [taplab]=http://192.168.69.1 [bare]=http://192.168.71.1
    [kernel]=http://192.168.70.1:8080 [nginx]=http://192.168.70.1:80
)
declare -A pid_of=()

# Waits up to 15 s for LOG to contain READY while PID lives. On failure prints the
# process's first error line (or the last line of its log).
wait_ready() { # PID LOG READY
    local i
    for i in $(seq 150); do
        grep -q "$3" "$2" && return 0
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    grep -m1 -i 'error' "$2" || tail -n1 "$2" || true
    [ "$i" = 150 ] && echo "no ready line within 15 s"
    return 1
}

# Starts taplab serve with ARGS. On success sets tl_pid; else tl_err (its one-line error).
tl_err=
start_taplab() {
    RUST_LOG=warn ip netns exec "$cli" "$taplab" serve --tap tl0 --www "$site" "$@" \
        >"$tmp/taplab.log" 2>&1 &
    tl_pid=$!
    if tl_err=$(wait_ready "$tl_pid" "$tmp/taplab.log" "http://"); then
        pid_of[taplab]=$tl_pid
        return 0
    fi
    tl_err=$(echo "$tl_err" | head -n1 | sed 's/^taplab: //; s/|/\\|/g')
    stop_pid "$tl_pid"
    tl_pid=
    return 1
}
stop_taplab() { stop_pid "$tl_pid"; tl_pid=; }

start_bare() { # CONNS MTU [DIR]
    ip netns exec "$cli" ip link set sm0 mtu "$2"
    ip netns exec "$cli" "$ex/bench_smoltcp" --tap sm0 --addr 192.168.71.1/24 \
        --dir "${3:-$site}" --conns "$1" >"$tmp/bare.log" 2>&1 &
    sm_pid=$!
    pid_of[bare]=$sm_pid
    wait_ready "$sm_pid" "$tmp/bare.log" serving >&2 || { echo "bench.sh: bench_smoltcp did not start" >&2; exit 1; }
}
stop_bare() { stop_pid "$sm_pid"; sm_pid=; }

start_epoll() { # DIR
    ip netns exec "$srv" "$ex/bench_epoll" --listen 192.168.70.1:8080 --dir "$1" \
        >"$tmp/epoll.log" 2>&1 &
    ep_pid=$!
    pid_of[kernel]=$ep_pid
    wait_ready "$ep_pid" "$tmp/epoll.log" serving >&2 || { echo "bench.sh: bench_epoll did not start" >&2; exit 1; }
}

start_kernel_servers() {
    start_epoll "$site"
    mkdir "$tmp/nginx"
    cat >"$tmp/nginx/nginx.conf" <<EOF
# One process serving the bench's site, as the other servers here run on one core.
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
EOF
    ip netns exec "$srv" nginx -p "$tmp/nginx" -e "$tmp/nginx/error.log" \
        -c "$tmp/nginx/nginx.conf" >"$tmp/nginx.log" 2>&1 &
    ngx_pid=$!
    pid_of[nginx]=$ngx_pid
    local i
    for i in $(seq 100); do
        in_cli curl -s -o /dev/null --max-time 2 "${url[nginx]}$small" && return 0
        sleep 0.1
    done
    echo "bench.sh: nginx did not start:" >&2
    cat "$tmp/nginx.log" "$tmp/nginx/error.log" >&2 || true
    exit 1
}

# --- results: samples per cell, or a note in place of a figure --------------------------
declare -A samples=() note=() label=() unit=() better=()
rows=()
row() { rows+=("$1"); label[$1]=$2; unit[$1]=$3; better[$1]=$4; }
add() { samples[$1/$2]="${samples[$1/$2]:-} $3"; }
na() { note[$1/$2]=$3; }
warnings=()

median() { printf '%s\n' $1 | sort -g | awk '{v[NR]=$1} END { if (NR) print v[int((NR+1)/2)] }'; }

# Fetches the bulk file ROUNDS times with curl; the samples are its speed in MB/s.
bulk_rounds() { # ROW COL URL
    local row=$1 col=$2 from=$3 out code size speed
    for _ in $(seq "$rounds"); do
        out=$(in_cli curl -sS --max-time 120 -o /dev/null \
            -w '%{http_code} %{size_download} %{speed_download}' "$from$big" 2>&1) || true
        read -r code size speed _ <<<"$out" || true
        if [ "$code" = 200 ] && [ "$size" = $((bulk_mib << 20)) ]; then
            add "$row" "$col" "$(awk -v b="$speed" 'BEGIN { printf "%.1f", b / 1e6 }')"
        else
            warnings+=("bulk from $from ($col): ${out:-no answer}")
        fi
    done
}

# wrk for $dur seconds: req/s, p50 and p99 in ms, from a Lua done() hook of ours.
cat >"$tmp/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %.1f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
EOF
wrk_once() { # ROWPREFIX COL CONNS [wrk args...]
    local pre=$1 col=$2 c=$3 out line
    shift 3
    out=$(in_cli timeout $((dur + 30)) wrk -t1 -c"$c" -d"${dur}s" --timeout 5s -s "$tmp/report.lua" "$@" 2>&1) || true
    line=$(grep '^WRK ' <<<"$out" || true)
    if [ -z "$line" ]; then
        warnings+=("wrk -c$c $* ($col): $(tail -n1 <<<"$out")")
        return 0
    fi
    set -- $line
    add "${pre}_rps" "$col" "$2"
    [ -n "${unit[${pre}_p50]:-}" ] && add "${pre}_p50" "$col" "$3" && add "${pre}_p99" "$col" "$4"
    [ "$5" = 0 ] && [ "$6" = 0 ] || warnings+=("wrk -c$c ($pre, $col): $5 socket errors, $6 non-2xx responses")
}

# ======================= the measurements =======================
row bulk1500 "bulk ${bulk_mib} MiB, MTU 1500" MB/s up
row bulk1500o "bulk ${bulk_mib} MiB, MTU 1500, taplab --offload" MB/s up
row bulk9000 "bulk ${bulk_mib} MiB, MTU 9000" MB/s up
row bulk9000o "bulk ${bulk_mib} MiB, MTU 9000, taplab --offload" MB/s up
row bulk65521 "bulk ${bulk_mib} MiB, MTU 65521" MB/s up
row bulk65521o "bulk ${bulk_mib} MiB, MTU 65521, taplab --offload" MB/s up
row ka1_rps "keep-alive, 1 conn" req/s up
row ka1_p50 "keep-alive, 1 conn, p50" ms down
row ka1_p99 "keep-alive, 1 conn, p99" ms down
row ka16_rps "keep-alive, 16 conns" req/s up
row ka16_p50 "keep-alive, 16 conns, p50" ms down
row ka16_p99 "keep-alive, 16 conns, p99" ms down
row ka256_rps "keep-alive, 256 conns (pool 512)" req/s up
row ka256_p50 "keep-alive, 256 conns, p50" ms down
row ka256_p99 "keep-alive, 256 conns, p99" ms down
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
start_kernel_servers

# Keep-alive and new connections: every server up at once, rounds interleaved.
echo "bench.sh: keep-alive and new connections" >&2
start_bare 64 1500
if start_taplab --max-conns 64; then :; else
    for r in ka1_rps ka1_p50 ka1_p99 ka16_rps ka16_p50 ka16_p99 conn_rps; do na $r taplab "n/a (this build: $tl_err)"; done
fi
for _ in $(seq "$rounds"); do
    for col in "${cols[@]}"; do
        [ "$col" = taplab ] && [ -z "$tl_pid" ] && continue
        wrk_once ka1 "$col" 1 "${url[$col]}$small"
        wrk_once ka16 "$col" 16 "${url[$col]}$small"
        wrk_once conn "$col" 16 -H "Connection: close" "${url[$col]}$small"
    done
done
stop_taplab
stop_bare
start_bare 512 1500
if start_taplab --max-conns 512; then :; else
    for r in ka256_rps ka256_p50 ka256_p99; do na $r taplab "n/a (this build: $tl_err)"; done
fi
for _ in $(seq "$rounds"); do
    for col in "${cols[@]}"; do
        [ "$col" = taplab ] && [ -z "$tl_pid" ] && continue
        wrk_once ka256 "$col" 256 "${url[$col]}$small"
    done
done
stop_taplab
stop_bare

# Bulk at each MTU: the baselines have no offload switch, so the --offload rows repeat
# their figures (the veth pair's own offloads are always on).
for mtu in 1500 9000 65521; do
    echo "bench.sh: bulk at MTU $mtu" >&2
    set_veth_mtu "$mtu"
    start_bare 64 "$mtu"
    bulk_rounds "bulk$mtu" bare "${url[bare]}"
    stop_bare
    bulk_rounds "bulk$mtu" kernel "${url[kernel]}"
    bulk_rounds "bulk$mtu" nginx "${url[nginx]}"
    for col in bare kernel nginx; do samples[bulk${mtu}o/$col]=${samples[bulk$mtu/$col]:-}; done
    for o in "" o; do
        if start_taplab --mtu "$mtu" ${o:+--offload}; then
            bulk_rounds "bulk$mtu$o" taplab "${url[taplab]}"
            stop_taplab
        else
            na "bulk$mtu$o" taplab "n/a (this build: $tl_err)"
        fi
    done
done
set_veth_mtu 1500

# Bulk with few and with many sockets allowed (smoltcp's egress walks every socket).
echo "bench.sh: bulk with 16 and 10000 sockets" >&2
for n in 16 10000; do
    start_bare "$n" 1500
    bulk_rounds "pool$n" bare "${url[bare]}"
    stop_bare
    if start_taplab --max-conns "$n"; then
        bulk_rounds "pool$n" taplab "${url[taplab]}"
        stop_taplab
    else
        na "pool$n" taplab "n/a (this build: $tl_err)"
    fi
done

# Idle connections: hold N, read the server's RSS, time fresh GETs meanwhile.
hold_and_measure() { # N COL HOST:PORT
    local n=$1 col=$2 out t
    in_cli timeout $((hold_secs + 10)) "$ex/bench_hold" --connect "$3" --path "$small" \
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
        stop_pid "$hold_pid"; hold_pid=
        return 0
    fi
    add "idle${n}_rss" "$col" "$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/${pid_of[$col]}/status")"
    for _ in $(seq "$lat_gets"); do
        t=$(in_cli curl -sS --max-time 10 -o /dev/null -w '%{time_total}' "${url[$col]}$small" 2>&1) &&
            add "idle${n}_lat" "$col" "$(awk -v t="$t" 'BEGIN { printf "%.3f", t * 1000 }')" ||
            warnings+=("fresh GET ($col, $n held): $t")
    done
    stop_pid "$hold_pid"; hold_pid=
}
stop_pid "$ep_pid"
start_epoll "$tmp/site-small"
for n in $idle_counts; do
    echo "bench.sh: $n idle connections" >&2
    pool=$((n * 1024 / 1000)) # 1,000 held in taplab's 1,024 of today, with room for the GETs
    start_bare "$pool" 1500 "$tmp/site-small"
    hold_and_measure "$n" bare 192.168.71.1:80
    stop_bare
    if start_taplab --max-conns "$pool" --close client-first; then
        hold_and_measure "$n" taplab 192.168.69.1:80
        stop_taplab
    else
        na "idle${n}_rss" taplab "n/a (this build: $tl_err)"
        na "idle${n}_lat" taplab "n/a"
    fi
    hold_and_measure "$n" kernel 192.168.70.1:8080
    hold_and_measure "$n" nginx 192.168.70.1:80
done

echo "bench.sh: taplab lab page-load" >&2
if hyperfine -N --warmup 1 --runs "$page_runs" --export-json "$tmp/hf.json" \
    "$taplab lab page-load" >"$tmp/hf.log" 2>&1; then
    add pageload taplab "$(sed -n 's/^ *"median": *\([0-9.e+-]*\).*/\1/p' "$tmp/hf.json" | awk 'NR == 1 { printf "%.1f", $1 * 1000 }')"
else
    na pageload taplab "n/a ($(grep -m1 -i error "$tmp/hf.log" || tail -n1 "$tmp/hf.log"))"
fi

# The ratio row for the socket pools: each server against itself.
for col in taplab bare; do
    a=${samples[pool10000/$col]:-} b=${samples[pool16/$col]:-}
    if [ -n "$a" ] && [ -n "$b" ]; then
        add pool_ratio "$col" "$(awk -v a="$(median "$a")" -v b="$(median "$b")" 'BEGIN { printf "%.2f", a / b }')"
    fi
done

# ======================= the table =======================
fmt() { # VALUE UNIT
    case $2 in
        req/s | conn/s | MB/s) awk -v v="$1" 'BEGIN { printf "%.0f", v }' ;;
        ms) awk -v v="$1" 'BEGIN { if (v < 10) printf "%.2f", v; else printf "%.1f", v }' ;;
        *) echo "$1" ;;
    esac
}
{
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
            elif [ -n "${note[$r/$col]:-}" ]; then
                line+=" ${note[$r/$col]} |"
            else
                line+=" – |"
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
    echo "Ratios are taplab ÷ baseline (↑: higher is better, ↓: lower is better); each cell is the median of $rounds round(s)."
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r);" \
        "taplab $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes');" \
        "wrk -t1 ${dur} s; $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "RSS of the kernel servers counts their process only: their sockets' memory is the kernel's."
    if [ ${#warnings[@]} -gt 0 ]; then
        echo
        echo "Warnings:"
        printf -- '- %s\n' "${warnings[@]}"
    fi
}
