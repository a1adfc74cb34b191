#!/usr/bin/env bash
# Issue 12 (denial of service) and the CI run of 2026-12-07: on a machine
# whose CPUs other processes keep busy at normal priority, a peer's password
# is still checked. The hashes run on castgate's low-priority threads; at
# SCHED_IDLE they never ran while twice as many busy loops as CPUs were
# runnable, and every upgrade was answered 503 "not decided in time" after
# the 10 s header limit (test_auth_lockout_accept failed in CI that way). At
# nice 10 they get a small but certain share. Here: busy loops (2 x CPUs, nice
# 0, started and stopped by this test) run throughout; a wrong password must
# get its 401 and the right one its 101, never 503. No timing is asserted
# beyond the server's own 10 s limit.
# CG_SERIAL: its busy loops fill every CPU; nothing else runs beside it.
. "$(dirname "$0")/lib.sh"

start_auth_dev

start_busy_loops

PYTHONPATH="$SRC/tests/interop" python3 - "$DEV" "$P/root-ca.pem" >"$T/result" 2>&1 <<'PY'
import ssl, sys
from authclient import upgrade
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
print("wrong |", upgrade(ctx, port, b"wrong"))
print("right |", upgrade(ctx, port, b"correct horse"))
PY
cat "$T/result" | sed 's/^/    /'
check "under load a wrong password gets its 401 (not 503)" grep -q '^wrong | 401$' "$T/result"
check "under load the right password gets its 101 (not 503)" grep -q '^right | 101$' "$T/result"
check "no upgrade was left undecided" bash -c "! grep -q 'not decided in time' '$T/dev.err'"
check "the device is still running" kill -0 "$DEV_PID"
finish
