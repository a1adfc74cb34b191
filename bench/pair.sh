#!/usr/bin/env bash
# Part pair: the takeover time of a gateway pair (bench/lib/pair.py; writes $CG_BENCH_DIR/pair.json).
exec python3 "$(dirname "$0")/lib/pair.py" "$@"
