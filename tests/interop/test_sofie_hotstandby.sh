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
. "$(dirname "$0")/hotstandby_lib.sh"

N_RO=${HS_RO:-300}     # numbered roCreates, NCS -> device
HS_EXIT_MS=300000      # how long each node program may run
HS_POLL=0.1            # seconds between looks at the logs

# scenario NAME [DEVICE-EXTRA...]: one run in $T/NAME
scenario() {
  local name=$1; shift
  D=$T/$name
  mkdir -p "$D"
  local DL DU DQ ML MU MQ BL BU BQ DEV BUDDY MAIN
  DL=$(free_port) DU=$(free_port) DQ=$(free_port)
  ML=$(free_port) MU=$(free_port) MQ=$(free_port)
  BL=$(free_port) BU=$(free_port) BQ=$(free_port)
  hs_device "$ML" "$MU" "$BL" "$BU" "$@" # the device's NCS links: straight to the NCSs
  ncs_main() { hs_ncs main "$1" "$DL" "$DU" "${@:2}"; }
  hs_ncs buddy "$D/buddy.out" "$DL" "$DU"; BUDDY=$NCS_PID
  ncs_main "$D/main1.out"; MAIN=$NCS_PID
  halt() { local p; for p in $DEV $BUDDY $MAIN; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }

  hs_course "$name" "" 60 60 90 120 90 || return
  python3 -c "$HS_PRE$VERDICT" "$D" "$name" >"$D/verdict" 2>&1
  local rc=$?
  sed 's/^/    /' "$D/verdict"
  check "$name: what the device sees matches the baseline (above)" test "$rc" = 0
  if [ -n "${HS_KEEP:-}" ]; then mkdir -p "$HS_KEEP/$name" && cp "$D"/* "$HS_KEEP/$name/"; fi
}

VERDICT='
# (after $HS_PRE: the roCreates checked)
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
answers_checked(sent, applied, declined)
dec = [x for x in ev(d, "wire-in") if x.get("roStatus", "").startswith("Buddy server")]
print(f"  declines seen by the device: {len(dec)}, e.g. {dec[0] if dec else None}")
need(all(x["roStatus"] == "Buddy server cannot respond because main server is available" and not x.get("roID") for x in dec),
     "a decline is roAck roStatus \"Buddy server cannot respond because main server is available\", empty roID")
declined_checked(sent, applied, declined)
conns = [(x["t"], x["primary"], x["secondary"], x["current"]) for x in ev(d, "connection")]
print("  device link states (t ms, primary, secondary, current):", collapse([c[1:] for c in conns])[:8])
sys.exit(1 if fails else 0)
'
export N_RO
scenario shipped
scenario offspec --offspec-failover
finish
