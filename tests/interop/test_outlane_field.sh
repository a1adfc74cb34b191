#!/usr/bin/env bash
# Field behaviour (issue 20 item 6), with a fake NCS (npm ws, real wss):
#  1. heartbeat_time = short: our heartbeat's <time> has no fraction and no Z
#     (M-24); an NCS answering it "<mos>Invalid command: …</mos>" gives a NACK
#     with the text and the lane goes on (item 1 of the issue, not a stall).
#  2. MOS 2.6 gear sending requests without a messageID (M-11) through the
#     gateway to the MOS 4.0 side: passed on, answered, and counted
#     ({"event":"no-messageid"} at 1, 10, 100, ...).
. "$(dirname "$0")/lib.sh"

fake_ncs_pki
NCS=$(free_port); NCS2=$(free_port); GL=$(free_port); GU=$(free_port)

# ---- 1 ----
start_fake_ncs "$NCS" "$T/ncs.out"
cat >"$T/dev.conf" <<EOF
[endpoint]
role = mos
id = DEV
state_dir = $T/s-dev
ack_timeout_ms = 3000
heartbeat_time = short
[peer NCS]
url = wss://localhost:$NCS/mos/Communication
ca = $P/root-ca.pem
channels = mom,ro
EOF
echo '<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><reqMachInfo/></mos>' >"$T/mach.xml"
timeout 100 "$CASTGATE" mos send --config "$T/dev.conf" --peer NCS --channel mom --timeout 60 \
  --heartbeat "$T/mach.xml" >"$T/send.out" 2>"$T/send.err"
cat "$T/send.out" | cut -c1-300
hb_time=$(grep '"name":"heartbeat"' "$T/ncs.out" | grep '"event":"got"' | sed -n 's/.*<time>\([^<]*\)<\/time>.*/\1/p' | head -1)
echo "heartbeat time sent: $hb_time"
check "the heartbeat's time has the short form (no fraction, no Z)" \
  bash -c "[[ '$hb_time' =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$ ]]"
check "the NCS's 'Invalid command' answer to it: a NACK with the text" \
  grep -q '"event":"nack".*peer answered: Invalid command: heartbeat' "$T/send.out"
check "not a stall: the heartbeat sent once, the next request went out and was answered" \
  bash -c "[ \$(grep -c '\"event\":\"got\".*\"name\":\"heartbeat\"' '$T/ncs.out') = 1 ] &&
           grep -q '\"event\":\"got\".*\"name\":\"reqMachInfo\"' '$T/ncs.out' &&
           [ \$(grep -c '\"event\":\"reply\"' '$T/send.out') = 2 ]"

# ---- 2 ----
start_fake_ncs "$NCS2" "$T/ncs2.out" --answer ack
cat >"$T/gw.conf" <<EOF
[gateway]
state_dir = $T/s-gw
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
import socket, sys
E = lambda s: s.encode("utf-16-be")
END = E("</mos>")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(20)
buf = b""
for i in range(12):  # MOS 2.6 gear: no messageID (M-11), stop-and-wait
    s.sendall(E("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><heartbeat><time>2026-12-06T10:00:%02d</time></heartbeat></mos>" % i))
    while True:
        j = buf.find(END)
        if j >= 0 and j % 2 == 0:
            print(buf[: j + len(END)].decode("utf-16-be")); buf = buf[j + len(END):]
            break
        c = s.recv(65536)
        if not c:
            sys.exit(1)
        buf += c
PY
grc=$?
grep '"event":"no-messageid"' "$T/gw.out"
check "12 ID-less heartbeats from the gear were passed on and answered (rc $grc)" \
  bash -c "[ $grc = 0 ] && [ \$(grep -c . '$T/gear.out') = 12 ] && [ \$(grep -c '\"event\":\"got\".*\"messageID\":null' '$T/ncs2.out') = 12 ]"
check "they were counted: events at 1 and 10, not at each" \
  bash -c "[ \"\$(grep '\"event\":\"no-messageid\"' '$T/gw.out' | sed -n 's/.*\"count\":\([0-9]*\).*/\1/p' | tr '\n' ' ')\" = '1 10 ' ]"
finish
