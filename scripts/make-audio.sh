#!/usr/bin/env bash
# Generate www/intro.wav (spoken self-introduction) from scripts/intro.txt.
# Output: mono, 16 kHz, 16-bit PCM WAV (~32 KB/s).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
TEXT="$SCRIPT_DIR/intro.txt"
OUT="$ROOT/www/intro.wav"

missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v sox >/dev/null 2>&1 || missing+=(sox)
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get -o DPkg::Lock::Timeout=300 update
    $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y "${missing[@]}"
fi

mkdir -p "$(dirname "$OUT")"
TMP="$(mktemp --suffix=.wav)"
trap 'rm -f "$TMP"' EXIT

# A steady speaking rate so it is easy to follow.
espeak-ng -v en-us -s 165 -f "$TEXT" -w "$TMP"
sox "$TMP" -r 16000 -c 1 -b 16 -e signed-integer "$OUT"

echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
echo "duration: $(soxi -D "$OUT") s"
