#!/usr/bin/env bash
# Runs every test: in-process unit tests and the tap tests, which bring up a real tap in
# network namespaces of their own and use the kernel (curl, ping, tcpdump, chromium,
# hping3) as the peer. Installs what the tests need when it is missing. Needs root.
# usage: sudo scripts/test.sh [extra cargo test args, e.g. a test name filter]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: the tap tests create network namespaces and tap devices, which needs root: run sudo scripts/test.sh" >&2
    exit 1
fi

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ip || need+=(iproute2)
have tcpdump || need+=(tcpdump)
have tshark || need+=(tshark)
have curl || need+=(curl)
# hping3: the spoofed SYN floods of tests/robust.rs (sent inside the test's namespace).
have hping3 || need+=(hping3)
have ping || need+=(iputils-ping)
have python3 || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
have setpriv || need+=(util-linux)
have chromium || need+=(chromium)
have rsvg-convert || need+=(librsvg2-bin)
have xmllint || need+=(libxml2-utils)
# tests/site.rs personalises a copy of the site with scripts/make-audio.sh.
have espeak-ng || need+=(espeak-ng)
have sox || need+=(sox)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
    echo "scripts/test.sh: installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${need[@]}" >/dev/null
fi
# REDbot, the outside HTTP linter one tap test runs against our responses, is on PyPI.
if ! python3 -c "import redbot" 2>/dev/null; then
    echo "scripts/test.sh: installing redbot (pip)"
    # A Debian python3 refuses system-wide pip installs unless told it may.
    python3 -m pip install --quiet redbot 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages redbot
fi
if [ ! -e /dev/net/tun ]; then
    modprobe tun || { echo "scripts/test.sh: /dev/net/tun is missing and modprobe tun failed" >&2; exit 1; }
fi

# One release build, shared by every tap test (they run target/release/taplab).
cargo build --release --locked
# --lib --bins --tests: the crate has no doc tests, and an empty doc-test run would
# otherwise be the last "test result" line printed. --include-ignored: the tests that
# need root and the outside tools (taps in namespaces, tcpdump, tshark, chromium) are
# #[ignore]d so that a plain `cargo test` passes anywhere; here they run too.
cargo test --release --locked --no-fail-fast --lib --bins --tests "$@" -- --include-ignored
