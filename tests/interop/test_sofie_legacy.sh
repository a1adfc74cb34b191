#!/usr/bin/env bash
# The legacy MOS 2.8.5 peers (tests/interop/sofie, on Sofie mos-connection,
# plain TCP, UCS-2BE) against each other on free loopback ports, with no
# castgate in between: proves the harness the gateway tests run through two
# castgate gateways. Every profile 0-4 exchange of the script completes; 100
# numbered roCreates arrive in order exactly once; a ~2 MB non-ASCII roCreate
# arrives with identical content (hash on both sides); device-originated
# messages (mosObj, roElementStat, mosItemReplace, roReq, mosListAll) reach
# the NCS; every message is answered under its own messageID; both exit
# cleanly on SIGTERM / when done with a summary line.
. "$(dirname "$0")/lib.sh"
need_sofie

DL=$(free_port) DU=$(free_port) DQ=$(free_port) NL=$(free_port) NU=$(free_port) NQ=$(free_port)

node "$S/legacy-device.js" --id castgate.legacy.mos --ncs-id castgate.legacy.ncs \
  --lower "$DL" --upper "$DU" --query "$DQ" --ncs-lower "$NL" --ncs-upper "$NU" --ncs-query "$NQ" \
  --send-mosobj 5 --send-status 3 --send-itemreplace 1 --send-roreq RO1 --exit-after-ms 180000 \
  >"$T/dev.out" 2>"$T/dev.err" &
DEV=$!; PIDS+=($DEV)
wait_port "$DL" && wait_port "$DU" && wait_port "$DQ"

timeout 170 node "$S/legacy-ncs.js" --id castgate.legacy.ncs --dev-id castgate.legacy.mos \
  --lower "$NL" --upper "$NU" --query "$NQ" --dev-lower "$DL" --dev-upper "$DU" --dev-query "$DQ" \
  --script profile0-4 --count 100 --numbered --big-rocreate 2000000 \
  --wait-incoming-ms 15000 --exit-when-done --linger-ms 1000 \
  --await-types mosObj=5,roElementStat=3,mosItemReplace=1,roReq=1 --await-ms 60000 \
  >"$T/ncs.out" 2>"$T/ncs.err"
NCS_RC=$?
check "legacy-ncs exits 0 when its script is done (rc $NCS_RC)" test "$NCS_RC" = 0

# The device's own sends finish independently: wait for them, then SIGTERM.
for _ in $(seq 300); do grep -q '"originate-done"' "$T/dev.out" && break; sleep 0.1; done
stop_pid "$DEV"; DEV_RC=$?
check "legacy-device exits 0 on SIGTERM (rc $DEV_RC)" test "$DEV_RC" = 0

py() { # py NAME PYTHON: a check over the two event logs (d = device, n = NCS)
  local name=$1; shift
  check "$name" python3 -c "$1" "$T/dev.out" "$T/ncs.out"
}
PRE='
import json, sys
load = lambda p: [json.loads(l) for l in open(p) if l.startswith("{")]
d, n = load(sys.argv[1]), load(sys.argv[2])
ev = lambda log, e, **kw: [x for x in log if x["event"] == e and all(x.get(k) == v for k, v in kw.items())]
def need(cond, why):
    if not cond:
        print("   ", why, file=sys.stderr); sys.exit(1)
'

py "profile 0-4: all 34 exchanges completed as expected (ACK/answer, NACK where expected)" "$PRE"'
steps = [x for x in ev(n, "sent") if "seq" not in x and x["msg"] != "roCreate(big)"]
need(len(steps) == 34, f"{len(steps)} steps")
bad = [x["msg"] for x in steps if not x["pass"]]
need(not bad, f"failed: {bad}")
done = ev(n, "script-done")
need(done and done[0]["unexpected"] == 0 and done[0]["failed"] == 0, done)
'

py "profile 0-4: the device received every message type of the script" "$PRE"'
types = {x["type"] for x in ev(d, "recv")}
want = {"heartbeat", "reqMachInfo", "mosReqObj", "mosReqAll", "roCreate", "roReq", "roReplace", "roMetadataReplace",
        "roElementStat", "roReadyToAir", "roElementAction", "mosObjCreate", "mosReqObjAction", "mosReqSearchableSchema",
        "mosReqObjList", "roReqAll", "roStorySend", "roDelete"}
need(want <= types, f"missing {want - types}")
acts = sorted(x["action"] for x in ev(d, "recv", type="roElementAction"))
need(len(acts) == 10 and len(set(acts)) == 10, acts)
'

py "profile 0-4: content of roCreate/roReq round trip identical (hash of roID, slugs, story and item IDs)" "$PRE"'
sent = [x for x in ev(n, "sent", msg="roCreate") if "seq" not in x][0]["hash"]
got = [x for x in ev(d, "recv", type="roCreate") if x["roID"] == "RO1"][0]["hash"]
lst = ev(n, "sent", msg="roReq")[0]["reply"]["hash"]
need(sent == got == lst, (sent, got, lst))
'

py "every message the device received was answered under its own messageID (M-22)" "$PRE"'
r = [x["messageID"] for x in ev(d, "recv")]
a = [x["messageID"] for x in ev(d, "reply")]
need(len(r) > 100 and sorted(r, key=int) == sorted(a, key=int), (len(r), len(a)))
need(len(set(r)) == len(r), "duplicate messageIDs")
'

py "100 numbered roCreates: all ACKed, arrived in order exactly once with identical content" "$PRE"'
s = [x for x in ev(n, "sent", msg="roCreate") if "seq" in x]
need([x["seq"] for x in s] == list(range(1, 101)) and all(x["ok"] for x in s), "sender side")
g = [x for x in ev(d, "recv", type="roCreate") if x["roID"].startswith("RO-SEQ-")]
need([x["roID"] for x in g] == [f"RO-SEQ-{i}" for i in range(1, 101)], [x["roID"] for x in g][:5])
need([x["hash"] for x in g] == [x["hash"] for x in s], "hash mismatch")
'

py "2 MB roCreate (CJK, Cyrillic, accented Latin, astral): ACKed, identical on both sides" "$PRE"'
b = ev(n, "sent", msg="roCreate(big)")[0]
need(b["ok"] and b["wireBytes"] >= 2000000, b)
g = [x for x in ev(d, "recv", type="roCreate") if x["roID"] == "RO-BIG"]
need(len(g) == 1 and g[0]["hash"] == b["hash"] and g[0]["stories"] == b["stories"], (g, b["hash"]))
need(any(ord(ch) > 0xFFFF for ch in g[0]["roSlug"]) or "Ü" in g[0]["roSlug"], g[0]["roSlug"])
print("    big roCreate:", b["wireBytes"], "bytes,", b["stories"], "stories,", b["ms"], "ms", file=sys.stderr)
'

py "device-originated: 5 mosObj, 3 roElementStat, mosItemReplace, roReq ACKed by the NCS" "$PRE"'
s = ev(d, "sent")
need(len(s) == 10 and all(x["ok"] for x in s), [(x["msg"], x.get("error")) for x in s if not x["ok"]])
got = [x for x in ev(n, "recv", type="mosObj")]
need([x["objIDs"][0] for x in got] == [f"DEVOBJ{i}" for i in range(1, 6)], got)
need([x["hashes"][0] for x in got] == [x["hash"] for x in ev(d, "sent", msg="mosObj")], "mosObj content")
need(sorted(x["element"] for x in ev(n, "recv", type="roElementStat")) == ["ITEM", "RO", "STORY"], "roElementStat")
need(len(ev(n, "recv", type="mosItemReplace")) == 1 and len(ev(n, "recv", type="roReq")) == 1, "itemReplace/roReq")
'

py "mosReqAll is answered by a device-originated mosListAll of every object" "$PRE"'
l = ev(n, "recv", type="mosListAll")
need(len(l) == 1 and l[0]["objIDs"][:3] == ["OBJ1", "OBJ2", "OBJ3"], l)
'

py "heartbeats both ways on lower and upper; summaries printed on exit" "$PRE"'
for log in (d, n):
    ports = {x["port"] for x in ev(log, "recv", type="heartbeat")}
    need({"lower", "upper"} <= ports, ports)
sd, sn = ev(d, "summary"), ev(n, "summary")
need(sd and sd[0]["why"] == "SIGTERM" and sd[0]["received"] >= 130, sd)
need(sn and sn[0]["why"] == "done" and sn[0]["sent"] == 135 and sn[0]["unexpected"] == 0, sn)
'

if [ "$FAILED" -gt 0 ]; then
  echo "--- ncs (last 20)"; grep -v '"wire"' "$T/ncs.out" | tail -20; tail -5 "$T/ncs.err"
  echo "--- device (last 20)"; grep -v '"wire"' "$T/dev.out" | tail -20; tail -5 "$T/dev.err"
fi
finish
