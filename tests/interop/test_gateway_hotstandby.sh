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
# roElementStat (device -> NCS), and started again later. Scenarios (the
# default list): "baseline" and "baseline-offspec" (the gear alone, below),
# then "shipped" and "offspec" (mos-connection's offspecFailover) through
# the gateways with leg_state as shipped (default: mirror on these carried
# links with a buddy, docs/redundancy.md "Mirroring a leg's state"), each
# compared with its baseline. Asked for by HS_SCENARIOS: "mirror" and
# "mirror-offspec" (leg_state = mirror written out), "keep" and
# "keep-offspec" (leg_state = keep: the legs' connections stay up whatever
# the far side's state; the default until 2026-12-07).
#
# Checked in every scenario, as the baseline (what the device sees must be
# the same as without gateways): every roCreate number reaches the device in
# order, a number twice only where the sending NCS changed, each number at
# most once from each NCS (counted raw at the device: the gateways add no
# copy); the roCreates come from the main, then the buddy, under their own
# IDs; the device sends to the primary, the secondary after the kill, the
# primary again; the buddy's "Buddy server cannot respond because main
# server is available" reaches the device unchanged (roAck roStatus, empty
# roID), as many as the buddy sent, and never a castgate NACK in its place;
# every roElementStat an NCS received is one the device wrote on that NCS's
# link (its messageID: no request crosses to the other leg); nothing
# reported done that no NCS applied; both gateways stop cleanly (exit status
# 0, so no sanitizer report).
# With leg_state = mirror, also: every roElementStat applied exactly once
# (raw counts in the NCSs' logs, every process, before any dedup: none twice)
# and in order (the main's, then the buddy's, then the restarted main's, one
# increasing sequence); a roCreate twice only as in the baseline (at most
# one, the first the buddy sent, which the device had from the main just
# before the kill); the device saw its primary link go down after the kill
# and come up after the restart, as in the baseline; both gateways held and
# released the primary leg (gateway 1 its MOS 4.0 side, gateway 2 the
# device's side); no castgate NACK reached the device at all.
# With leg_state = keep, a roElementStat is applied twice only as
# docs/redundancy.md finding 2 says MOS allows it (at most one: the one in
# flight on the primary link at the kill, applied by the buddy under the
# device's own re-send with a new messageID, and by the restarted main
# under its first messageID, from the copy gateway 1 held for the main,
# M-22; never by the killed main). Figures (declines, failures, switch
# times) are printed. The scenarios "baseline" and "baseline-offspec" run the
# same gear, course and N_RO with nothing in between (as
# test_sofie_hotstandby.sh does) and keep what the device saw (its links'
# states while it sent, the links it sent on, in turn); a mirror scenario
# run after its baseline checks that the device saw the same through the
# gateways (issue 18's Done-when, compared, not claimed): the same first
# and last state and the same moves between states (not their count: the
# gear alone sometimes goes back and forth twice). HS_RO=N changes
# the count; HS_KEEP=DIR keeps the logs; HS_SCENARIOS="baseline shipped
# baseline-offspec offspec" (the default; also mirror, mirror-offspec, keep,
# keep-offspec) chooses.
. "$(dirname "$0")/hotstandby_lib.sh"

P=$T/pki
make_pki "$P" "$(free_port)"

N_RO=${HS_RO:-500}     # numbered roCreates, NCS -> device
HS_EXIT_MS=400000      # how long each node program may run
HS_POLL=0.2            # seconds between looks at the logs

# gateways DIR LEG-STATE: gateway 2 (device side, the wss listener) and
# gateway 1 (NCS side, dials out: passive-inside), each with a buddy leg
# (redundancy = carry), leg_state LEG-STATE (mirror or keep)
gateways() {
  local dir=$1 ls="leg_state = $2"
  [ "$2" = default ] && ls="# leg_state as shipped (no line)"
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
$ls
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
$ls
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

# scenario NAME LEG-STATE [DEVICE-EXTRA...]: one run in $T/NAME (LEG-STATE
# default: what the configuration file says without the line, mirror here)
scenario() {
  local name=$1 ls=$2 expect=$2; shift 2
  [ "$ls" = default ] && expect=mirror # policy.c cg__relay_mirrors: carried, with a buddy
  D=$T/$name
  mkdir -p "$D"
  local v
  for v in DL DU DQ ML MU MQ BL BU BQ G1L G1U G1BL G1BU G2L G2U G2BL G2BU WSS; do eval "$v=$(free_port)"; done
  gateways "$D" "$ls"
  local DEV BUDDY MAIN
  hs_device "$G2L" "$G2U" "$G2BL" "$G2BU" "$@" # the device's NCS links: to gateway 2
  ncs_main() { hs_ncs main "$1" "$G1L" "$G1U" "${@:2}"; } # the NCSs dial gateway 1
  hs_ncs buddy "$D/buddy.out" "$G1BL" "$G1BU"; BUDDY=$NCS_PID
  ncs_main "$D/main1.out"; MAIN=$NCS_PID
  halt() { local p; for p in $DEV $BUDDY $MAIN $GW1 $GW2; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }

  hs_course "$name" ", through the gateways" 90 90 120 180 120 || return
  stop_pid "$GW1"; local rc1=$?
  stop_pid "$GW2"; local rc2=$?
  check "$name: gateway 1 stops cleanly (exit status $rc1)" test "$rc1" = 0
  check "$name: gateway 2 stops cleanly (exit status $rc2)" test "$rc2" = 0
  N_RO=$N_RO LEG_STATE=$expect HS_BASELINE=${HS_BASELINE:-} python3 -c "$HS_PRE$PRE$VIEW$VERDICT" "$D" "$name" >"$D/verdict" 2>&1
  local rc=$?
  sed 's/^/    /' "$D/verdict"
  check "$name: what the device sees through the gateways matches the baseline (above)" test "$rc" = 0
  if [ -n "${HS_KEEP:-}" ]; then mkdir -p "$HS_KEEP/$name" && cp -r "$D"/* "$HS_KEEP/$name/"; fi
}

# baseline NAME [DEVICE-EXTRA...]: the same gear, scenario and N_RO with
# nothing in between (the device's NCS links straight to the NCSs, as
# test_sofie_hotstandby.sh runs it), in $T/NAME; what the device saw is
# kept in $T/NAME/view.json for the mirror scenarios to compare with.
baseline() {
  local name=$1; shift
  D=$T/$name
  mkdir -p "$D"
  local v
  for v in DL DU DQ ML MU MQ BL BU BQ; do eval "$v=$(free_port)"; done
  local DEV BUDDY MAIN
  hs_device "$ML" "$MU" "$BL" "$BU" "$@"
  ncs_main() { hs_ncs main "$1" "$DL" "$DU" "${@:2}"; }
  hs_ncs buddy "$D/buddy.out" "$DL" "$DU"; BUDDY=$NCS_PID
  ncs_main "$D/main1.out"; MAIN=$NCS_PID
  halt() { local p; for p in $DEV $BUDDY $MAIN; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
  hs_course "$name" ", without gateways" 60 60 90 120 90 || return
  N_RO=$N_RO python3 -c "$HS_PRE$VIEW"'
json.dump(view, open(os.path.join(D, "view.json"), "w"))
print("  the device`s view without gateways (kept for the mirror scenarios):", view)
lst = [x for x in ev(d, "listening") if "epoch" in x]
t0e = lst[0]["epoch"] - lst[0]["t"] if lst else 0
kill_t = int(open(os.path.join(D, "kill")).read()) - t0e
restart_t = int(open(os.path.join(D, "restart")).read()) - t0e
downs = [c[0] for c in conns if not c[1] and c[0] >= kill_t]
ups = [c[0] for c in conns if c[1] and c[0] >= restart_t and downs and c[0] > downs[0]]
failed = [x for x in ev(d, "sent") if not x["ok"]]
print(f"  figures: the primary link down at the kill + {downs[0] - kill_t if downs else None} ms, up at "
      f"the restart + {ups[0] - restart_t if ups else None} ms; roElementStat failed at the device: "
      f"{len(failed)}")
sys.exit(1 if fails else 0)' "$D" "$name" >"$D/verdict" 2>&1
  local rc=$?
  sed 's/^/    /' "$D/verdict"
  check "$name: the baseline's own checks of the roCreates (above)" test "$rc" = 0
}

# What the device saw of its NCSs while it sent (after $HS_PRE): its links'
# states in turn (primary up, secondary up) from the start of its numbered
# sends to their end, and the links its roElementStat went out on in turn.
VIEW='
conns = [(x["t"], x["primary"], x["secondary"]) for x in ev(d, "connection")]
t0 = min([x["t"] for x in ev(d, "originate-start")] or [0])
t1 = min([x["t"] for x in ev(d, "originate-done")] or [1 << 62])
at0 = [c[1:] for c in conns if c[0] <= t0][-1:]
states = collapse([list(s) for s in at0 + [c[1:] for c in conns if t0 < c[0] <= t1]])
vias = collapse([x["via"] for x in ev(d, "wire-out") if x.get("roID", "").startswith("HS-STAT")])
view = {"links": states, "sends": vias}
# what is compared: where each starts, where it ends, and which moves it makes; not how many
# times (the gear alone may go back and forth more than once: a baseline-offspec run went
# primary, secondary, primary, secondary, primary)
shape = lambda xs: {"first": xs[:1], "last": xs[-1:], "moves": sorted({str(m) for m in zip(xs, xs[1:])})}
# The links its requests went out on: compared whole (first, last, moves). Its links` states
# while sending: first and last only. The gear alone does not always report its primary down
# while it still sends: in one baseline run (2026-12-07 21:06) it did so 20 s after the kill,
# after its last send, so its states while sending never changed; in the others 6-10 s after
# (as through the gateways, which the scenario checks on its own: down after the kill, up after
# the restart).
view_shape = lambda v: {"links": {k: shape(v["links"])[k] for k in ("first", "last")},
                        "sends": shape(v["sends"])}
'

PRE='
g1, g2 = load("gw1.out"), load("gw2.out")
DECLINE = "Buddy server cannot respond because main server is available"
'
VERDICT='
# (after $HS_PRE and $PRE: the roCreates checked)
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
copies = collections.defaultdict(list) # number: [(which NCS process, messageID)] applied
got = {"primary": [], "secondary": []}
for who, proc, link, log in (("main", "main1", "primary", m1), ("buddy", "buddy", "secondary", b),
                             ("main", "main2", "primary", m2)):
    for x in ev(log, "recv", type="roElementStat"):
        if x.get("roID", "").startswith("HS-STAT"):
            (declined if x.get("declined") else applied)[num(x["roID"])].append(who)
            if not x.get("declined"):
                copies[num(x["roID"])].append((proc, x["messageID"]))
            got[link].append((x["roID"], x["messageID"]))
wrote = {"primary": set(), "secondary": set()}
for x in wo:
    wrote[x["via"]].add((x["roID"], x["messageID"]))
cross = {k: [m for m in got[k] if m not in wrote[k]] for k in got}
print(f"  received by the NCSs but not written by the device on that link: {cross}")
need(not cross["primary"] and not cross["secondary"],
     "every roElementStat an NCS received is one the device wrote on that NCS`s link (no request crosses legs)")
n_dec = answers_checked(sent, applied, declined)
twice = [n for n, w in applied.items() if len(w) > 1]
LS = os.environ.get("LEG_STATE", "keep")
on = lambda n, link: {x["messageID"] for x in wo if num(x["roID"]) == n and x["via"] == link}
print("  applied twice, by which NCS process under which messageID:", {n: copies[n] for n in twice},
      {n: {"primary": sorted(on(n, "primary")), "secondary": sorted(on(n, "secondary"))} for n in twice})
if LS == "mirror":
    # docs/redundancy.md "Mirroring a leg`s state": the request in flight at the kill was given
    # up on both gateways when they closed the leg (the device told "connection gone"), so only
    # the device`s own re-send on its secondary is applied; nothing waits for the main.
    need(not twice, "every roElementStat applied at most once (raw: no number twice in any NCS`s log)")
    order = [num(x["roID"]) for log in (m1, b, m2) for x in ev(log, "recv", type="roElementStat")
             if x.get("roID", "").startswith("HS-STAT") and not x.get("declined")]
    need(all(a < c for a, c in zip(order, order[1:])),
         "applied in order: the main`s, then the buddy`s, then the restarted main`s, one increasing sequence")
    need(all(len(applied.get(n, [])) == 1 for n, x in sent.items() if x["ok"]),
         "every roElementStat the device reported done was applied exactly once")
    mb = [seq[i] for i in range(1, len(seq)) if seq[i] == seq[i - 1] and
          src[i - 1] == "hs.ncs.main" and src[i] == "hs.ncs.buddy"]
    need(len(rep) <= 1 and rep == mb,
         "a roCreate twice only as in the baseline (at most one: the first the buddy sent, the main`s copy "
         "acknowledged by the device just before the kill)")
else:
    # docs/redundancy.md finding 2: the device gave up on the request in flight on its primary link
    # (two sends under one messageID, then its own answer timeout) and re-sent it to the secondary
    # under a new messageID (mos-connection prepares each send afresh); gateway 1 still held the
    # first copy for the main (M-22: retried under its messageID until answered) and gave it to the
    # restarted main, which could not recognise it (its memory did not survive the kill; the
    # buddy`s copy has another messageID). With leg_state = keep the legs` connections stay up, so
    # no gateway learns that the device gave it up: nothing else may be applied twice.
    def held_copy(n):
        c = copies[n]
        main, bud = {m for p, m in c if p == "main2"}, {m for p, m in c if p == "buddy"}
        return (sorted(p for p, _ in c) == ["buddy", "main2"] and main <= on(n, "primary") and
                bud <= on(n, "secondary") and not on(n, "primary") & on(n, "secondary"))
    need(len(twice) <= 1 and all(held_copy(n) for n in twice),
         "applied twice only as finding 2 allows (at most one: the buddy under the device`s re-send, "
         "the restarted main under the first messageID from gateway 1`s held copy, M-22)")
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
declined_checked(sent, applied, declined)
conns = [(x["t"], x["primary"], x["secondary"], x["current"]) for x in ev(d, "connection")]
stop_t = min([x["t"] for x in ev(d, "originate-done")] or [1 << 62])
up_at = min([t for t, p, _, _ in conns if p] or [1 << 62])
print("  the device saw its primary link down while sending (the baseline: yes; docs/redundancy.md):",
      any(not p and up_at < t < stop_t for t, p, _, _ in conns))
print("  device link states (t ms, primary, secondary, current):", collapse([c[1:] for c in conns])[:8])
legs = [(x.get("leg", "primary"), x["what"]) for x in ev(g1, "link")]
print("  gateway 1 link events (leg, what):", collapse(legs)[:10])
lg = {k: [(x["leg"], x["side"], x["what"], x["count"]) for x in ev(g, "leg")] for k, g in (("1", g1), ("2", g2))}
for k in lg:
    print(f"  gateway {k} leg state events (leg, side, what, requests given up):", lg[k][:12])
m2n = [x for x in ev(m2, "sent") if not x["ok"] and "castgate" in x.get("status", "") + x.get("error", "")]
m2e = [x.get("status") or x.get("error") for x in m2n[:1]]
print(f"  the restarted main`s roCreates refused by a gateway while the leg was held: {len(m2n)}, e.g. {m2e}")
if LS == "mirror":
    need(not ours, "no castgate NACK reached the device")
    lst = [x for x in ev(d, "listening") if "epoch" in x]
    t0 = lst[0]["epoch"] - lst[0]["t"] if lst else 0
    kill_t = int(open(os.path.join(D, "kill")).read()) - t0
    restart_t = int(open(os.path.join(D, "restart")).read()) - t0
    # (down after the kill, maybe after the restart began: the baseline`s device, too, marks its
    # primary down only when its heartbeat round ends, about 10 s after the kill)
    downs = [t for t, p, _, _ in conns if not p and t >= kill_t]
    ups = [t for t, p, _, _ in conns if p and t >= restart_t and downs and t > downs[0]]
    print(f"  the device`s primary link: down at the kill + {downs[0] - kill_t if downs else None} ms, "
          f"up at the restart + {ups[0] - restart_t if ups else None} ms")
    need(bool(lst) and bool(downs), "the device saw its primary link go down after the kill (as in the baseline)")
    last = [c for c in conns if c[0] <= stop_t][-1:]
    need(bool(ups) and bool(last) and last[0][1],
         "the device saw its primary link come up after the restart, up when it stopped sending")
    # (the gateways stop after the gear: holds at the very end are the gear going away)
    seq_of = lambda k, leg, side: [w for l, sd, w, _ in lg[k] if l == leg and sd == side and w != "given-up"]
    held_released = lambda ws: "held" in ws and "released" in ws[ws.index("held") + 1:]
    need(held_released(seq_of("1", "primary", "mos4")),
         "gateway 1 held its primary leg`s MOS 4.0 side and released it later")
    need(held_released(seq_of("2", "primary", "legacy")),
         "gateway 2 held the device`s primary link and released it later")
    # the Done-when of issue 18: the device`s view as without the gateways, compared with the
    # baseline run of this test (same gear, scenario and N_RO, nothing in between)
    bp = os.path.join(os.path.dirname(D), os.environ.get("HS_BASELINE", ""), "view.json")
    print("  the device`s view through the gateways:", view)
    if os.environ.get("HS_BASELINE") and os.path.exists(bp):
        bv = json.load(open(bp))
        print("  the device`s view without gateways:   ", bv)
        need(view_shape(view) == view_shape(bv), "the device`s view of primary and buddy (the links it "
             "sent on: first, last and the moves made; its links` states while sending: first and last) is "
             "the same as without the gateways")
    else:
        print("  (no baseline run to compare with: HS_SCENARIOS needs baseline before mirror)")
sys.exit(1 if fails else 0)
'
# Each scenario through the gateways that compares runs after its baseline.
for sc in ${HS_SCENARIOS:-baseline shipped baseline-offspec offspec}; do
  case $sc in
  shipped) HS_BASELINE=baseline scenario shipped default ;;
  offspec) HS_BASELINE=baseline-offspec scenario offspec default --offspec-failover ;;
  keep) scenario keep keep ;;
  keep-offspec) scenario keep-offspec keep --offspec-failover ;;
  baseline) baseline baseline ;;
  baseline-offspec) baseline baseline-offspec --offspec-failover ;;
  mirror) HS_BASELINE=baseline scenario mirror mirror ;;
  mirror-offspec) HS_BASELINE=baseline-offspec scenario mirror-offspec mirror --offspec-failover ;;
  *) echo "unknown scenario $sc" >&2; exit 2 ;;
  esac
done
finish
