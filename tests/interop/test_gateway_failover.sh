#!/usr/bin/env bash
# redundancy = failover through castgate run (issue 18 phase 2, docs/redundancy.md
# "Failover of the active side"): a legacy NCS that knows one device (scripted
# MOS 2.x over TCP, M-21) and a MOS 4.0 device with a hot standby (two
# castgate mos serve, DEVA and DEVB): the gateway shows the NCS one device and
# sends its requests to the active one. DEVA is SIGKILLed in the middle of
# 300 numbered roReq (stop-and-wait, M-22) and started again: the requests go
# to DEVB once DEVA has been unreachable for failover_after_ms, and back to
# DEVA once it has been up for failback_after_ms. Checked: every request
# answered, in order; each applied by one device, in order, DEVB's a run
# between DEVA's two; the request in flight at the kill, moved to DEVB, is
# withdrawn from DEVA's lane (the lane cancel, docs/redundancy.md finding 3):
# the restarted DEVA gets none of DEVB's requests and no answer of DEVA's is
# dropped as late (it was never sent the moved one again); a request may be
# applied by both only if the killed DEVA had it before it died (M-22: the
# far side may have applied it; at most that one, printed); a second batch
# after the failback all to DEVA; the two "active" events with their reasons;
# --check-config's refusals of bad buddy keys; the gateway stops cleanly.
. "$(dirname "$0")/lib.sh"

P=$T/pki
make_pki "$P" "$(free_port)"
WA=$(free_port); WB=$(free_port); A=$(free_port)
N=${FAILOVER_N:-300}

# ---- --check-config: the buddy keys' rules ----
bad_conf() { # bad_conf NAME EXPECTED-TEXT: the file on stdin must be refused with that text
  cat >"$T/bad.conf"
  "$CASTGATE" run --config "$T/bad.conf" --check-config >"$T/bad.out" 2>&1; local rc=$?
  check "--check-config refuses $1 (exit $rc)" bash -c "[ $rc = 1 ] && grep -q '$2' '$T/bad.out'"
}
head_conf() { printf '[link a]\nlegacy = ncs\nncs_id = N\nmos_id = D\nlegacy_listen = 127.0.0.1:0,%s\nurl = wss://localhost:1/mos\n' "$A"; }
bad_conf "failover without a buddy" "needs a buddy" < <(head_conf; echo "redundancy = failover")
bad_conf "a buddy with one of the link's IDs" "a buddy is another server" < <(head_conf; echo "mos4_buddy = N")
bad_conf "failover with a buddy on both sides" "only one side" < <(head_conf
  printf 'redundancy = failover\nmos4_buddy = D2\nlegacy_buddy = N2\nlegacy_buddy_listen = 127.0.0.1:0,1\n')
bad_conf "a buddy leg without its legacy transport" "needs legacy_buddy_listen or legacy_buddy_dial" \
  < <(head_conf; echo "legacy_buddy = N2")
bad_conf "the primary's ports for the buddy leg" "each leg needs its own ports" \
  < <(head_conf; printf 'legacy_buddy = N2\nlegacy_buddy_listen = 127.0.0.1:0,%s\n' "$A")
bad_conf "buddy keys without a buddy" "without a buddy" < <(head_conf; echo "legacy_buddy_dial = 127.0.0.1:0,1")

# ---- the far side: a device and its hot standby, native MOS 4.0 ----
# each answer held 20 ms: the run lasts seconds, so the kill lands in its middle
device() { start_mos4_device "$1" "$2" --hold-ms 20; } # device ID PORT
device DEVA "$WA"
device DEVB "$WB"
cat >"$T/gw.conf" <<EOF2
[gateway]
state_dir = $T/s-gw
ack_timeout_ms = 2000
$(failover_link "$A" "$WA" "$WB")
EOF2
check "--check-config accepts the failover link" "$CASTGATE" run --config "$T/gw.conf" --check-config
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!; PIDS+=($GW); wait_port "$A"

# wait_until and step (lib.sh) over the logs; a failed step shows the gateway's last lines
WAIT_NAMES='
gw, a, b, n = load("gw.out"), load("DEVA.out"), load("DEVB.out"), load("ncs.out")
got = lambda log: [int(x["messageID"]) for x in log if x.get("message") == "roReq"]
mark = int(open(T + "/mark").read()) if os.path.exists(T + "/mark") else 0
active = [x for x in gw if x["event"] == "active"][mark:]
links = [x for x in gw if x["event"] == "link"]
acks = [x for x in n if x["event"] == "ack"]
'
STEP_TAIL=$T/gw.err

step "the far side is reachable" 60 'any(x["mos4"] == "up" for x in links)'
python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$A" --mos-id DEVA --count "$N" --retry-s 3 \
  >"$T/ncs.out" 2>"$T/ncs.err" &
NCS=$!; PIDS+=($NCS)
step "DEVA (the primary) gets the first requests" 120 "len(got(a)) >= $((N / 4))"
# a switch before this (DEVB's lanes up over failover_after_ms before DEVA's, at start) is
# not what this test is about: the events from here on are
grep -c '"event":"active"' "$T/gw.out" >"$T/mark"
kill -KILL "$PID_DEVA"; wait "$PID_DEVA" 2>/dev/null
step "DEVA unreachable for failover_after_ms: the requests go to DEVB" 60 \
  'active and active[0]["active"] == "buddy" and active[0]["why"] == "unreachable"'
step "DEVB gets requests" 120 "len(got(b)) >= $((N / 4))"
grep -c '^{' "$T/DEVA.out" >"$T/amark" # what the killed DEVA logged; the restarted one appends
device DEVA "$WA"
step "DEVA back for failback_after_ms: the requests go to it again" 60 \
  'len(active) >= 2 and active[1]["active"] == "primary" and active[1]["why"] == "primary-back"'
wait "$NCS"
# after the failback: a second batch, every request of it to DEVA
python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$A" --mos-id DEVA --count 50 --start 1001 --retry-s 3 \
  >>"$T/ncs.out" 2>>"$T/ncs.err"
stop_pid "$GW"; grc=$?
check "the gateway stops cleanly (exit status $grc)" test "$grc" = 0

PYTHONPATH="$SRC/tests/interop" python3 - "$T" "$N" >"$T/verdict" <<'EOF'
import sys, os
from testlogs import Checks, load as load_in
T, N = sys.argv[1], int(sys.argv[2])
def load(n):
    return load_in(T, n)
gw, a, b, n = load("gw.out"), load("DEVA.out"), load("DEVB.out"), load("ncs.out")
got = lambda log: [int(x["messageID"]) for x in log if x.get("message") == "roReq"]
amark = int(open(T + "/amark").read())
gwerr = open(os.path.join(T, "gw.err"), errors="replace").read()
v = Checks()
need, fails = v.need, v.fails
acks = [x["seq"] for x in n if x["event"] == "ack"]
need(acks == list(range(1, N + 1)) + list(range(1001, 1051)),
     f"the NCS got an answer to each of its {N} + 50 requests, in order")
ga, gb = got(a), got(b)
late = [x for x in ga if x >= 1001]
need(late == list(range(1001, 1051)) and not [x for x in gb if x >= 1001],
     "after the failback the 50 of the second batch all went to DEVA")
ga = [x for x in ga if x < 1001]
print(f"DEVA got {len(ga)}, DEVB got {len(gb)}; DEVB's run: {gb[:1]}..{gb[-1:]}")
need(set(ga) | set(gb) == set(range(1, N + 1)), "every request reached a device")
need(ga == sorted(ga) and gb == sorted(gb), "each device got them in order")
both = sorted(set(ga) & set(gb))
ga1, ga2 = got(a[:amark]), got(a[amark:])
print(f"applied by both devices: {both}; by the killed DEVA: {sorted(set(both) & set(ga1))}, by the "
      f"restarted DEVA: {sorted(set(both) & set(ga2))}")
withdrawn = gwerr.count("withdrawn from the primary's lane")
late = gwerr.count("an answer from the primary dropped") + gwerr.count("answers a cancelled request")
print(f"requests withdrawn from DEVA's lane at the switch: {withdrawn}; DEVA's answers dropped as "
      f"late: {late}")
need(not set(ga2) & set(gb), "the restarted DEVA got none of DEVB's requests (the moved one was "
     "withdrawn from its lane)")
need(late == 0, "no answer from DEVA dropped as late: the moved request was never sent to it again")
need(len(both) <= 1 and set(both) <= set(ga1),
     "a request reached both devices only if the killed DEVA had it before it died (M-22), at most one")
need(bool(gb) and min(gb) > min(ga), "DEVB's requests come after DEVA's first ones")
need(bool(gb) and gb == list(range(min(gb), max(gb) + 1)), "DEVB's run has no gap")
need(bool(gb) and set(range(max(gb) + 1, N + 1)) <= set(ga), "after DEVB's run, the rest went to DEVA")
mark = int(open(T + "/mark").read())
print("active events before the kill:", [(x["active"], x["why"]) for x in gw if x["event"] == "active"][:mark])
active = [x for x in gw if x["event"] == "active"][mark:]
print("active events:", [(x["active"], x["was"], x["why"], x["for_ms"]) for x in active])
need([(x["active"], x["was"], x["why"]) for x in active] ==
     [("buddy", "primary", "unreachable"), ("primary", "buddy", "primary-back")],
     "two switches: to the buddy (unreachable), back to the primary (primary-back)")
need(all(x["for_ms"] >= (1000 if x["why"] == "unreachable" else 3000) for x in active),
     "each switch after its condition held for its configured time (failover_after_ms, failback_after_ms)")
need(all(x["side"] == "mos4" and x["link"] == "fo" for x in active), "on the link's MOS 4.0 side")
sys.exit(1 if fails else 0)
EOF
vrc=$?
sed 's/^/    /' "$T/verdict"
check "failover: what the devices and the NCS saw (above)" test "$vrc" = 0
finish
