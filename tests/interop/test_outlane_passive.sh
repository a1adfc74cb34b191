#!/usr/bin/env bash
# The passive rules an NCS depends on (M-08, M-09; issue 20 item 5). The field:
# an NCS takes anything a device sends on a passive=true socket as its answer
# to the NCS's last message. castgate as a device in passive-inside mode; a
# fake NCS (npm ws, real wss on loopback) pushes roCreate on the passive ro
# socket the moment it opens; the application holds the answer 2.5 s with
# keepAlive at 1 s (the field's 75 s against 30 s, scaled: the same rule).
#  - not one frame goes out on that socket before the roAck, while keepAlives
#    do go out on the idle sockets meanwhile (and on this one once it is idle);
#  - the device's own roReq goes on its ordinary (non-passive) ro socket.
. "$(dirname "$0")/lib.sh"

fake_ncs_pki
NCS=$(free_port)
start_fake_ncs "$NCS" "$T/ncs.out" --answer ack --push-rocreate
for n in dev dev2; do
  cat >"$T/$n.conf" <<EOF
[endpoint]
role = mos
id = DEV
state_dir = $T/s-$n
keepalive_s = 1
[peer NCS]
mode = passive-inside
url = wss://localhost:$NCS/mos/Communication
ca = $P/root-ca.pem
channels = mom,ro
EOF
done
"$CASTGATE" mos serve --config "$T/dev.conf" --hold-ms 2500 >"$T/dev.out" 2>"$T/dev.err" &
DEVPID=$!; PIDS+=($DEVPID)
for ((i = 0; i < 300; i++)); do
  grep -q '"event":"answer".*"name":"roAck","messageID":"1001"' "$T/ncs.out" && break
  sleep 0.1
done
sleep 3 # the passive socket idle after the roAck: its keepAlive comes
"$CASTGATE" mos send --config "$T/dev2.conf" --peer NCS --channel ro --timeout 30 /dev/stdin \
  >"$T/send.out" 2>"$T/send.err" <<EOF
<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>1</messageID><roReq><roID>RO-PUSH</roID></roReq></mos>
EOF
src=$?
python3 - "$T/ncs.out" >"$T/verdict" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
push = next((e["t"] for e in ev if e["event"] == "pushed"), None)
ack = next((e["t"] for e in ev if e["event"] == "answer" and e["name"] == "roAck" and e["messageID"] == "1001"), None)
pro = [e for e in ev if e["event"] == "frame" and e["channel"] == "ro" and e["passive"]]
first = pro[0] if pro else {}
ka_other = [e for e in ev if e["event"] == "frame" and e["name"].lower() == "keepalive" and not
            (e["channel"] == "ro" and e["passive"]) and push is not None and ack is not None and push < e["t"] < ack]
ka_after = [e for e in pro if e["name"].lower() == "keepalive" and ack is not None and e["t"] > ack]
roreq = [e for e in ev if e["event"] == "got" and e["name"] == "roReq"]
print(json.dumps({"pushed": push, "acked": ack,
  "first_on_passive_ro": [first.get("name"), first.get("messageID")],
  "frames_on_passive_ro_before_ack": next((i for i, e in enumerate(pro) if e["name"] == "roAck"), -1),
  "keepalives_elsewhere_during_hold": len(ka_other), "keepalives_on_passive_ro_after": len(ka_after),
  "roReq_sockets": ["%s %s" % ("passive" if e["passive"] else "ordinary", e["channel"]) for e in roreq]}))
PY
cat "$T/verdict"
v() { python3 -c "import json,sys; d=json.load(open('$T/verdict')); sys.exit(0 if ($1) else 1)"; }
check "the NCS pushed roCreate on the passive ro socket and got its roAck there" \
  v "d['pushed'] is not None and d['acked'] is not None"
check "not one frame on that socket before the roAck (M-08)" \
  v "d['first_on_passive_ro'] == ['roAck', '1001'] and d['frames_on_passive_ro_before_ack'] == 0"
check "keepAlive was running meanwhile: sent on the idle sockets during the hold (M-09)" \
  v "d['keepalives_elsewhere_during_hold'] >= 1"
check "and on the passive socket once its exchange was over" v "d['keepalives_on_passive_ro_after'] >= 1"
check "the device's own roReq went on its ordinary ro socket, and was answered (exit $src)" \
  v "d['roReq_sockets'] == ['ordinary ro'] and $src == 0"
finish
