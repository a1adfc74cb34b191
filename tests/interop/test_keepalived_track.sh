#!/usr/bin/env bash
# dist/keepalived/castgate-active, keepalived's track script for a castgate
# pair (issue 18, docs/redundancy.md "keepalived"): exit 0 only when the
# active_file names a live castgate process. What it must refuse: no file, an
# empty or garbled one (castgate writes it whole, by a rename, but a file a
# person edited can be anything), the PID of a live process that is not
# castgate (the kernel reuses PIDs after a SIGKILLed active), and a castgate
# killed but not yet reaped by its parent (a zombie: kill -0 succeeds on it,
# which is what the script the docs showed before did). The processes here
# are a copy of sleep(1) named castgate (the kernel's Name: is the file's
# name), so no gateway is needed; test_pair_netns.sh runs the script under
# keepalived with real gateways (from the example keepalived.conf). Also: the
# script runs as nobody (it reads /proc only), as the example has it.
. "$(dirname "$0")/lib.sh"
A=$SRC/dist/keepalived/castgate-active
run_as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

check "the script is POSIX sh (sh -n) and executable" bash -c "sh -n '$A' && test -x '$A'"
sh "$A" >/dev/null 2>&1; rc=$?
check "no argument: usage, exit 2 (exit $rc)" test "$rc" = 2
active() { sh "$A" "$1"; }
inactive() { ! sh "$A" "$1"; }

D=$(mktemp -d /tmp/cg-track.XXXXXX) # readable by nobody (the script's user in the example)
chmod 755 "$D"
cp "$(command -v sleep)" "$D/castgate"
cp "$(command -v sleep)" "$D/other"
"$D/castgate" 600 &
LIVE=$!
PIDS+=("$LIVE")
"$D/other" 600 &
OTHER=$!
PIDS+=("$OTHER")

check "no active_file: not active" inactive "$D/active"
: >"$D/active"
check "an empty active_file: not active" inactive "$D/active"
printf '12x4\n' >"$D/active"
check "a garbled active_file: not active" inactive "$D/active"
printf '%s\n' "$LIVE" >"$D/active"
check "the PID of a live castgate: active" active "$D/active"
chmod 644 "$D/active"
check "as nobody too (it reads /proc only)" run_as_nobody sh "$A" "$D/active"
printf '%s\n' "$OTHER" >"$D/active"
check "the PID of a live process that is not castgate: not active" inactive "$D/active"
# A zombie: a parent that does not reap its SIGKILLed castgate child.
python3 - "$D/castgate" "$D/zombie.pid" <<'PY' &
import os, signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "600"])
os.kill(p.pid, signal.SIGKILL)
open(sys.argv[2], "w").write("%d\n" % p.pid)
time.sleep(600)  # never waits for p: it stays a zombie while this runs
PY
PIDS+=($!)
for ((k = 0; k < 100; k++)); do [ -s "$D/zombie.pid" ] && break; sleep 0.05; done
Z=$(cat "$D/zombie.pid" 2>/dev/null)
zombie() { grep -q '^State:[[:space:]]*Z' "/proc/$Z/status" && kill -0 "$Z"; }
check "the killed child is a zombie (kill -0 still succeeds on it)" zombie
printf '%s\n' "$Z" >"$D/active"
check "a killed castgate not yet reaped (a zombie): not active" inactive "$D/active"
printf '%s\n' "$LIVE" >"$D/active"
check "and the live one again: active (the checks above can pass)" active "$D/active"

rm -rf "$D"
finish
