#!/usr/bin/env bash
# The hot standby baseline (issue 18, docs/redundancy.md "What the gear does
# without a gateway"): Sofie mos-connection 4.1.1 as a MOS device in hot
# standby (connect() with a primary and a secondary NCS), and a main/buddy
# NCS pair, both mos-connection as NCS (tests/interop/sofie/hs-ncs.js), MOS
# 2.8.5 over plain TCP on 127.0.0.1, nothing in between. The main NCS is
# SIGKILLed in the middle of numbered roCreates (NCS -> device) while the
# device sends numbered roElementStat (device -> NCS), and started again
# later. Run twice: the device as shipped, and with mos-connection's
# offspecFailover (switch back as soon as the primary link is up).
#
# Checked (what the gateway path will have to reproduce): every roCreate
# number reaches the device in order, a number twice only where the sending
# NCS changed; the device sends to the primary, then to the secondary after
# the kill, then to the primary again; the buddy answers the device's
# requests while the main is down and, once the main is back, answers roAck
# "Buddy server cannot respond because main server is available" with an
# empty roID; the device never reports a request done that no NCS applied.
# The figures (requests failed, repeated, the switch times) are printed, not
# judged. HS_KEEP=DIR keeps the event logs.
. "$(dirname "$0")/lib.sh"
need_node

S=$SRC/tests/interop/sofie
export NODE_PATH=${NODE_PATH:-$SRC/tests/interop/node_modules}
if ! node -e 'require("@mos-connection/connector")' 2>/dev/null; then
  echo "@mos-connection/connector missing: run make deps (npm ci in tests/interop)" >&2
  exit 1
fi

N_RO=${HS_RO:-300}     # numbered roCreates, NCS -> device

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
    sleep 0.1
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
    grep -v '"wire"\|ECONNREFUSED\|should reconnect\|closed with error' "$f" | tail -8 | cut -c1-300
  done
  for f in "$D"/*.err; do [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -5 "$f"; }; done
  return 1
}

# scenario NAME [DEVICE-EXTRA...]: one run in $T/NAME
scenario() {
  local name=$1; shift
  D=$T/$name
  mkdir -p "$D"
  local DL DU DQ ML MU MQ BL BU BQ
  DL=$(free_port) DU=$(free_port) DQ=$(free_port)
  ML=$(free_port) MU=$(free_port) MQ=$(free_port)
  BL=$(free_port) BU=$(free_port) BQ=$(free_port)
  node "$S/hs-device.js" --lower "$DL" --upper "$DU" --query "$DQ" \
    --p-lower "$ML" --p-upper "$MU" --s-lower "$BL" --s-upper "$BU" \
    --send-status 100000 --send-delay-ms 60 --start-file "$D/go" --stop-file "$D/stop" \
    --exit-after-ms 300000 "$@" \
    >"$D/dev.out" 2>"$D/dev.err" &
  local DEV=$!; PIDS+=($DEV)
  wait_port "$DL" && wait_port "$DU"
  ncs() { # ncs ROLE OUT [EXTRA...]
    local role=$1 out=$2; shift 2
    local id=hs.ncs.main l=$ML u=$MU q=$MQ
    [ "$role" = buddy ] && id=hs.ncs.buddy l=$BL u=$BU q=$BQ
    node "$S/hs-ncs.js" --role "$role" --id "$id" --lower "$l" --upper "$u" --query "$q" \
      --dev-lower "$DL" --dev-upper "$DU" --main-port "$ML" --progress "$D/progress" \
      --count "$N_RO" --send-delay-ms 40 --start-file "$D/go" --exit-after-ms 300000 "$@" \
      >"$out" 2>"${out%.out}.err" &
    NCS_PID=$!; PIDS+=($NCS_PID)
  }
  ncs buddy "$D/buddy.out"; local BUDDY=$NCS_PID
  ncs main "$D/main1.out"; local MAIN=$NCS_PID
  halt() { local p; for p in $DEV $BUDDY $MAIN; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }

  step "$name: the device's links to both NCSs come up" \
    "$D" 60 'conn and conn[-1]["primary"] and conn[-1]["secondary"]' || { halt; return; }
  touch "$D/go"
  step "$name: the main sends numbered roCreates, the device numbered roElementStat" \
    "$D" 60 "len(ro) >= $((N_RO / 3)) and len(stat) >= 30" || { halt; return; }
  kill -KILL "$MAIN" 2>/dev/null; wait "$MAIN" 2>/dev/null
  date +%s%3N >"$D/kill"
  step "$name: the buddy takes over (roCreates; the device's roElementStat go to it)" \
    "$D" 90 "len(bro) >= $((N_RO / 4)) and wout[-20:] == ['secondary'] * 20" || { halt; return; }
  python3 -c "import json; print(sum(1 for l in open('$D/dev.out') if '\"wire-out\"' in l))" >"$D/mark"
  ncs main "$D/main2.out" --start-delay-ms 1500; MAIN=$NCS_PID
  date +%s%3N >"$D/restart"
  step "$name: every numbered roCreate is acknowledged" "$D" 120 "prog == '$N_RO'" || { halt; return; }
  step "$name: the device's roElementStat go to the primary again" \
    "$D" 90 "wout[mark:][-20:] == ['primary'] * 20" || { halt; return; }
  touch "$D/stop"
  step "$name: the device stops sending" "$D" 60 "any(x['event'] == 'originate-done' for x in d)" || { halt; return; }
  sleep 1
  local p
  for p in $DEV $BUDDY $MAIN; do stop_pid "$p"; done
  python3 -c "$PRE$VERDICT" "$D" "$name" >"$D/verdict" 2>&1
  local rc=$?
  sed 's/^/    /' "$D/verdict"
  check "$name: what the device sees matches the baseline (above)" test "$rc" = 0
  if [ -n "${HS_KEEP:-}" ]; then mkdir -p "$HS_KEEP/$name" && cp "$D"/* "$HS_KEEP/$name/"; fi
}

PRE='
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
'
VERDICT='
# NCS -> device: the numbered roCreates as the device received them (mos-connection
# as an NCS writes its own ID as mosID, sofie/README.md)
ro = ev(d, "recv", type="roCreate")
src = [x["mosID"] if x["ncsID"] == "hs.mos" else x["ncsID"] for x in ro]
seq = [num(x["roID"]) for x in ro]
runs = collapse(src)
print(f"roCreate: {len(ro)} received for {max(seq) if seq else 0} numbers; by NCS in turn: {runs}; "
      f"counts {dict(collections.Counter(src))}")
need(sorted(set(seq)) == list(range(1, int(os.environ.get("N_RO", "300")) + 1)), "every roCreate number reached the device")
need(all(a <= b for a, b in zip(seq, seq[1:])), "in order")
rep = [seq[i] for i in range(1, len(seq)) if seq[i] == seq[i - 1]]
at_switch = [seq[i] for i in range(1, len(seq)) if seq[i] == seq[i - 1] and src[i] != src[i - 1]]
print(f"roCreate repeated: {rep} (at a change of NCS: {at_switch})")
need(rep == at_switch and len(rep) <= len(runs) - 1, "a number twice only where the sending NCS changed")
need(runs[:2] == ["hs.ncs.main", "hs.ncs.buddy"], "roCreates from the main, then the buddy")
# device -> NCS: where each roElementStat went (the device`s own wire) and who applied it
sent = {x["seq"]: x for x in ev(d, "sent")}
via = [(x["via"], num(x["roID"]), x["t"]) for x in ev(d, "wire-out") if x.get("roID", "").startswith("HS-STAT")]
vr = collapse([v for v, _, _ in via])
print("device sends via:", " -> ".join(f"{v} from #{n}" for i, (v, n, _) in enumerate(via) if i == 0 or via[i - 1][0] != v))
need(vr[:2] == ["primary", "secondary"] and vr[-1] == "primary",
     "the device talks to the primary, the secondary after the kill, the primary again")
applied, declined = collections.defaultdict(list), collections.defaultdict(list)
for who, log in (("main", m1), ("buddy", b), ("main", m2)):
    for x in ev(log, "recv", type="roElementStat"):
        if x.get("roID", "").startswith("HS-STAT"):
            (declined if x.get("declined") else applied)[num(x["roID"])].append(who)
slow = [(n, x["ms"]) for n, x in sorted(sent.items()) if x["ms"] > 1000]
n_ok = sum(x["ok"] for x in sent.values())
failed = [(n, x["error"][:70]) for n, x in sorted(sent.items()) if not x["ok"]]
twice = [n for n, w in applied.items() if len(w) > 1]
print(f"roElementStat: {len(sent)} sent, {n_ok} ok; slow ones (#, ms): {slow}")
print(f"  applied twice: {twice}; failed at the device: {len(failed)}, first {failed[:2]}")
need(all(applied[n] for n, x in sent.items() if x["ok"]), "no roElementStat reported done that no NCS applied")
need(sum(len(w) for w in declined.values()) > 0 or name == "offspec", "the buddy declined requests once the main was back")
answers = collapse(["declined" if x.get("declined") else "ok" for x in ev(b, "recv", type="roElementStat")])
print(f"  the buddy`s answers in turn: {answers}")
need(answers[:1] == ["ok"] and "ok" not in answers[answers.index("declined"):] if "declined" in answers else answers == ["ok"],
     "the buddy answered while the main was down, and declined only after that")
dec = [x for x in ev(d, "wire-in") if x.get("roStatus", "").startswith("Buddy server")]
print(f"  declines seen by the device: {len(dec)}, e.g. {dec[0] if dec else None}")
need(all(x["roStatus"] == "Buddy server cannot respond because main server is available" and not x.get("roID") for x in dec),
     "a decline is roAck roStatus \"Buddy server cannot respond because main server is available\", empty roID")
react = collections.Counter(("re-sent to the main" if "main" in applied.get(n, []) else
                             "failed: " + sent[n].get("error", "ok?")[:60]) for n in declined if n in sent)
print(f"  what the device did with a declined request: {dict(react)}")
need(all(("main" in applied.get(n, [])) or not sent[n]["ok"] for n in declined if n in sent),
     "a declined request is re-sent to the main or reported failed, never taken as done")
conns = [(x["t"], x["primary"], x["secondary"], x["current"]) for x in ev(d, "connection")]
print("  device link states (t ms, primary, secondary, current):", collapse([c[1:] for c in conns])[:8])
sys.exit(1 if fails else 0)
'
export N_RO
scenario shipped
scenario offspec --offspec-failover
finish
