#!/usr/bin/env bash
# The gateway (castgate run --config) in the WAN topology: a MOS 2.x NCS ->
# castgate -> wss -> castgate -> a MOS 2.x device, all on loopback, both
# legacy peers untouched plain TCP UCS-2BE (M-21). Checks that messageIDs
# pass end to end, the device's own status text reaches the NCS, and that
# 1,000 numbered messages are each applied exactly once and in order while
# (a) the wss link is cut repeatedly, (b) each gateway is SIGKILLed and
# restarted with the journal on, (c) the legacy device restarts (M-22). The
# device remembers the messageIDs it applied across its restarts, as M-22
# asks of receivers, and answers a repeat from memory; the verdict counts
# every arrival before that, so "exactly once" means: at most one repeat per
# gateway crash, of the message then in flight, under its own messageID, and
# none for a wss cut (tests/interop/mos2verdict.py).
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
auth = none  # no login on this test listener (M-05)
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
# wait_acks FILE K BASE: until FILE holds K more acks than BASE; fails (and
# the test with it) when 20 s pass without that, rather than injecting the
# fault at a moment nobody chose.
wait_acks() {
  for _ in $(seq 2000); do [ $(( $(acks "$1") - $3 )) -ge "$2" ] && return 0; sleep 0.01; done
  bad "waiting for $2 more answers in $(basename "$1") (had $(( $(acks "$1") - $3 )))"; return 1
}
fault() { echo "$1 $(date +%s.%N)" >>"$2"; } # fault KIND FILE: after the fault happened

# The verdict (tests/interop/mos2verdict.py) counts every arrival at the
# device, before its M-22 memory (--seen) recognises a repeat: lost, out of
# order, a repeat no gateway crash (or device crash before answering)
# explains, a repeat under another messageID, a NACK: each fails the phase.
verdict() { # verdict FIRST PHASE
  python3 "$SRC/tests/interop/mos2verdict.py" "$1" "$N" "$T/dev.out" "$T/ncs-$2.out" "$T/faults-$2" \
    --status "OK from the device" >"$T/count-$2"
}
run_ncs() { : >"$2"; python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$NCS_PORT" --count "$N" --start "$1" \
              --retry-s 2 >"$2" & NPID=$!; PIDS+=($NPID); }

# (a) the wss link cut five times while N messages flow; a cut counts when
# ss -K closed a socket (it prints each one; its exit status is 0 regardless)
: >"$T/faults-a"
run_ncs 10001 "$T/ncs-a.out"
cuts=0
for i in 1 2 3 4 5; do
  wait_acks "$T/ncs-a.out" $((N * i / 6)) 0
  k=$(ss -HK dst 127.0.0.1 dport = ":$WSS" 2>/dev/null | grep -c .)
  [ "$k" -gt 0 ] && { cuts=$((cuts + 1)); fault wss-cut "$T/faults-a"; }
done
wait "$NPID"
verdict 10001 a; rc=$?
check "(a) wss cut $cuts times: $(cat "$T/count-a"); exactly once, in order" test "$rc" = 0
check "(a) every one of the 5 cuts closed a connection" test "$cuts" = 5

# (b) each gateway SIGKILLed mid-stream and restarted, journal on
: >"$T/faults-b"
run_ncs 20001 "$T/ncs-b.out"
for victim in gw2 gw1 gw2 gw1; do
  wait_acks "$T/ncs-b.out" $((N / 6)) "$(acks "$T/ncs-b.out")"
  if [ "$victim" = gw2 ]; then kill -KILL "$GW2"; wait "$GW2" 2>/dev/null; fault gateway-crash "$T/faults-b"; gw2
  else kill -KILL "$GW1"; wait "$GW1" 2>/dev/null; fault gateway-crash "$T/faults-b"; gw1; fi
done
wait "$NPID"
verdict 20001 b; rc=$?
check "(b) gateways SIGKILLed 4 times: $(cat "$T/count-b"); exactly once at a device that keeps M-22, in order" test "$rc" = 0
check "(b) a restarted gateway replayed its journal" grep -q 'journal: .* request(s)' "$T/gw1.err" "$T/gw2.err"

# (c) the legacy device SIGKILLed and restarted three times
: >"$T/faults-c"
run_ncs 30001 "$T/ncs-c.out"
for i in 1 2 3; do
  wait_acks "$T/ncs-c.out" $((N / 5)) "$(acks "$T/ncs-c.out")"
  kill -KILL "$DEV"; wait "$DEV" 2>/dev/null; fault device-crash "$T/faults-c"; sleep 0.3; dev
done
wait "$NPID"
verdict 30001 c; rc=$?
check "(c) legacy device restarted 3 times: $(cat "$T/count-c"); exactly once, in order" test "$rc" = 0

check "keepAlive never reached the legacy device" bash -c "! grep -qi keepalive '$T/dev.out'"
for c in a b c; do echo "arrivals and repeats per fault kind ($c): $(cat "$T/count-$c")"; done
finish
