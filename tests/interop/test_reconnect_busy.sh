#!/usr/bin/env bash
# A 503 with Retry-After (what a castgate listener answers while its
# password hashing pool is full) means "busy, come back", not "no": the lane
# dials again after Retry-After (1 s here, never earlier) without climbing the
# refusal ladder, and says "busy" rather than "backing off … while the peer
# refuses" (tests/unit/test_mos4_backoff.c has the ladder arithmetic). Only
# lower bounds of the delays are checked.
. "$(dirname "$0")/lib.sh"

start_refused_ncs busyx4,403
sleep 12
kill "$NCS"; wait "$NCS" 2>/dev/null
python3 - "$T/attempts" >"$T/verdict" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
busy = [x["t"] for x in a if x["step"] == "busy"]
print("attempts", len(a))
print("busy_gaps", [round(busy[i + 1] - busy[i], 3) for i in range(len(busy) - 1)])
print("early", [i for i in range(len(busy) - 1) if busy[i + 1] - busy[i] < 0.95])
PY
cat "$T/verdict"
n=$(awk '/^attempts/ {print $2}' "$T/verdict")
check "the busy peer was dialed again ($n attempts)" [ "${n:-0}" -ge 3 ]
check "never earlier than Retry-After (1 s)" grep -qx 'early \[\]' "$T/verdict"
check "the lane says the peer is busy" grep -q 'HTTP 503, busy' "$T/ncs.err"
check "a busy peer is not a refusal (no 'backing off' for 503)" \
  bash -c "! grep 'HTTP 503' '$T/ncs.err' | grep -q 'backing off'"
[ "$FAILED" -eq 0 ] || grep -i 'mos\|ws' "$T/ncs.err" | head -10
finish
