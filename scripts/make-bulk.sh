#!/usr/bin/env bash
# Write tests/site/bulk-1m.txt and tests/site/bulk-2m.txt: the long transfers of the lab's
# congestion scenarios (window-limited, congestion-avoidance). Plain text, 64-byte lines
# that number themselves, so a byte offset in a capture says which line it is in
# (line = offset / 64 + 1), and the same bytes on every machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$ROOT/tests/site"
for mib in 1 2; do
    lines=$((mib * 16384))
    out="$ROOT/tests/site/bulk-${mib}m.txt"
    # 44 bytes of line label + 19 of filler + newline = 64.
    awk -v n="$lines" 'BEGIN { for (i = 1; i <= n; i++) printf "taplab bulk transfer, line %06d of %06d: abcdefghijklmnopqr\n", i, n }' >"$out"
    echo "wrote $out ($(stat -c %s "$out") bytes)"
done
