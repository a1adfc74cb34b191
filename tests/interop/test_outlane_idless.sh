#!/usr/bin/env bash
# Requests without a messageID (M-11: graphics gear's heartbeats, a plug-in
# ncsItem) through the gateway to REAL legacy gear: Sofie mos-connection 4.1.1
# as the MOS 2.x device answers them with its own counter as messageID. The
# gateway must take that answer as the request's (matched by kind), pass it
# back, and carry the next request on the same lane (M-22) instead of sending
# the ID-less one again forever (issue 12 item 1).
#   a MOS 4.0 NCS (npm ws, text frames) -> castgate run (legacy = mos) -> Sofie device
. "$(dirname "$0")/lib.sh"

P=$T/pki; S=$SRC/tests/interop/sofie
export NODE_PATH=$SRC/tests/interop/node_modules
[ -d "$NODE_PATH/@mos-connection/connector" ] || { echo "no node modules (scripts/deps.sh)"; exit 77; }
make_pki "$P" "$(free_port)"
for v in DL DU DQ GL GU GQ WSS; do eval "$v=$(free_port)"; done
printf 'correct horse\n' | "$CASTGATE" passwd "$T/gw.htpasswd" NCS >/dev/null 2>&1
cat >"$T/gw.conf" <<EOF2
[gateway]
listen = 127.0.0.1:$WSS
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
credentials = $T/gw.htpasswd
state_dir = $T/s
ack_timeout_ms = 5000
[link sofie]
legacy = mos
ncs_id = NCS
mos_id = DEV
legacy_dial = 127.0.0.1:$DL,$DU
legacy_listen = 127.0.0.1:$GL,$GU
channels = mom,ro
EOF2
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
PIDS+=($!)
wait_port "$WSS"
node "$S/legacy-device.js" --id DEV --ncs-id NCS --lower "$DL" --upper "$DU" --query "$DQ" \
  --ncs-lower "$GL" --ncs-upper "$GU" --raw >"$T/dev.out" 2>&1 &
PIDS+=($!)
wait_port "$DU"
# the device's link: its heartbeats through our legacy ports answered (it dials us)
for ((i = 0; i < 300; i++)); do
  grep -q '"event":"lane".*"side":"legacy".*"channel":"mom","dir":"out","up":true' "$T/gw.out" && break
  sleep 0.1
done

HDR="<mos><mosID>DEV</mosID><ncsID>NCS</ncsID>"
HB="${HDR}<heartbeat><time>2026-12-06T10:00:00,000Z</time></heartbeat></mos>"
NCSITEM="${HDR}<ncsItem><item><itemID>1</itemID><itemSlug>gfx</itemSlug><objID>G1</objID><mosID>DEV</mosID></item></ncsItem></mos>"
MACH="${HDR}<messageID>41</messageID><reqMachInfo/></mos>"
GOOD="Authorization: Basic $(printf 'NCS:correct horse' | base64)"
timeout 120 node "$SRC/tests/interop/wsclient.js" \
  "wss://localhost:$WSS/mos/Communication?mosID=DEV&ncsID=NCS&channel=mom" --ca "$P/root-ca.pem" \
  --header "$GOOD" --send-text "$HB" --send-text "$NCSITEM" --send-text "$MACH" --expect 3 \
  --timeout 90000 >"$T/ws.out" 2>&1
# the answers (UCS-2BE binary frames, M-04), decoded one a line
python3 - "$T/ws.out" >"$T/answers" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l) if l.startswith("{") else {}
    if e.get("event") == "message":
        d = e["data"].encode("latin1")
        print((d.decode("utf-16-be") if e.get("binary") else d.decode()).replace("\n", " "))
PY
cat "$T/answers"
nth() { sed -n "$1p" "$T/answers"; }
check "the ID-less heartbeat was answered with Sofie's heartbeat" bash -c "[[ \"\$(sed -n 1p '$T/answers')\" == *'<heartbeat>'* ]]"
check "the ID-less ncsItem got Sofie's answer (of its kind, not a timeout NACK of ours)" \
  bash -c "[[ \"\$(sed -n 2p '$T/answers')\" == *'<mosAck>'* ]] && ! grep -q 'no answer from the far side' '$T/answers'"
check "the lane carried the next request: reqMachInfo 41 answered with listMachInfo 41" \
  bash -c "[[ \"\$(sed -n 3p '$T/answers')\" == *'<messageID>41</messageID>'*'<listMachInfo>'* ]]"
sent_hb=$(grep -c '"dir":"in".*heartbeat' "$T/dev.out" || true)
echo "heartbeats the device read: $sent_hb"
check "the ID-less heartbeat was not sent again and again" \
  bash -c "! grep -q 'does not answer <heartbeat>\|not the one outstanding' '$T/gw.err'"
finish
