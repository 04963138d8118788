#!/usr/bin/env bash
# Generate www/intro.wav (spoken self-introduction) from scripts/intro.txt.
# Output: mono, 16 kHz, 16-bit PCM WAV (~32 KB/s).
# usage: scripts/make-audio.sh [INTRO.txt [OUT.wav]]   (defaults: scripts/intro.txt, www/intro.wav)
#
# Reproducible: the same text gives a byte-identical WAV on every run (with the same
# espeak-ng and sox versions). espeak-ng's output is deterministic; sox's is not by
# default, because the conversion to 16 bits adds dither noise from a randomly seeded
# generator. `sox -R` (repeatable mode) seeds it with a fixed number and keeps any
# timestamp out of the output. The WAV header holds only sizes and format.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
TEXT="${1:-$SCRIPT_DIR/intro.txt}"
OUT="${2:-$ROOT/www/intro.wav}"

if [ ! -r "$TEXT" ]; then
    echo "scripts/make-audio.sh: cannot read $TEXT" >&2
    exit 1
fi

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
sox -R "$TMP" -r 16000 -c 1 -b 16 -e signed-integer "$OUT"

echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
echo "duration: $(soxi -D "$OUT") s"
