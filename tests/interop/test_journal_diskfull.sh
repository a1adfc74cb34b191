#!/usr/bin/env bash
# Issue 12 item 8: a gateway whose journal cannot record a request (its state
# directory on a full filesystem) answers that request with a NACK naming the
# reason, and says so in its log; once there is room again requests are
# recorded and acknowledged. An answer that cannot be recorded is not sent:
# its sender's repeat gets it once there is room (M-22). The state directory is a small tmpfs this test
# mounts (root only: 77 = skipped otherwise) and unmounts on exit. The far
# side is native MOS 4.0 (castgate mos serve), the NCS scripted MOS 2.x.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "needs root to mount a tmpfs"; exit 77; }
MNT=$T/state
mkdir -p "$MNT"
mount -t tmpfs -o size=256k,mode=0700 castgate-test "$MNT" 2>/dev/null || { echo "cannot mount a tmpfs"; exit 77; }
trap 'cleanup_mnt' EXIT
trap 'exit 1' INT TERM # the EXIT trap unmounts
cleanup_mnt() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; umount "$MNT" 2>/dev/null || umount -l "$MNT"; cleanup; }

P=$T/pki
make_pki "$P" "$(free_port)"
W=$(free_port); A=$(free_port)
cat >"$T/dev.conf" <<EOF2
[endpoint]
role = mos
id = DEV
listen = 127.0.0.1:$W
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
auth = none
[peer NCS]
channels = ro
EOF2
"$CASTGATE" mos serve --config "$T/dev.conf" >"$T/dev.out" 2>"$T/dev.err" &
PIDS+=($!); wait_port "$W" || { bad "the device did not start" "$(cat "$T/dev.err")"; finish; exit 1; }
cat >"$T/gw.conf" <<EOF2
[gateway]
state_dir = $MNT
journal = yes
fsync = never
[link a]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:0,$A
channels = ro
url = wss://localhost:$W/mos/Communication
ca = $P/root-ca.pem
EOF2
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
PIDS+=($!); wait_port "$A" || { bad "the gateway did not start" "$(cat "$T/gw.err")"; finish; exit 1; }

ncs() { timeout 120 python3 "$SRC/tests/interop/mos2peer.py" ncs --retry-s 5 --port "$A" "$@"; }
ncs --count 5 --start 1 >"$T/a0.out"
check "with room: 5 requests acknowledged" grep -q '"acked": 5' "$T/a0.out"
check "with room: every answer positive" bash -c "[ \$(grep -c '\"status\": \"OK\"' '$T/a0.out') = 5 ]"

# the disk fills up (the journal's last page may still take a few records)
dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
# A request recorded in the journal's last room whose answer then cannot be recorded is not
# answered (docs/flow.md "cg__flow_answer_recorded"): its sender repeats it (M-22) until there
# is room again. If the gateway says so, room is made, and the repeat is answered.
ncs --count 40 --start 100 >"$T/a1.out" &
NCS1=$!; PIDS+=($NCS1)
withheld=no
for ((i = 0; i < 1200; i++)); do
  kill -0 "$NCS1" 2>/dev/null || break
  if grep -q 'not sent: its journal record cannot be written' "$T/gw.err"; then
    withheld=yes; rm -f "$MNT/fill"; break
  fi
  sleep 0.1
done
wait "$NCS1"
echo "# an answer not recorded, held back until there was room: $withheld"
check "disk full: requests are answered, none left waiting (an unrecorded answer once there is room)" \
  grep -q '"acked": 40' "$T/a1.out"
check "disk full: the sender gets a NACK naming the reason" \
  grep -q '"status": "castgate: cannot record the request (No space left on device); send it again later"' "$T/a1.out"
check "disk full: the log says why" grep -q 'cannot record a request (No space left on device)' "$T/gw.err"
check "disk full: never an empty reason" bash -c "! grep -q 'no detail' '$T/gw.err'"
nacked=$(grep -c 'No space left' "$T/a1.out")
echo "# $nacked of 40 refused while the disk was full"

rm -f "$MNT/fill"
ncs --count 5 --start 200 >"$T/a2.out"
check "room again: requests acknowledged" bash -c "[ \$(grep -c '\"status\": \"OK\"' '$T/a2.out') = 5 ]"
check "the device applied only what was acknowledged" python3 -c "
import json,sys
acked={int(e['messageID']) for e in map(json.loads, open('$T/a0.out').read().split('\n')[:-1]+open('$T/a1.out').read().split('\n')[:-1]+open('$T/a2.out').read().split('\n')[:-1]) if e.get('event')=='ack' and e.get('status')=='OK'}
got=[l for l in open('$T/dev.out') if 'roReq' in l]
print(len(acked), len(got), file=sys.stderr)
sys.exit(0 if len(got) == len(acked) else 1)"
finish
