#!/usr/bin/env bash
# Part 4: reconnect, a passive MOS 4.0 connection carrying traffic again after
# the listener returns (bench/lib/reconnect.py; writes $CG_BENCH_DIR/reconnect.json).
exec python3 "$(dirname "$0")/lib/reconnect.py" "$@"
