#!/usr/bin/env bash
# Part hostile: another lane's round trip while an attack runs (password
# guessing, quadratic XML, a legacy connection flood) beside the quiet figure,
# with the gateway's CPU and RSS during and after (bench/lib/hostile.py;
# writes $CG_BENCH_DIR/hostile.json). Run by bench/run.sh.
exec python3 "$(dirname "$0")/lib/hostile.py" "$@"
