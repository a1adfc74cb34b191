#!/usr/bin/env bash
# The hot standby baseline (tests/interop/test_sofie_hotstandby.sh) through
# two castgate gateways (issue 18 phase 2, docs/redundancy.md topology (b),
# redundancy = carry): Sofie mos-connection 4.1.1 as a MOS device in hot
# standby (a primary and a secondary NCS) and a main/buddy NCS pair (both
# mos-connection, tests/interop/sofie/hs-ncs.js), MOS 2.8.5 over TCP on
# 127.0.0.1; between them gateway 1 (legacy = ncs: the NCS pair as two legs,
# legacy_buddy) and gateway 2 (legacy = mos: the device, mos4_buddy), joined
# over wss in MOS 4.0 passive mode. The main NCS is SIGKILLed in the middle
# of 500 numbered roCreates (NCS -> device) while the device sends numbered
# roElementStat (device -> NCS), and started again later. Run as shipped and
# with mos-connection's offspecFailover, as the baseline.
#
# Checked, as the baseline (what the device sees must be the same as without
# gateways): every roCreate number reaches the device in order, a number
# twice only where the sending NCS changed, each number at most once from
# each NCS (counted raw at the device: the gateways add no copy); the
# roCreates come from the main, then the buddy, under their own IDs; the
# device sends to the primary, the secondary after the kill, the primary
# again; the buddy's "Buddy server cannot respond because main server is
# available" reaches the device unchanged (roAck roStatus, empty roID), as
# many as the buddy sent, and never a castgate NACK in its place; every
# roElementStat an NCS received is one the device wrote on that NCS's link
# (its messageID: no request crosses to the other leg); nothing reported
# done that no NCS applied; both gateways stop cleanly (exit status 0, so no
# sanitizer report). Figures (declines, failures, switch times) are
# printed. HS_RO=N changes the count; HS_KEEP=DIR keeps the logs;
# HS_SCENARIOS="shipped" runs one scenario.
. "$(dirname "$0")/lib.sh"
need_node

S=$SRC/tests/interop/sofie
P=$T/pki
export NODE_PATH=${NODE_PATH:-$SRC/tests/interop/node_modules}
if ! node -e 'require("@mos-connection/connector")' 2>/dev/null; then
  echo "@mos-connection/connector missing: run make deps (npm ci in tests/interop)" >&2
  exit 1
fi
make_pki "$P" "$(free_port)"

N_RO=${HS_RO:-500}     # numbered roCreates, NCS -> device

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
    sleep 0.2
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

# gateways DIR: gateway 2 (device side, the wss listener) and gateway 1 (NCS
# side, dials out: passive-inside), each with a buddy leg (redundancy = carry)
gateways() {
  local dir=$1
  cat >"$dir/gw1.conf" <<EOF2
# NCS side: the main connects to G1*, the buddy to G1B*; we connect to theirs
[gateway]
state_dir = $dir/s1
[link hs]
legacy = ncs
ncs_id = hs.ncs.main
mos_id = hs.mos
legacy_listen = 127.0.0.1:$G1L,$G1U
legacy_dial = 127.0.0.1:$ML,$MU
legacy_buddy = hs.ncs.buddy
legacy_buddy_listen = 127.0.0.1:$G1BL,$G1BU
legacy_buddy_dial = 127.0.0.1:$BL,$BU
redundancy = carry
channels = mom,ro
url = wss://localhost:$WSS/mos/Communication
ca = $P/root-ca.pem
mode = passive-inside
EOF2
  cat >"$dir/gw2.conf" <<EOF2
# device side: the device's primary link connects to G2*, its secondary to G2B*
[gateway]
listen = 127.0.0.1:$WSS
auth = none  # no login on this test listener (M-05)
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $dir/s2
[link hs]
legacy = mos
ncs_id = hs.ncs.main
mos_id = hs.mos
legacy_dial = 127.0.0.1:$DL,$DU
legacy_listen = 127.0.0.1:$G2L,$G2U
mos4_buddy = hs.ncs.buddy
legacy_buddy_dial = 127.0.0.1:$DL,$DU
legacy_buddy_listen = 127.0.0.1:$G2BL,$G2BU
redundancy = carry
channels = mom,ro
mode = passive-outside
EOF2
  "$CASTGATE" run --config "$dir/gw2.conf" >"$dir/gw2.out" 2>"$dir/gw2.err" &
  GW2=$!; PIDS+=($GW2)
  wait_port "$WSS" && wait_port "$G2BU"
  "$CASTGATE" run --config "$dir/gw1.conf" >"$dir/gw1.out" 2>"$dir/gw1.err" &
  GW1=$!; PIDS+=($GW1)
  wait_port "$G1U" && wait_port "$G1BU"
}

# scenario NAME [DEVICE-EXTRA...]: one run in $T/NAME
scenario() {
  local name=$1; shift
  D=$T/$name
  mkdir -p "$D"
  local v
  for v in DL DU DQ ML MU MQ BL BU BQ G1L G1U G1BL G1BU G2L G2U G2BL G2BU WSS; do eval "$v=$(free_port)"; done
  gateways "$D"
  node "$S/hs-device.js" --lower "$DL" --upper "$DU" --query "$DQ" \
    --p-lower "$G2L" --p-upper "$G2U" --s-lower "$G2BL" --s-upper "$G2BU" \
    --send-status 100000 --send-delay-ms 60 --start-file "$D/go" --stop-file "$D/stop" \
    --exit-after-ms 400000 "$@" \
    >"$D/dev.out" 2>"$D/dev.err" &
  local DEV=$!; PIDS+=($DEV)
  wait_port "$DL" && wait_port "$DU"
  ncs() { # ncs ROLE OUT [EXTRA...]: the NCSs dial gateway 1, their device
    local role=$1 out=$2; shift 2
    local id=hs.ncs.main l=$ML u=$MU q=$MQ gl=$G1L gu=$G1U
    [ "$role" = buddy ] && id=hs.ncs.buddy l=$BL u=$BU q=$BQ gl=$G1BL gu=$G1BU
    node "$S/hs-ncs.js" --role "$role" --id "$id" --lower "$l" --upper "$u" --query "$q" \
      --dev-lower "$gl" --dev-upper "$gu" --main-port "$ML" --progress "$D/progress" \
      --count "$N_RO" --send-delay-ms 40 --start-file "$D/go" --exit-after-ms 400000 "$@" \
      >"$out" 2>"${out%.out}.err" &
    NCS_PID=$!; PIDS+=($NCS_PID)
  }
  ncs buddy "$D/buddy.out"; local BUDDY=$NCS_PID
  ncs main "$D/main1.out"; local MAIN=$NCS_PID
  halt() { local p; for p in $DEV $BUDDY $MAIN $GW1 $GW2; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }

  step "$name: the device's links to both NCSs come up, through the gateways" \
    "$D" 90 'conn and conn[-1]["primary"] and conn[-1]["secondary"]' || { halt; return; }
  touch "$D/go"
  step "$name: the main sends numbered roCreates, the device numbered roElementStat" \
    "$D" 90 "len(ro) >= $((N_RO / 3)) and len(stat) >= 30" || { halt; return; }
  kill -KILL "$MAIN" 2>/dev/null; wait "$MAIN" 2>/dev/null
  date +%s%3N >"$D/kill"
  step "$name: the buddy takes over (roCreates; the device's roElementStat go to it)" \
    "$D" 120 "len(bro) >= $((N_RO / 4)) and wout[-20:] == ['secondary'] * 20" || { halt; return; }
  python3 -c "import json; print(sum(1 for l in open('$D/dev.out') if '\"wire-out\"' in l))" >"$D/mark"
  ncs main "$D/main2.out" --start-delay-ms 1500; MAIN=$NCS_PID
  date +%s%3N >"$D/restart"
  step "$name: every numbered roCreate is acknowledged" "$D" 180 "prog == '$N_RO'" || { halt; return; }
  step "$name: the device's roElementStat go to the primary again" \
    "$D" 120 "wout[mark:][-20:] == ['primary'] * 20" || { halt; return; }
  touch "$D/stop"
  step "$name: the device stops sending" "$D" 60 "any(x['event'] == 'originate-done' for x in d)" || { halt; return; }
  sleep 1
  local p
  for p in $DEV $BUDDY $MAIN; do stop_pid "$p"; done
  stop_pid "$GW1"; local rc1=$?
  stop_pid "$GW2"; local rc2=$?
  check "$name: gateway 1 stops cleanly (exit status $rc1)" test "$rc1" = 0
  check "$name: gateway 2 stops cleanly (exit status $rc2)" test "$rc2" = 0
  N_RO=$N_RO python3 -c "$PRE$VERDICT" "$D" "$name" >"$D/verdict" 2>&1
  local rc=$?
  sed 's/^/    /' "$D/verdict"
  check "$name: what the device sees through the gateways matches the baseline (above)" test "$rc" = 0
  if [ -n "${HS_KEEP:-}" ]; then mkdir -p "$HS_KEEP/$name" && cp -r "$D"/* "$HS_KEEP/$name/"; fi
}

PRE='
import json, sys, os, collections
D, name = sys.argv[1], sys.argv[2]
def load(n):
    p = os.path.join(D, n)
    return [json.loads(l) for l in open(p) if l.startswith("{")] if os.path.exists(p) else []
d, b, m1, m2 = load("dev.out"), load("buddy.out"), load("main1.out"), load("main2.out")
g1, g2 = load("gw1.out"), load("gw2.out")
ev = lambda log, e, **kw: [x for x in log if x["event"] == e and all(x.get(k) == v for k, v in kw.items())]
fails = []
def need(cond, why):
    print(("ok   " if cond else "FAIL ") + why)
    if not cond:
        fails.append(why)
num = lambda s: int(s.rsplit("-", 1)[1])
collapse = lambda xs: [x for i, x in enumerate(xs) if i == 0 or xs[i - 1] != x]
DECLINE = "Buddy server cannot respond because main server is available"
'
VERDICT='
N = int(os.environ["N_RO"])
# NCS -> device: the numbered roCreates as the device received them, raw
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
per = collections.Counter(zip(src, seq))
need(all(c == 1 for c in per.values()), "each number at most once from each NCS: the gateways add no copy " +
     str([k for k, c in per.items() if c > 1][:5]))
need(runs[:2] == ["hs.ncs.main", "hs.ncs.buddy"], "roCreates from the main, then the buddy, each under its own ID")
# device -> NCS: where each roElementStat went (the device`s own wire) and who applied it
sent = {x["seq"]: x for x in ev(d, "sent")}
wo = [x for x in ev(d, "wire-out") if x.get("roID", "").startswith("HS-STAT")]
via = [(x["via"], num(x["roID"]), x["t"]) for x in wo]
vr = collapse([v for v, _, _ in via])
print("device sends via:", " -> ".join(f"{v} from #{n}" for i, (v, n, _) in enumerate(via) if i == 0 or via[i - 1][0] != v))
need(vr[:2] == ["primary", "secondary"] and vr[-1] == "primary",
     "the device talks to the primary, the secondary after the kill, the primary again")
applied, declined = collections.defaultdict(list), collections.defaultdict(list)
got = {"primary": [], "secondary": []}
for who, link, log in (("main", "primary", m1), ("buddy", "secondary", b), ("main", "primary", m2)):
    for x in ev(log, "recv", type="roElementStat"):
        if x.get("roID", "").startswith("HS-STAT"):
            (declined if x.get("declined") else applied)[num(x["roID"])].append(who)
            got[link].append((x["roID"], x["messageID"]))
wrote = {"primary": set(), "secondary": set()}
for x in wo:
    wrote[x["via"]].add((x["roID"], x["messageID"]))
cross = {k: [m for m in got[k] if m not in wrote[k]] for k in got}
print(f"  received by the NCSs but not written by the device on that link: {cross}")
need(not cross["primary"] and not cross["secondary"],
     "every roElementStat an NCS received is one the device wrote on that NCS`s link (no request crosses legs)")
slow = [(n, x["ms"]) for n, x in sorted(sent.items()) if x["ms"] > 1000]
n_ok = sum(x["ok"] for x in sent.values())
failed = [(n, x["error"][:70]) for n, x in sorted(sent.items()) if not x["ok"]]
twice = [n for n, w in applied.items() if len(w) > 1]
print(f"roElementStat: {len(sent)} sent, {n_ok} ok; slow ones (#, ms): {slow}")
print(f"  applied twice: {twice}; failed at the device: {len(failed)}, first {failed[:2]}")
need(all(applied[n] for n, x in sent.items() if x["ok"]), "no roElementStat reported done that no NCS applied")
n_dec = sum(len(w) for w in declined.values())
need(n_dec > 0 or name == "offspec", "the buddy declined requests once the main was back")
answers = collapse(["declined" if x.get("declined") else "ok" for x in ev(b, "recv", type="roElementStat")])
print(f"  the buddy`s answers in turn: {answers}")
need(answers[:1] == ["ok"] and "ok" not in answers[answers.index("declined"):] if "declined" in answers else answers == ["ok"],
     "the buddy answered while the main was down, and declined only after that")
win = ev(d, "wire-in")
dec = [x for x in win if x.get("roStatus", "").startswith("Buddy server")]
print(f"  declines sent by the buddy: {n_dec}; seen by the device: {len(dec)}, e.g. {dec[0] if dec else None}")
need(all(x["roStatus"] == DECLINE and not x.get("roID") and x["via"] == "secondary" for x in dec),
     "a decline reaches the device as roAck roStatus \"" + DECLINE + "\", empty roID, on its secondary link")
need(len(dec) == n_dec, "every decline the buddy sent reached the device, none added")
ours = [x for x in win if "castgate" in x.get("roStatus", "")]
print(f"  castgate NACKs seen by the device: {len(ours)}, e.g. {ours[:2]}")
need(not any(x["via"] == "secondary" and "castgate" in x.get("roStatus", "") for x in win),
     "no decline turned into a castgate NACK")
react = collections.Counter(("re-sent to the main" if "main" in applied.get(n, []) else
                             "failed: " + sent[n].get("error", "ok?")[:60]) for n in declined if n in sent)
print(f"  what the device did with a declined request: {dict(react)}")
need(all(("main" in applied.get(n, [])) or not sent[n]["ok"] for n in declined if n in sent),
     "a declined request is re-sent to the main or reported failed, never taken as done")
conns = [(x["t"], x["primary"], x["secondary"], x["current"]) for x in ev(d, "connection")]
stop_t = min([x["t"] for x in ev(d, "originate-done")] or [1 << 62])
up_at = min([t for t, p, _, _ in conns if p] or [1 << 62])
print("  the device saw its primary link down while sending (the baseline: yes; docs/redundancy.md):",
      any(not p and up_at < t < stop_t for t, p, _, _ in conns))
print("  device link states (t ms, primary, secondary, current):", collapse([c[1:] for c in conns])[:8])
legs = [(x.get("leg", "primary"), x["what"]) for x in ev(g1, "link")]
print("  gateway 1 link events (leg, what):", collapse(legs)[:10])
sys.exit(1 if fails else 0)
'
for sc in ${HS_SCENARIOS:-shipped offspec}; do
  case $sc in
  shipped) scenario shipped ;;
  offspec) scenario offspec --offspec-failover ;;
  *) echo "unknown scenario $sc" >&2; exit 2 ;;
  esac
done
finish
