#!/usr/bin/env bash
# The gateway between REAL legacy gear: Sofie mos-connection (npm, pinned) as
# the MOS 2.x NCS and as the MOS 2.x device, each untouched on plain TCP
# UCS-2BE, joined by two castgate gateways over wss in MOS 4.0 passive mode
# (the NCS side dials out, M-08). Checks every profile 0-4 exchange the NCS
# script makes, 50 numbered running orders exactly once and in order, a 2 MB
# running order with non-ASCII text arriving byte-identical in content, and
# device-originated messages reaching the NCS.
. "$(dirname "$0")/lib.sh"
need_node

P=$T/pki; S=$SRC/tests/interop/sofie
export NODE_PATH=$SRC/tests/interop/node_modules
make_pki "$P" "$(free_port)"
for v in DL DU DQ G2L G2U G2Q NL NU NQ G1L G1U G1Q WSS; do eval "$v=$(free_port)"; done
cat >"$T/gw1.conf" <<EOF2
# NCS side: Sofie's NCS connects to G1*; we connect to its N* ports; wss out (passive-inside)
[gateway]
state_dir = $T/s1
[link sofie]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:$G1L,$G1U,$G1Q
legacy_dial = 127.0.0.1:$NL,$NU,$NQ
channels = mom,ro,aux
url = wss://localhost:$WSS/mos/Communication
ca = $P/root-ca.pem
mode = passive-inside
EOF2
cat >"$T/gw2.conf" <<EOF2
# device side: the only listener (wss); Sofie's device at D*, it connects to G2*
[gateway]
listen = 127.0.0.1:$WSS
auth = none  # no login on this test listener (M-05)
cert = $P/server-rsa.chain.pem $P/server-rsa.key
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s2
[link sofie]
legacy = mos
ncs_id = NCS
mos_id = DEV
legacy_dial = 127.0.0.1:$DL,$DU,$DQ
legacy_listen = 127.0.0.1:$G2L,$G2U,$G2Q
channels = mom,ro,aux
mode = passive-outside
EOF2
"$CASTGATE" run --config "$T/gw2.conf" >"$T/gw2.out" 2>"$T/gw2.err" &
PIDS+=($!)
wait_port "$WSS"
"$CASTGATE" run --config "$T/gw1.conf" >"$T/gw1.out" 2>"$T/gw1.err" &
PIDS+=($!)
wait_port "$G1U"
node "$S/legacy-device.js" --id DEV --ncs-id NCS --lower "$DL" --upper "$DU" --query "$DQ" \
  --ncs-lower "$G2L" --ncs-upper "$G2U" --ncs-query "$G2Q" --send-mosobj 3 --send-status 2 \
  --send-delay-ms 3000 --exit-after-ms 100000 >"$T/dev.out" 2>&1 &
DPID=$!; PIDS+=($DPID)
wait_port "$DU"
# The device's own link (to gateway 2's G2* ports, up only once the NCS side
# is) must be up before the NCS asks for mosReqAll: its answer, mosListAll,
# goes out on that link. The NCS waits for $T/devlink (--wait-file).
( for _ in $(seq 300); do grep -q '"event":"connection","primary":true' "$T/dev.out" && { touch "$T/devlink"; exit; }
    sleep 0.1; done ) &
WPID=$!; PIDS+=($WPID)
timeout 150 node "$S/legacy-ncs.js" --id NCS --dev-id DEV --lower "$NL" --upper "$NU" --query "$NQ" \
  --dev-lower "$G1L" --dev-upper "$G1U" --dev-query "$G1Q" --script profile0-4 --count 50 --numbered \
  --big-rocreate 2000000 --wait-incoming-ms 10000 --wait-file "$T/devlink" --await-types mosObj=3,roElementStat=2 \
  --exit-when-done --linger-ms 1000 >"$T/ncs.out" 2>&1
nrc=$?
wait "$WPID" 2>/dev/null
check "the device's own link to the gateway came up before the NCS script" grep -q '"event":"wait-file","present":true' "$T/ncs.out"
kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null
python3 - "$T/ncs.out" "$T/dev.out" >"$T/verdict" <<'PY'
import json, re, sys
ncs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
dev = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
summ = [e for e in ncs if e.get("event") == "summary"]
s = summ[-1] if summ else {}
seq = [int(re.match(r"seq (\d+)", e["roSlug"]).group(1)) for e in dev
       if e.get("event") == "recv" and e.get("type") == "roCreate" and str(e.get("roSlug", "")).startswith("seq ")]
big_n = [e["hash"] for e in ncs if e.get("event") == "big-rocreate"]
big_d = [e["hash"] for e in dev if e.get("event") == "recv" and e.get("roID") == "RO-BIG"]
done = [e for e in ncs if e.get("event") == "script-done"]
steps = [e for e in ncs if e.get("event") == "sent"]
lists = [e for e in ncs if e.get("event") == "recv" and e.get("type") == "mosListAll"]
print(json.dumps({"sent": s.get("sent"), "acked": s.get("acked"), "nacked": s.get("nacked"),
                  "unexpected": s.get("unexpected"), "script_done": bool(done),
                  "steps": len(steps), "failed_steps": [e["msg"] for e in steps if not e.get("pass")],
                  "mos_list_all": [e.get("objIDs", [])[:3] for e in lists],
                  "failed": s.get("failed"), "received_by_ncs": s.get("receivedByType"),
                  "numbered_in_order_once": seq == list(range(1, 51)),
                  "big_identical": bool(big_n) and big_d == big_n}))
PY
cat "$T/verdict"
v() { python3 -c "import json,sys; d=json.load(open('$T/verdict')); sys.exit(0 if ($1) else 1)"; }
# The NCS's own verdicts: each step answered as expected (an ACK where an ACK
# was expected, a NACK only where the script expects one), exit status 0.
check "Sofie NCS script (profile 0-4) completed through two gateways, NCS exit status 0 (rc $nrc)" test "$nrc" = 0
check "every step of the NCS script answered as it expects: $(python3 -c "import json; d=json.load(open('$T/verdict')); print(d['steps'], 'steps, failed:', d['failed_steps'] or 'none')")" \
  v "d['script_done'] and d['steps'] == d['sent'] and d['steps'] > 0 and not d['failed_steps'] and d['unexpected'] == 0 and d['failed'] == 0"
check "50 numbered running orders delivered exactly once, in order" v "d['numbered_in_order_once']"
check "2 MB non-ASCII roCreate arrived with identical content" v "d['big_identical']"
check "device-originated mosObj and roElementStat reached the NCS" \
  v "(d['received_by_ncs'] or {}).get('mosObj') == 3 and (d['received_by_ncs'] or {}).get('roElementStat') == 2"
check "mosReqAll answered by one device-originated mosListAll of every object" \
  v "d['mos_list_all'] == [['OBJ1', 'OBJ2', 'OBJ3']]"
check "keepAlive never reached the legacy gear" bash -c "! grep -qi keepalive '$T/dev.out' '$T/ncs.out'"
finish
