#!/usr/bin/env bash
# bench/lib/benchlib.py pct(): the nearest-rank percentile (the smallest value
# with at least p% of the samples at or below it). Every bench part's p99 and
# p99.9 go through it; with 100 samples p99 is the 99th value, not the maximum.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
python3 - "$here/bench/lib" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from benchlib import pct
xs = list(range(1, 101))          # 1..100, shuffled order must not matter
xs.reverse()
cases = [
    (xs, 99, 99), (xs, 50, 50), (xs, 100, 100), (xs, 0, 1), (xs, 1, 1), (xs, 99.9, 100),
    (list(range(1, 1001)), 99, 990), (list(range(1, 1001)), 99.9, 999),
    (list(range(1, 11)), 50, 5), (list(range(1, 11)), 95, 10), (list(range(1, 11)), 90, 9),
    ([7], 99, 7), (list(range(1, 31)), 99, 30), (list(range(1, 31)), 50, 15),
]
bad = 0
for data, p, want in cases:
    got = pct(data, p)
    ok = got == want
    bad += not ok
    print("%s pct(n=%d, p=%g) = %s (nearest rank: %s)" % ("ok  " if ok else "FAIL", len(data), p, got, want))
print("empty:", pct([], 99))
bad += pct([], 99) is not None
sys.exit(1 if bad else 0)
PY
