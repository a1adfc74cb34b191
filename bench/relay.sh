#!/usr/bin/env bash
# Part 1: relay latency and throughput, castgate vs stunnel vs direct TCP
# (bench/lib/relay.py; writes $CG_BENCH_DIR/relay.json). Run by bench/run.sh.
exec python3 "$(dirname "$0")/lib/relay.py" "$@"
