#!/usr/bin/env bash
# A split brain of the gateway pair and its healing (issue 18 item 3,
# docs/redundancy.md "What is guaranteed and what is not"): node 0 dials
# node 1's replication listener through a forwarder the test cuts. Node 0 is
# active, node 1 its standby; the replication link is cut: node 1 hears no
# active for takeover_after_ms and becomes active too (epoch 3 beside node
# 0's 2: both serve, both have their active_file). The link is healed: node
# 0 hears an active of a greater epoch and stands down (the
# "stand-down" event, its active_file removed, exit status 3); node 1 stays
# active. Node 0 started again is node 1's standby and sets its journals of
# the old regime aside.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pair_lib.sh"

pair_setup
F=$(free_port)
PAIR_PEER_PORT=$F pair_conf 0 "$A0" >"$T/n0.conf"
pair_conf 1 "$A1" >"$T/n1.conf"
echo "$PP" >"$T/link.target" # the replication link: $F forwards to node 1's listener
link_up() {
  python3 "$SRC/tests/interop/forwarder.py" "$F" "$T/link.target" &
  LINK=$!; PIDS+=($LINK); wait_port "$F"
}
link_up
start_mos4_device DEV "$WSS"

"$CASTGATE" run --config "$T/n0.conf" >"$T/n0.out" 2>"$T/n0.err" &
G0=$!; PIDS+=($G0)
step "node 0, alone, becomes active" 60 'pair(g0, "active")'
"$CASTGATE" run --config "$T/n1.conf" >"$T/n1.out" 2>"$T/n1.err" &
G1=$!; PIDS+=($G1)
step "node 1 joins as its standby through the link" 60 'pair(g1, "connected") and not pair(g1, "active")'
python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$A0" --mos-id DEV --count 10 --retry-s 5 \
  >"$T/ncs.out" 2>"$T/ncs.err"
check "node 0 answers the NCS" wait_until 10 "acks == list(range(1, 11))"

kill -KILL "$LINK"; wait "$LINK" 2>/dev/null # the replication link cut, both machines alive
step "split brain: node 1 hears no active and takes over too" 60 'pair(g1, "active")'
check "both are active (each has its active_file)" test -e "$T/active-0" -a -e "$T/active-1"
check "node 0 notes its standby lost" wait_until 10 \
  'any(x.get("why") == "standby-lost" for x in pair(g0, "note"))'
check "node 0 still runs" kill -0 "$G0"

link_up # healed
step "healed: node 0 hears node 1's greater epoch and stands down" 60 'pair(g0, "stand-down")'
for _ in $(seq 300); do kill -0 "$G0" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$G0" 2>/dev/null; then rc="still running"; else wait "$G0"; rc=$?; fi
check "node 0 exits with status 3 (stood down; its supervisor starts it again)" test "$rc" = 3
check "node 0 removed its active_file" test ! -e "$T/active-0"
check "node 1 is still active" bash -c "kill -0 $G1 && ! grep -q stand-down '$T/n1.out'"

"$CASTGATE" run --config "$T/n0.conf" >"$T/n0b.out" 2>"$T/n0b.err" &
G0=$!; PIDS+=($G0)
step "node 0 started again is node 1's standby" 60 \
  'pair(load("n0b.out"), "connected") and not pair(load("n0b.out"), "active")'
step "and sets its journals of regime 2 aside for node 1's regime 3" 60 \
  '"journals set aside for regime 3" in open(T + "/n0b.err").read()'
check "node 0 stops cleanly" stop_pid "$G0"
check "node 1 stops cleanly" stop_pid "$G1"
finish
