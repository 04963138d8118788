#!/usr/bin/env bash
# Fuzzes taplab: runs each cargo-fuzz target in fuzz/ for SECONDS, one after the other
# (one libFuzzer process at a time: the machines have 2 cores, shared), keeps what it
# finds in fuzz/corpus/<target>, prints the executions of each target and their total,
# and exits 1 if any target found a crash, a timeout (an input running over 10 s) or
# ran out of memory (over 1 GiB). Findings are in fuzz/artifacts/<target>/.
#
# usage: scripts/fuzz.sh SECONDS [TARGET...]    (targets: frames http trace script)
#
# Needs a nightly toolchain (libFuzzer's coverage instrumentation takes nightly flags):
# TAPLAB_FUZZ_TOOLCHAIN if set, else the first nightly that `rustup toolchain list`
# shows, else `rustup toolchain install nightly --profile minimal`. cargo-fuzz itself
# is installed (cargo install, pinned version) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
ALL_TARGETS=(frames http trace script)

die() {
    echo "scripts/fuzz.sh: $*" >&2
    exit 1
}

if [ $# -lt 1 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
    die "usage: scripts/fuzz.sh SECONDS [TARGET...] (SECONDS per target, e.g. 20; targets: ${ALL_TARGETS[*]})"
fi
seconds=$1
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || die "no target '$t' (targets: ${ALL_TARGETS[*]})"
done

# A nightly toolchain.
toolchain=${TAPLAB_FUZZ_TOOLCHAIN:-}
if [ -z "$toolchain" ]; then
    command -v rustup >/dev/null 2>&1 \
        || die "no rustup to find a nightly toolchain with; install rustup, or set TAPLAB_FUZZ_TOOLCHAIN to an installed nightly"
    toolchain=$(rustup toolchain list | awk '/^nightly/ { print $1; exit }')
    if [ -z "$toolchain" ]; then
        echo "scripts/fuzz.sh: no nightly toolchain; installing one (rustup toolchain install nightly --profile minimal)"
        rustup toolchain install nightly --profile minimal >/dev/null 2>&1 \
            || die "no nightly toolchain, and 'rustup toolchain install nightly' failed: install one, or set TAPLAB_FUZZ_TOOLCHAIN"
        toolchain=nightly
    fi
fi
cargo "+$toolchain" --version >/dev/null 2>&1 \
    || die "toolchain '$toolchain' does not run cargo (rustup toolchain list shows what is installed)"

# cargo-fuzz, the pinned version.
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    echo "scripts/fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION (cargo install --locked)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet \
        || die "cargo install cargo-fuzz --version $CARGO_FUZZ_VERSION failed"
fi

# The harness's own tests first (stable, no nightly flags): every seed still reaches what
# it was written for (a handshake completes, a request gets its status, each example
# script passes) and each oracle catches what it should. A harness that silently stopped
# reaching the code would make every later "0 crashes" mean nothing.
logs=fuzz/target/fuzz-logs
mkdir -p "$logs"
echo "scripts/fuzz.sh: testing the harness (cargo test in fuzz/)"
if ! cargo test --manifest-path fuzz/Cargo.toml --locked >"$logs/harness-tests.log" 2>&1; then
    grep -E "^error|panicked|FAILED|^failures:" -A6 "$logs/harness-tests.log" | head -n 40 >&2
    die "the harness's tests failed (all of it in $logs/harness-tests.log)"
fi

# Built once for all targets. No sanitizer: taplab has no unsafe code, and a panic,
# a hang or memory growth is what we look for.
# Debug assertions and overflow checks on. No cfg(fuzzing): smoltcp would then skip
# every checksum check, and we fuzz what `taplab serve` runs (the frames target
# repairs checksums itself where its input asks for it).
flags=(--fuzz-dir fuzz --sanitizer none --debug-assertions --no-cfg-fuzzing)
echo "scripts/fuzz.sh: building the targets with $toolchain"
if ! cargo "+$toolchain" fuzz build "${flags[@]}" >"$logs/build.log" 2>&1; then
    grep -E "^error" -A12 "$logs/build.log" | head -n 40 >&2
    die "the fuzz targets did not build (all of it in $logs/build.log)"
fi

# Longest input per target (libFuzzer's -max_len): a few full-sized frames for
# `frames`; the other inputs are text or small captures.
max_len() {
    case $1 in
        frames) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

total=0
failed=()
printf '%-8s %14s %10s  %s\n' target executions exec/s result
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=fuzz/dict/$t.dict")
    log="$logs/$t.log"
    status=0
    cargo "+$toolchain" fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
        -max_len="$(max_len "$t")" "${dict[@]}" -print_final_stats=1 >"$log" 2>&1 || status=$?
    runs=$(awk '/^stat::number_of_executed_units/ { print $NF }' "$log" | tail -n 1)
    if [ -z "$runs" ]; then
        # No final stats (killed on a finding): the last "#N" status line.
        runs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
    fi
    runs=${runs:-0}
    rate=$(awk '/^stat::average_exec_per_sec/ { print $NF }' "$log" | tail -n 1)
    result=ok
    if [ "$status" -ne 0 ]; then
        result=$(grep -oE 'SUMMARY: libFuzzer: [a-z -]+' "$log" | head -n 1 | sed 's/SUMMARY: libFuzzer: //')
        result="FAILED (${result:-exit status $status}): see $log"
        failed+=("$t")
    fi
    total=$((total + runs))
    printf '%-8s %14s %10s  %s\n' "$t" "$runs" "${rate:--}" "$result"
    if [ "$status" -ne 0 ]; then
        grep -E "panicked at|^(thread|assertion)|SUMMARY|Test unit written" "$log" | head -n 8 | sed 's/^/    /'
    fi
done
printf '%-8s %14s\n' total "$total"
if [ ${#failed[@]} -gt 0 ]; then
    echo "scripts/fuzz.sh: findings in ${failed[*]}: the inputs are in fuzz/artifacts/; reproduce one with" \
        "cargo +$toolchain fuzz run ${flags[*]} TARGET fuzz/artifacts/TARGET/FILE" >&2
    exit 1
fi
