#!/usr/bin/env bash
# The gateway (castgate run --config) in the WAN topology: a MOS 2.x NCS ->
# castgate -> wss -> castgate -> a MOS 2.x device, all on loopback, both
# legacy peers untouched plain TCP UCS-2BE (M-21). Checks that messageIDs
# pass end to end, the device's own status text reaches the NCS, and that
# 1,000 numbered messages are each applied exactly once and in order while
# (a) the wss link is cut repeatedly, (b) each gateway is SIGKILLed and
# restarted with the journal on, (c) the legacy device restarts (M-22). The
# device remembers the messageIDs it applied across its restarts, as M-22
# asks of receivers; a repeat it recognises is counted apart.
. "$(dirname "$0")/lib.sh"

P=$T/pki
make_pki "$P" "$(free_port)"
NCS_PORT=$(free_port); DEV_PORT=$(free_port); WSS=$(free_port)
N=${GATEWAY_N:-1000}
cat >"$T/gw1.conf" <<EOF2
# NCS side: the legacy NCS connects here; we are the device to it
[gateway]
state_dir = $T/s1
journal = yes
fsync = interval
ack_timeout_ms = 2000
[link newsroom]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:0,$NCS_PORT
channels = ro
url = wss://localhost:$WSS/mos/Communication
ca = $P/root-ca.pem
EOF2
cat >"$T/gw2.conf" <<EOF2
# device side: the far gateway connects here; we are the NCS to the device
[gateway]
listen = 127.0.0.1:$WSS
cert = $P/server-rsa.chain.pem $P/server-rsa.key
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s2
journal = yes
fsync = interval
ack_timeout_ms = 2000
[link newsroom]
legacy = mos
ncs_id = NCS
mos_id = DEV
legacy_dial = 127.0.0.1:0,$DEV_PORT
channels = ro
EOF2
check "--check-config accepts both files" bash -c \
  "'$CASTGATE' run --config '$T/gw1.conf' --check-config && '$CASTGATE' run --config '$T/gw2.conf' --check-config"

dev() { python3 "$SRC/tests/interop/mos2peer.py" device --port "$DEV_PORT" --status "OK from the device" \
          --seen "$T/dev.seen" >>"$T/dev.out" & DEV=$!; PIDS+=($DEV); }
gw2() { "$CASTGATE" run --config "$T/gw2.conf" >>"$T/gw2.out" 2>>"$T/gw2.err" &
        GW2=$!; PIDS+=($GW2); wait_port "$WSS"; }
gw1() { "$CASTGATE" run --config "$T/gw1.conf" >>"$T/gw1.out" 2>>"$T/gw1.err" &
        GW1=$!; PIDS+=($GW1); wait_port "$NCS_PORT"; }
dev; wait_port "$DEV_PORT"
gw2
gw1

python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$NCS_PORT" --count 20 >"$T/ncs1.out"
check "20 requests through two gateways, all answered" grep -q '"acked": 20' "$T/ncs1.out"
check "the device's own status text reaches the NCS" grep -q '"status": "OK from the device"' "$T/ncs1.out"
check "messageIDs pass end to end untouched" python3 -c "
import json,sys
got=[json.loads(l) for l in open('$T/dev.out') if '\"got\"' in l]
sys.exit(0 if [g['messageID'] for g in got]==[str(i) for i in range(1,21)] else 1)"
check "each link reports both sides up" bash -c "grep -q '\"event\":\"link\".*\"legacy\":\"up\",\"mos4\":\"up\"' '$T/gw1.out' && grep -q '\"event\":\"link\".*\"legacy\":\"up\",\"mos4\":\"up\"' '$T/gw2.out'"

acks() { grep -c '"event": "ack"' "$1"; }
# waits until $1 holds $2 more acks than it had when called with base $3
wait_acks() { for _ in $(seq 2000); do [ $(( $(acks "$1") - $3 )) -ge "$2" ] && return; sleep 0.01; done; }

# counts.py FIRST N DEV-OUT NCS-OUT: applied exactly once and in order?
# "Applied" is the device's durable record (--seen, written before it
# answers); the NCS sends messageID = sequence number.
cat >"$T/counts.py" <<'PY'
import json, sys
first, n, dev, ncs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ev = [json.loads(l) for l in open(dev) if l.startswith("{")]
got = [int(x) for x in open(sys.argv[5]).read().split() if first <= int(x) < first + n]
rep = [e["seq"] for e in ev if e["event"] == "repeat" and e["seq"] is not None and first <= e["seq"] < first + n]
acks = [json.loads(l)["seq"] for l in open(ncs) if '"ack"' in l]
print("sent %d, answered %d, applied %d (unique %d), repeats recognised by messageID %d"
      % (n, len(acks), len(got), len(set(got)), len(rep)))
sys.exit(0 if got == list(range(first, first + n)) and acks == list(range(first, first + n)) else 1)
PY
run_ncs() { : >"$2"; python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$NCS_PORT" --count "$N" --start "$1" \
              --retry-s 2 >"$2" & NPID=$!; PIDS+=($NPID); }

# (a) the wss link cut five times while N messages flow
run_ncs 10001 "$T/ncs-a.out"
cuts=0
for i in 1 2 3 4 5; do
  wait_acks "$T/ncs-a.out" $((N * i / 6)) 0
  ss -K dst 127.0.0.1 dport = ":$WSS" >/dev/null 2>&1 && cuts=$((cuts + 1))
done
wait "$NPID"
python3 "$T/counts.py" 10001 "$N" "$T/dev.out" "$T/ncs-a.out" "$T/dev.seen" >"$T/count-a"; rc=$?
check "(a) wss cut $cuts times: $(cat "$T/count-a"); exactly once, in order" test "$rc" = 0
check "(a) the cuts were seen by the gateways" grep -q '"up":false' "$T/gw2.out"

# (b) each gateway SIGKILLed mid-stream and restarted, journal on
run_ncs 20001 "$T/ncs-b.out"
for victim in gw2 gw1 gw2 gw1; do
  wait_acks "$T/ncs-b.out" $((N / 6)) "$(acks "$T/ncs-b.out")"
  if [ "$victim" = gw2 ]; then kill -KILL "$GW2"; wait "$GW2" 2>/dev/null; gw2
  else kill -KILL "$GW1"; wait "$GW1" 2>/dev/null; gw1; fi
done
wait "$NPID"
python3 "$T/counts.py" 20001 "$N" "$T/dev.out" "$T/ncs-b.out" "$T/dev.seen" >"$T/count-b"; rc=$?
check "(b) gateways SIGKILLed 4 times: $(cat "$T/count-b"); exactly once, in order" test "$rc" = 0
check "(b) a restarted gateway replayed its journal" grep -q 'journal: .* request(s)' "$T/gw1.err" "$T/gw2.err"

# (c) the legacy device SIGKILLed and restarted three times
run_ncs 30001 "$T/ncs-c.out"
for i in 1 2 3; do
  wait_acks "$T/ncs-c.out" $((N / 5)) "$(acks "$T/ncs-c.out")"
  kill -KILL "$DEV"; wait "$DEV" 2>/dev/null; sleep 0.3; dev
done
wait "$NPID"
python3 "$T/counts.py" 30001 "$N" "$T/dev.out" "$T/ncs-c.out" "$T/dev.seen" >"$T/count-c"; rc=$?
check "(c) legacy device restarted 3 times: $(cat "$T/count-c"); exactly once, in order" test "$rc" = 0

check "keepAlive never reached the legacy device" bash -c "! grep -qi keepalive '$T/dev.out'"
for c in a b c; do echo "counts ($c): $(cat "$T/count-$c")"; done
finish
