# Sourced by the hot standby tests (tests/interop/test_sofie_hotstandby.sh,
# without a gateway, and test_gateway_hotstandby.sh, through two): Sofie
# mos-connection as a MOS device in hot standby and a main/buddy NCS pair
# (tests/interop/sofie/hs-device.js, hs-ncs.js). What is the same in both:
# the node modules they need, waiting on the event logs, a step of a
# scenario, an NCS of the pair, the scenario's course once everything runs,
# and the verdict's shared parts. The test sets, before its scenarios:
# N_RO (numbered roCreates), HS_EXIT_MS (how long each node program may run),
# HS_POLL (seconds between looks at the logs); a scenario sets D (its
# directory) and its ports, and defines halt (kill -KILL everything it
# started) and ncs_main OUT [EXTRA...] (the main NCS, dialing what the test
# puts in front of the device) before hs_course.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_sofie

# wait_for DIR SECONDS PYTHON-EXPR: until the expression over DIR's logs holds
wait_for() {
  local dir=$1 secs=$2 expr=$3
  local end=$((SECONDS + secs)) # wall clock: a loaded machine makes each look slower
  while ((SECONDS < end)); do
    python3 - "$dir" "$expr" <<'EOF' && return 0
import json, sys, os
D, expr = sys.argv[1], sys.argv[2]
def load(n):
    p = os.path.join(D, n)
    return [json.loads(l) for l in open(p) if l.startswith("{")] if os.path.exists(p) else []
d, b = load("dev.out"), load("buddy.out")
ro = [x for x in d if x["event"] == "recv" and x.get("type") == "roCreate"]
conn = [x for x in d if x["event"] == "connection"]
stat = [x for x in d if x["event"] == "sent"]
bro = [x for x in b if x["event"] == "sent" and x["ok"]]
wout = [x["via"] for x in d if x["event"] == "wire-out"]
mark = int(open(D + "/mark").read()) if os.path.exists(D + "/mark") else 0
prog = open(D + "/progress").read().strip() if os.path.exists(D + "/progress") else "0"
sys.exit(0 if eval(expr) else 1)
EOF
    sleep "$HS_POLL"
  done
  echo "timed out waiting for: $expr" >&2
  return 1
}

# step NAME WAIT-ARGS...: one check of a scenario; on failure the logs are
# shown and the scenario stops (its later waits would only add time)
step() {
  local what=$1; shift
  if wait_for "$@"; then ok "$what"; return 0; fi
  bad "$what"
  local f
  for f in "$D"/*.out; do
    echo "--- $(basename "$f") (last 8 lines, wire and reconnect noise left out)"
    grep -v '"wire"\|ECONNREFUSED\|should reconnect\|closed with error\|"event":"relay"' "$f" | tail -8 | cut -c1-300
  done
  for f in "$D"/*.err; do [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -5 "$f" | cut -c1-300; }; done
  return 1
}

# hs_device P-LOWER P-UPPER S-LOWER S-UPPER [EXTRA...]: the device (its own
# ports DL DU DQ) in hot standby, its primary NCS link to P-LOWER and
# P-UPPER, its secondary to S-LOWER and S-UPPER, sending numbered
# roElementStat once $D/go exists; logs in $D/dev.{out,err}; DEV. Returns
# once it listens.
hs_device() {
  node "$S/hs-device.js" --lower "$DL" --upper "$DU" --query "$DQ" \
    --p-lower "$1" --p-upper "$2" --s-lower "$3" --s-upper "$4" \
    --send-status 100000 --send-delay-ms 60 --start-file "$D/go" --stop-file "$D/stop" \
    --exit-after-ms "$HS_EXIT_MS" "${@:5}" \
    >"$D/dev.out" 2>"$D/dev.err" &
  DEV=$!; PIDS+=($DEV)
  wait_port "$DL" && wait_port "$DU"
}

# hs_ncs ROLE OUT DEV-LOWER DEV-UPPER [EXTRA...]: the main or the buddy NCS
# (its own ports ML MU MQ or BL BU BQ), dialing the device (or what stands
# for it) on DEV-LOWER and DEV-UPPER; logs in OUT and OUT's .err; NCS_PID.
hs_ncs() {
  local role=$1 out=$2 dl=$3 du=$4; shift 4
  local id=hs.ncs.main l=$ML u=$MU q=$MQ
  [ "$role" = buddy ] && id=hs.ncs.buddy l=$BL u=$BU q=$BQ
  node "$S/hs-ncs.js" --role "$role" --id "$id" --lower "$l" --upper "$u" --query "$q" \
    --dev-lower "$dl" --dev-upper "$du" --main-port "$ML" --progress "$D/progress" \
    --count "$N_RO" --send-delay-ms 40 --start-file "$D/go" --exit-after-ms "$HS_EXIT_MS" "$@" \
    >"$out" 2>"${out%.out}.err" &
  NCS_PID=$!; PIDS+=($NCS_PID)
}

# hs_course NAME VIA UP RUN OVER ACK BACK: a scenario in $D once the device
# (DEV) and both NCSs (BUDDY, MAIN) run: both links up, numbered traffic both
# ways, the main SIGKILLed, the buddy takes over, the main started again (the
# caller's ncs_main OUT [EXTRA...]), every roCreate acknowledged, the device
# back on its primary, the device stops; then the three are stopped. VIA is
# said after "come up"; UP..BACK are the waits' limits in seconds (wall
# clock). A failed step runs halt and returns 1.
hs_course() {
  local name=$1 via=$2 up=$3 run=$4 over=$5 ack=$6 back=$7
  step "$name: the device's links to both NCSs come up$via" \
    "$D" "$up" 'conn and conn[-1]["primary"] and conn[-1]["secondary"]' || { halt; return 1; }
  touch "$D/go"
  step "$name: the main sends numbered roCreates, the device numbered roElementStat" \
    "$D" "$run" "len(ro) >= $((N_RO / 3)) and len(stat) >= 30" || { halt; return 1; }
  kill -KILL "$MAIN" 2>/dev/null; wait "$MAIN" 2>/dev/null
  date +%s%3N >"$D/kill"
  step "$name: the buddy takes over (roCreates; the device's roElementStat go to it)" \
    "$D" "$over" "len(bro) >= $((N_RO / 4)) and wout[-20:] == ['secondary'] * 20" || { halt; return 1; }
  python3 -c "import json; print(sum(1 for l in open('$D/dev.out') if '\"wire-out\"' in l))" >"$D/mark"
  ncs_main "$D/main2.out" --start-delay-ms 1500; MAIN=$NCS_PID
  date +%s%3N >"$D/restart"
  step "$name: every numbered roCreate is acknowledged" "$D" "$ack" "prog == '$N_RO'" || { halt; return 1; }
  step "$name: the device's roElementStat go to the primary again" \
    "$D" "$back" "wout[mark:][-20:] == ['primary'] * 20" || { halt; return 1; }
  touch "$D/stop"
  step "$name: the device stops sending" "$D" 60 "any(x['event'] == 'originate-done' for x in d)" || { halt; return 1; }
  sleep 1
  local p
  for p in $DEV $BUDDY $MAIN; do stop_pid "$p"; done
}

# The verdict's start (python3 -c "$HS_PRE..." DIR NAME, N_RO in the
# environment): the logs, helpers, the checks both tests make of the
# roCreates as the device received them, raw, and two functions for the
# checks both make of the answers to the device's roElementStat.
HS_PRE='
import json, sys, os, collections
D, name = sys.argv[1], sys.argv[2]
def load(n):
    p = os.path.join(D, n)
    return [json.loads(l) for l in open(p) if l.startswith("{")] if os.path.exists(p) else []
d, b, m1, m2 = load("dev.out"), load("buddy.out"), load("main1.out"), load("main2.out")
ev = lambda log, e, **kw: [x for x in log if x["event"] == e and all(x.get(k) == v for k, v in kw.items())]
fails = []
def need(cond, why):
    print(("ok   " if cond else "FAIL ") + why)
    if not cond:
        fails.append(why)
num = lambda s: int(s.rsplit("-", 1)[1])
collapse = lambda xs: [x for i, x in enumerate(xs) if i == 0 or xs[i - 1] != x]
N = int(os.environ["N_RO"])
# NCS -> device: the numbered roCreates as the device received them, raw (mos-connection
# as an NCS writes its own ID as mosID, sofie/README.md)
ro = ev(d, "recv", type="roCreate")
src = [x["mosID"] if x["ncsID"] == "hs.mos" else x["ncsID"] for x in ro]
seq = [num(x["roID"]) for x in ro]
runs = collapse(src)
print(f"roCreate: {len(ro)} received for {max(seq) if seq else 0} numbers; by NCS in turn: {runs}; "
      f"counts {dict(collections.Counter(src))}")
need(sorted(set(seq)) == list(range(1, N + 1)), f"every roCreate number 1..{N} reached the device")
need(all(a <= b for a, b in zip(seq, seq[1:])), "in order")
rep = [seq[i] for i in range(1, len(seq)) if seq[i] == seq[i - 1]]
at_switch = [seq[i] for i in range(1, len(seq)) if seq[i] == seq[i - 1] and src[i] != src[i - 1]]
print(f"roCreate repeated: {rep} (at a change of NCS: {at_switch})")
need(rep == at_switch and len(rep) <= len(runs) - 1, "a number twice only where the sending NCS changed")
def answers_checked(sent, applied, declined):
    """The device`s roElementStat (sent: by seq; applied, declined: the NCSs that did, by
    number) against the answers; returns how many declines the buddy sent."""
    slow = [(n, x["ms"]) for n, x in sorted(sent.items()) if x["ms"] > 1000]
    n_ok = sum(x["ok"] for x in sent.values())
    failed = [(n, x["error"][:70]) for n, x in sorted(sent.items()) if not x["ok"]]
    twice = [n for n, w in applied.items() if len(w) > 1]
    print(f"roElementStat: {len(sent)} sent, {n_ok} ok; slow ones (#, ms): {slow}")
    print(f"  applied twice: {twice}; failed at the device: {len(failed)}, first {failed[:2]}")
    need(all(applied[n] for n, x in sent.items() if x["ok"]), "no roElementStat reported done that no NCS applied")
    n_dec = sum(len(w) for w in declined.values())
    need(n_dec > 0 or name.endswith("offspec"), "the buddy declined requests once the main was back")
    answers = collapse(["declined" if x.get("declined") else "ok" for x in ev(b, "recv", type="roElementStat")])
    print(f"  the buddy`s answers in turn: {answers}")
    need(answers[:1] == ["ok"] and "ok" not in answers[answers.index("declined"):] if "declined" in answers else answers == ["ok"],
         "the buddy answered while the main was down, and declined only after that")
    return n_dec
def declined_checked(sent, applied, declined):
    """What the device did with a request the buddy declined."""
    react = collections.Counter(("re-sent to the main" if "main" in applied.get(n, []) else
                                 "failed: " + sent[n].get("error", "ok?")[:60]) for n in declined if n in sent)
    print(f"  what the device did with a declined request: {dict(react)}")
    need(all(("main" in applied.get(n, [])) or not sent[n]["ok"] for n in declined if n in sent),
         "a declined request is re-sent to the main or reported failed, never taken as done")
'
