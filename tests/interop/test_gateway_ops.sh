#!/usr/bin/env bash
# Operating the gateway (castgate run --config): --check-config, SIGHUP reload
# that adds and removes links while another link carries traffic untouched,
# heartbeat pass-through (M-10) and its local answer when configured, and the
# bounded SIGTERM drain. The far side is native MOS 4.0 (castgate mos serve,
# castgate mos send), the legacy gear scripted MOS 2.x over TCP (M-21).
. "$(dirname "$0")/lib.sh"

P=$T/pki
make_pki "$P" "$(free_port)"
W1=$(free_port); W2=$(free_port); W3=$(free_port); GWP=$(free_port)
A=$(free_port); B=$(free_port); C=$(free_port)

# ---- --check-config: clear errors, exit 1 ----
bad_conf() { # bad_conf NAME EXPECTED-TEXT: the file on stdin must be refused with that text
  cat >"$T/bad.conf"
  "$CASTGATE" run --config "$T/bad.conf" --check-config >"$T/bad.out" 2>&1; local rc=$?
  check "--check-config refuses $1 (exit $rc)" bash -c "[ $rc = 1 ] && grep -q '$2' '$T/bad.out'"
}
bad_conf "an unknown option, naming file and line" "bad.conf:3: unknown option: colour" <<EOF2
[gateway]
state_dir = $T/x
colour = blue
EOF2
bad_conf "a file without links" "no \[link NAME\] section" <<EOF2
[gateway]
EOF2
bad_conf "the same NCS/device pair twice" "pair is linked already" <<EOF2
[link a]
legacy = ncs
ncs_id = N
mos_id = D
legacy_listen = 127.0.0.1:0,$A
url = wss://localhost:1/mos
[link b]
legacy = ncs
ncs_id = N
mos_id = D
legacy_listen = 127.0.0.1:0,$B
url = wss://localhost:1/mos
EOF2
bad_conf "passive-outside without a listener" "needs listen" <<EOF2
[link a]
legacy = mos
ncs_id = N
mos_id = D
legacy_dial = 127.0.0.1:0,$A
mode = passive-outside
EOF2
bad_conf "a certificate that is not there" "cannot set up the listener" <<EOF2
[gateway]
listen = 127.0.0.1:$GWP
auth = none  # no login on this test listener (M-05)
cert = $T/nothere.pem $T/nothere.key
[link a]
legacy = mos
ncs_id = N
mos_id = D
legacy_dial = 127.0.0.1:0,$A
EOF2

# ---- the far side: three native MOS 4.0 devices ----
start_mos4_device DEV1 "$W1"
start_mos4_device DEV2 "$W2"

link() { # link NAME DEVICE-ID LEGACY-PORT WSS-PORT [heartbeat policy]
  cat <<EOF2
[link $1]
legacy = ncs
ncs_id = NCS
mos_id = $2
legacy_listen = 127.0.0.1:0,$3
channels = ro
url = wss://localhost:$4/mos/Communication
ca = $P/root-ca.pem
heartbeat = ${5:-pass}
EOF2
}
{ echo "[gateway]"; echo "state_dir = $T/s-gw"; echo "ack_timeout_ms = 2000"
  link a DEV1 "$A" "$W1"; link b DEV2 "$B" "$W2" pass-or-answer; } >"$T/gw.conf"
check "--check-config accepts the gateway file" "$CASTGATE" run --config "$T/gw.conf" --check-config
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!; PIDS+=($GW); wait_port "$A"; wait_port "$B"

ncs() { python3 "$SRC/tests/interop/mos2peer.py" ncs --retry-s 2 "$@"; }
ncs --port "$A" --mos-id DEV1 --count 5 >"$T/a0.out"
check "link a carries requests" grep -q '"acked": 5' "$T/a0.out"
ncs --port "$B" --mos-id DEV2 --count 5 --start 100 >"$T/b0.out"
check "link b carries requests" grep -q '"acked": 5' "$T/b0.out"

# ---- heartbeats (M-10) ----
ncs --port "$A" --mos-id DEV1 --heartbeat --start 500 >"$T/hb-a.out"
check "heartbeat = pass: the far side answers it through the gateway" bash -c \
  "grep -q '\"answer\": true' '$T/hb-a.out' && grep -q '\"message\":\"heartbeat\".*\"from\":\"legacy\"' '$T/gw.out'"
kill -KILL "$PID_DEV2"; wait "$PID_DEV2" 2>/dev/null
for _ in $(seq 100); do grep -q '"link":"b","legacy":"[a-z]*","mos4":"down"' "$T/gw.out" && break; sleep 0.05; done
check "the link reports its far side down, and why" grep -q '"link":"b","legacy":"[a-z]*","mos4":"down","what":"the far side is unreachable","why":"' "$T/gw.out"
ncs --port "$B" --mos-id DEV2 --heartbeat --start 501 >"$T/hb-b.out"
check "heartbeat = pass-or-answer, far side away: the gateway answers it" grep -q '"answer": true' "$T/hb-b.out"

# ---- SIGHUP: link a keeps flowing while b is removed and c added ----
start_mos4_device DEV3 "$W3"
ncs --port "$A" --mos-id DEV1 --count 300 --start 1000 >"$T/a1.out" & APID=$!; PIDS+=($APID)
for _ in $(seq 500); do [ "$(grep -c '"ack"' "$T/a1.out")" -ge 50 ] && break; sleep 0.01; done
{ echo "[gateway]"; echo "state_dir = $T/s-gw"; echo "ack_timeout_ms = 2000"
  link a DEV1 "$A" "$W1"; link c DEV3 "$C" "$W3"; } >"$T/gw.conf"
kill -HUP "$GW"
for _ in $(seq 100); do grep -q 'reload: .* kept running' "$T/gw.err" && break; sleep 0.05; done
check "reload: 1 link kept running, 1 stopped, 1 started" grep -q 'reload: 1 link(s) kept running, 1 stopped, 1 started' "$T/gw.err"
wait_port "$C"
ncs --port "$C" --mos-id DEV3 --count 5 --start 200 >"$T/c0.out"
check "the added link c carries requests" grep -q '"acked": 5' "$T/c0.out"
check "the removed link b no longer listens" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$B) 2>/dev/null"
{ echo "[gateway]"; echo "nonsense here"; } >"$T/gw.conf"
kill -HUP "$GW"
for _ in $(seq 100); do grep -q 'reload REFUSED' "$T/gw.err" && break; sleep 0.05; done
check "a broken file is refused and nothing changes" grep -q 'reload REFUSED' "$T/gw.err"
wait "$APID"
check "link a: all 300 answered across both reloads" grep -q '"acked": 300' "$T/a1.out"
check "link a's MOS 4.0 lane never went down (reloads included)" \
  bash -c "! grep -q '\"link\":\"a\",\"side\":\"mos4\".*\"up\":false' '$T/gw.out'"
check "link a's legacy connection stayed up during the reloads (down only when each NCS run ended: 3)" \
  test "$(grep -c '"link":"a","side":"legacy".*"up":false' "$T/gw.out")" -le 3
check "DEV1 got the 300 once each, in order" python3 -c "
import json,sys
ids=[json.loads(l)['messageID'] for l in open('$T/DEV1.out') if '\"message\":\"roReq\"' in l]
ids=[int(i) for i in ids if int(i)>=1000]
sys.exit(0 if ids==list(range(1000,1300)) else 1)"

# ---- SIGTERM: what is in flight finishes, bounded by drain_ms ----
# legacy device (slow) <- castgate <-wss- native MOS 4.0 NCS (castgate mos send)
DEVP=$(free_port); GW2P=$(free_port)
python3 "$SRC/tests/interop/mos2peer.py" device --port "$DEVP" --delay-ms 1500 >"$T/slow.out" &
PIDS+=($!); wait_port "$DEVP"
cat >"$T/gw2.conf" <<EOF2
[gateway]
listen = 127.0.0.1:$GW2P
auth = none  # no login on this test listener (M-05)
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s-gw2
drain_ms = 5000
[link slow]
legacy = mos
ncs_id = NCS
mos_id = SLOW
legacy_dial = 127.0.0.1:0,$DEVP
channels = ro
EOF2
cat >"$T/ncs.conf" <<EOF2
[endpoint]
role = ncs
id = NCS
state_dir = $T/s-ncs
[peer SLOW]
url = wss://localhost:$GW2P/mos/Communication
ca = $P/root-ca.pem
channels = ro
EOF2
"$CASTGATE" run --config "$T/gw2.conf" >"$T/gw2.out" 2>"$T/gw2.err" &
GW2=$!; PIDS+=($GW2); wait_port "$GW2P"
kill -HUP "$GW2"
for _ in $(seq 100); do grep -q 'reload: certificates' "$T/gw2.err" && break; sleep 0.05; done
check "SIGHUP re-reads the listener's certificates (for new connections)" \
  grep -q 'reload: certificates reloaded' "$T/gw2.err"
"$CASTGATE" mos send --config "$T/ncs.conf" --peer SLOW --channel ro --timeout 20 \
  "${CG_SHARED_DIR:-$SRC/../shared}/fixtures/mos/spec/roReq.xml" >"$T/send.out" 2>"$T/send.err" & SPID=$!; PIDS+=($SPID)
for _ in $(seq 200); do grep -q '"got"' "$T/slow.out" && break; sleep 0.02; done
t0=$(date +%s%N)
kill -TERM "$GW2"; wait "$GW2"; grc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$SPID"; src=$?
check "SIGTERM waits for the message in flight: the NCS got the device's answer (send rc $src)" \
  bash -c "[ $src = 0 ] && grep -q '\"status\":\"ok\"' '$T/send.out'"
check "then the gateway exits 0 (after $ms ms), saying it drained" bash -c "[ $grc = 0 ] && grep -q drained '$T/gw2.err'"
# the same with a device that does not answer in time: bounded by drain_ms
sed -i 's/drain_ms = 5000/drain_ms = 700/' "$T/gw2.conf"
pkill -KILL -f -- "--port $DEVP --delay-ms" 2>/dev/null
python3 "$SRC/tests/interop/mos2peer.py" device --port "$DEVP" --delay-ms 30000 >"$T/stuck.out" &
PIDS+=($!); wait_port "$DEVP"
"$CASTGATE" run --config "$T/gw2.conf" >>"$T/gw2.out" 2>"$T/gw2b.err" &
GW2=$!; PIDS+=($GW2); wait_port "$GW2P"
"$CASTGATE" mos send --config "$T/ncs.conf" --peer SLOW --channel ro --timeout 5 \
  "${CG_SHARED_DIR:-$SRC/../shared}/fixtures/mos/spec/roReq.xml" >/dev/null 2>&1 & PIDS+=($!)
for _ in $(seq 200); do grep -q '"got"' "$T/stuck.out" && break; sleep 0.02; done
t0=$(date +%s%N)
kill -TERM "$GW2"; wait "$GW2"; grc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a drain is bounded: exit $grc after $ms ms with drain_ms = 700, saying what was left" \
  bash -c "[ $grc = 0 ] && [ $ms -lt 5000 ] && grep -q 'drain time is up with 1 message' '$T/gw2b.err'"
finish
