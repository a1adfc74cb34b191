#!/usr/bin/env bash
# An answer castgate cannot read is a NACK, not silence (issue 20 item 1), and
# an unanswered request ends after the retry budget (issue 12 item 1). A fake
# NCS (npm ws, real wss on loopback) answers every OUT-lane request as ENPS
# does some: `<mos>Invalid command: heartbeat requestID="2" …</mos>` (no IDs,
# no messageID, no element).
#  A: castgate mos send (a MOS 4.0 device): each request completes once with a
#     NACK carrying that text, its messageID is never sent again, the next
#     queued request goes out (M-22).
#  B: castgate run with legacy MOS 2.x gear (a device, raw TCP UCS-2BE) behind
#     it: the gear's request the NCS never answers gets a NACK after the
#     budget (retries = 1), the next one gets a NACK containing the NCS's text.
. "$(dirname "$0")/lib.sh"

fake_ncs_pki
NCS=$(free_port); NCS2=$(free_port); GL=$(free_port); GU=$(free_port)

# ---- A: the library's own sender ----
start_fake_ncs "$NCS" "$T/ncs.out"
cat >"$T/dev.conf" <<EOF
[endpoint]
role = mos
id = DEV
state_dir = $T/s-dev
ack_timeout_ms = 3000
[peer NCS]
url = wss://localhost:$NCS/mos/Communication
ca = $P/root-ca.pem
channels = mom,ro
EOF
cat >"$T/hb.xml" <<EOF
<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>1</messageID><heartbeat><time>2026-12-06T10:00:00,000Z</time></heartbeat></mos>
EOF
cat >"$T/mach.xml" <<EOF
<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>1</messageID><reqMachInfo/></mos>
EOF
cat >"$T/roreq.xml" <<EOF
<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>1</messageID><roReq><roID>RO1</roID></roReq></mos>
EOF
timeout 100 "$CASTGATE" mos send --config "$T/dev.conf" --peer NCS --channel mom --timeout 60 \
  "$T/hb.xml" "$T/mach.xml" >"$T/send.out" 2>"$T/send.err"
src=$?
timeout 100 "$CASTGATE" mos send --config "$T/dev.conf" --peer NCS --channel ro --timeout 60 \
  "$T/roreq.xml" >"$T/send-ro.out" 2>>"$T/send.err"
cat "$T/send.out" "$T/send-ro.out" | cut -c1-400
python3 - "$T/ncs.out" "$T/send.out" "$T/send-ro.out" >"$T/verdict" <<'PY'
import json, sys
got = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
got = [e for e in got if e.get("event") == "got"]
rep = [json.loads(l) for f in sys.argv[2:] for l in open(f) if l.startswith("{")]
nack = [e for e in rep if e.get("event") == "nack"]
rep = [e for e in rep if e.get("event") == "reply"]
ids = [(e["channel"], e["messageID"]) for e in got]
print(json.dumps({
  "got": [(e["channel"], e["name"], e["messageID"]) for e in got],
  "each_once": len(ids) == len(set(ids)) == 3,
  "replies": len(rep),
  "nacks": sum(1 for e in rep if e.get("status") == "nack"),
  "nacks_with_text": sum(1 for e in nack if "peer answered: Invalid command: " + ("heartbeat", "reqMachInfo", "roReq")[nack.index(e)] in e["xml"]),
  "ro_nack_is_roAck": any("<roAck>" in e["xml"] and "Invalid command: roReq" in e["xml"] for e in nack),
}))
PY
cat "$T/verdict"
v() { python3 -c "import json,sys; d=json.load(open('$T/verdict')); sys.exit(0 if ($1) else 1)"; }
check "A: heartbeat, reqMachInfo and roReq each completed once with a NACK carrying the text (exit $src)" \
  v "d['replies'] == 3 and d['nacks'] == 3 and d['nacks_with_text'] == 3"
check "A: each messageID reached the NCS exactly once, the next request went out" v "d['each_once']"
check "A: on ro the NACK is a roAck" v "d['ro_nack_is_roAck']"
check "A: mos send exits 1 on the NACK" test "$src" = 1

# ---- B: through the gateway to legacy gear ----
start_fake_ncs "$NCS2" "$T/ncs2.out" --silent-first 1
cat >"$T/gw.conf" <<EOF
[gateway]
state_dir = $T/s-gw
ack_timeout_ms = 1500
retries = 1
[link gear]
legacy = mos
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:$GL,$GU
channels = mom,ro
url = wss://localhost:$NCS2/mos/Communication
ca = $P/root-ca.pem
EOF
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
PIDS+=($!)
wait_port "$GL"
for ((i = 0; i < 200; i++)); do
  grep -q '"side":"mos4".*"channel":"mom","dir":"out","up":true' "$T/gw.out" && break
  sleep 0.1
done
timeout 60 python3 - "$GL" >"$T/gear.out" <<'PY'
import json, socket, sys
E = lambda s: s.encode("utf-16-be")
END = E("</mos>")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(40)
buf = b""
def ask(mid, body):
    global buf
    s.sendall(E("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>%d</messageID>%s</mos>" % (mid, body)))
    while True:
        i = buf.find(END)
        if i >= 0 and i % 2 == 0:
            m, buf = buf[: i + len(END)].decode("utf-16-be"), buf[i + len(END):]
            return m
        c = s.recv(65536)
        if not c:
            return "<closed>"
        buf += c
for mid, body in ((11, "<heartbeat><time>2026-12-06T10:00:00</time></heartbeat>"), (12, "<reqMachInfo/>")):
    print(json.dumps({"sent": mid, "answer": ask(mid, body)}))
PY
cat "$T/gear.out" | cut -c1-400
py() { python3 -c "import json,sys; a=[json.loads(l) for l in open('$T/gear.out')]; sys.exit(0 if ($1) else 1)"; }
check "B: the request the NCS never answered: the gear got a NACK after the budget" \
  py "len(a) == 2 and '<messageID>11</messageID>' in a[0]['answer'] and 'NACK' in a[0]['answer'] and 'no answer' in a[0]['answer']"
check "B: the next request went out and the gear got a NACK containing the NCS's text" \
  py "'<messageID>12</messageID>' in a[1]['answer'] and 'NACK' in a[1]['answer'] and 'Invalid command: reqMachInfo' in a[1]['answer']"
n11=$(grep '"event":"got"' "$T/ncs2.out" | grep -c '"messageID":"11"')
n12=$(grep '"event":"got"' "$T/ncs2.out" | grep -c '"messageID":"12"')
echo "the NCS read messageID 11 $n11 time(s), 12 $n12 time(s)"
check "B: 11 sent twice (retries = 1), 12 once" bash -c "[ '$n11' = 2 ] && [ '$n12' = 1 ]"
finish
