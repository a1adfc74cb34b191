#!/usr/bin/env bash
# Why the relay is slower than stunnel: system calls, context switches and
# wake-ups per message (and, with --callgrind, user-space instructions per
# message by function) through a castgate pair and a stunnel pair, counted,
# not timed (bench/lib/relay_why.py; bench/README.md). Not part of make test
# or make bench. Uses build/bin/castgate (CASTGATE=...) and
# build-bench/bin/bench_mosload (CG_BENCH_BUILD=...).
exec python3 "$(dirname "$0")/lib/relay_why.py" "$@"
