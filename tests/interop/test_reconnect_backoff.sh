#!/usr/bin/env bash
# Issue 20 item 2: a refusing peer is backed off, not hammered. A wss peer
# answers the upgrade 403 (3 times), then 401 (3 times), then accepts and
# closes at once (101, then close 1003: what an NCS that refuses text frames
# does). castgate mos serve dials it with refused_backoff_max_ms = 4000 (the
# default is 60000; a shorter cap keeps the test short and checks the same
# rule): the delays grow 1 s, 2 s, 4 s (75-100% jitter) and stay at the cap;
# a lane that came up and closed before carrying anything does not start the
# ladder over; each reason is logged once, not per attempt. Only lower bounds
# of the delays are checked (a loaded machine makes them longer, never
# shorter). The same rule with the default cap: at most 8 attempts a minute
# (tests/unit/test_mos4_backoff.c).
. "$(dirname "$0")/lib.sh"

start_refused_ncs 403x3,401x3,close
sleep 30
kill "$NCS"; wait "$NCS" 2>/dev/null
cat "$T/attempts" | tr '\n' ' '; echo
python3 - "$T/attempts" >"$T/verdict" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
t = [x["t"] for x in a]
gaps = [round(t[i + 1] - t[i], 3) for i in range(len(t) - 1)]
want = [min(1000 * 2 ** i, 4000) for i in range(len(gaps))]  # ms, before jitter
short = [i for i, (g, w) in enumerate(zip(gaps, want)) if g * 1000 < 0.75 * w - 60]
print("attempts", len(a))
print("gaps", gaps)
print("short", short)  # gaps below 75% of the rule's delay (none allowed)
print("steps", ",".join(x["step"] for x in a))
PY
cat "$T/verdict"
n=$(awk '/^attempts/ {print $2}' "$T/verdict")
check "the peer was dialed again and again ($n attempts in 30 s)" [ "${n:-0}" -ge 7 ]
# 1+2+4 s then every 4 s at the least: 0, .75, 2.25, 5.25, 8.25, … => at most 11 in 30 s
check "at most 11 attempts in 30 s with a 4 s cap (was ~300 at 100 ms..1 s)" [ "${n:-99}" -le 11 ]
check "every delay is at least 75% of 1 s, 2 s, 4 s, 4 s, … (growing to the cap)" grep -qx 'short \[\]' "$T/verdict"
check "the plan reached accept-and-close (the ladder does not reset after a lane that carried nothing)" \
  grep -q 'steps 403,403,403,401,401,401,close,close' "$T/verdict"
c403=$(grep -c 'connection closed (1006, authentication failed, HTTP 403)' "$T/ncs.err")
c401=$(grep -c 'connection closed (1006, authentication failed, HTTP 401)' "$T/ncs.err")
c1003=$(grep -c 'DEV ro out: connection closed (1003' "$T/ncs.err")
check "HTTP 403 is logged once, not per attempt (got $c403)" [ "$c403" = 1 ]
check "HTTP 401 is logged once (got $c401)" [ "$c401" = 1 ]
check "the close right after opening is logged once (got $c1003)" [ "$c1003" = 1 ]
w403=$(grep -c 'upgrade refused with HTTP 403' "$T/ncs.err")
check "the client's own line for 403 is once too (got $w403)" [ "$w403" = 1 ]
check "the log says it backs off" grep -q 'backing off (up to 4 s) while the peer refuses' "$T/ncs.err"
finish
