#!/usr/bin/env bash
# The gateway pair with two castgate run processes (issue 18 item 3,
# docs/redundancy.md "The gateway pair"): node 0 and node 1, one file each
# (the same but for node and their own ports), a legacy NCS (scripted MOS
# 2.x over TCP, M-21, stop-and-wait with retries under the same messageID,
# M-22) and a MOS 4.0 device (castgate mos serve, DEV). The NCS dials a
# stand-in for the virtual address (a TCP forwarder; the test moves it to
# the active's port at takeover, as keepalived would move the address).
# Node 0 starts alone and becomes active; node 1 joins as a standby: it
# holds its links (its legacy port not bound, the device not dialled) and
# stores the journal records node 0 replicates. Node 0 is SIGKILLed after a
# third of N numbered roReq; node 1 takes over; node 0 comes back as its
# standby (its journals of the old regime set aside); node 1 is SIGKILLed
# after two thirds; node 0 takes over again. Checked: the NCS got an answer to
# each request, in order; the device applied each exactly once, in order
# (a raw arrival twice only for the request in flight at the kill, under
# its own messageID: M-22); node 1 stored a request and an answer record
# for each request node 0 answered before the kill, and read them when it
# took over; the takeover time is printed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pair_lib.sh"

pair_setup
N=${PAIR_N:-300}
pair_conf 0 "$A0" >"$T/n0.conf"
pair_conf 1 "$A1" >"$T/n1.conf"
for n in 0 1; do
  check "node $n: --check-config accepts its file" "$CASTGATE" run --config "$T/n$n.conf" --check-config
done

start_vip "$A0"

# the device holds each answer 20 ms: the run lasts seconds, the kill lands in its middle
start_mos4_device DEV "$WSS" --hold-ms 20

"$CASTGATE" run --config "$T/n0.conf" >"$T/n0.out" 2>"$T/n0.err" &
G0=$!; PIDS+=($G0)
step "node 0, alone, becomes active" 60 'pair(g0, "active")'
check "node 0 created its active_file, its PID in it (for keepalived's track script)" \
  grep -qx "$G0" "$T/active-0"
wait_port "$A0" 30
"$CASTGATE" run --config "$T/n1.conf" >"$T/n1.out" 2>"$T/n1.err" &
G1=$!; PIDS+=($G1)
step "node 1 joins as a standby, connected to node 0" 60 \
  'pair(g1, "standby") and pair(g1, "connected") and not pair(g1, "active")'
check "the standby holds its links: its legacy port is not bound" \
  bash -c "! ss -Hltn 'sport = :$A1' | grep -q ."
check "nor its [gateway] listener" bash -c "! ss -Hltn 'sport = :$L1' | grep -q ."
check "the standby has no active_file" test ! -e "$T/active-1"

python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$V" --mos-id DEV --count "$N" --retry-s 3 \
  >"$T/ncs.out" 2>"$T/ncs.err" &
NCS=$!; PIDS+=($NCS)
step "the device gets the first third of the requests" 120 "len(got) >= $N // 3"
check "node 1 stayed a standby meanwhile" wait_until 1 'not pair(g1, "active")'
python3 -c 'import json,sys; print(len([1 for l in open(sys.argv[1]) if "\"ack\"" in l]))' \
  "$T/ncs.out" >"$T/acked-before"
KILLED=$(date +%s.%N)
kill -KILL "$G0"; wait "$G0" 2>/dev/null
move_vip "$A1" # the virtual address moves to node 1
step "node 1 takes over" 60 'pair(g1, "active")'
TOOK=$(date +%s.%N)
wait_port "$A1" 30
check "node 1 created its active_file" test -e "$T/active-1"
check "node 1's [gateway] listener is open" wait_port "$L1" 30

# node 0 comes back: a standby of node 1 (epoch 3), its old journals set aside
"$CASTGATE" run --config "$T/n0.conf" >"$T/n0b.out" 2>"$T/n0b.err" &
G0=$!; PIDS+=($G0)
check "the killed node 0 left its active_file" test -e "$T/active-0"
step "node 0 comes back as node 1's standby" 60 \
  'pair(load("n0b.out"), "connected") and not pair(load("n0b.out"), "active")'
check "and removed the active_file the killed run left" test ! -e "$T/active-0"
step "it sets its journals of the old regime aside and follows node 1's" 60 \
  '"journals set aside for regime 3" in open(T + "/n0b.err").read()'
step "the device gets two thirds of the requests" 180 "len(got) >= 2 * $N // 3"
python3 -c 'import json,sys; print(len([1 for l in open(sys.argv[1]) if "\"ack\"" in l]))' \
  "$T/ncs.out" >"$T/acked-before2"
KILLED2=$(date +%s.%N)
kill -KILL "$G1"; wait "$G1" 2>/dev/null
move_vip "$A0"
step "node 0 takes over again" 60 'pair(load("n0b.out"), "active")'
TOOK2=$(date +%s.%N)
step "the NCS has its answers" 300 "len(acks) >= $N or any(x['event'] == 'done' for x in n)"
kill "$NCS" 2>/dev/null; wait "$NCS" 2>/dev/null
stop_pid "$G0"; grc=$?
check "node 0 stops cleanly (exit status $grc)" test "$grc" = 0

PYTHONPATH="$SRC/tests/interop" python3 - "$T" "$N" "$KILLED" "$TOOK" "$KILLED2" "$TOOK2" >"$T/verdict" <<'EOF'
import json, sys, os, re
T, N = sys.argv[1], int(sys.argv[2])
killed, took, killed2, took2 = (float(x) for x in sys.argv[3:7])
from pairverdict import Verdict, load as load_in
def load(n):
    return load_in(T, n)
g0, g1, dev, n = load("n0.out"), load("n1.out"), load("DEV.out"), load("ncs.out")
v = Verdict()
need, fails = v.need, v.fails
v.delivery(n, dev, N, 1, "a request reached the device twice at most once (the one in flight at the "
     "kill, under its own messageID, M-22)")
before = int(open(os.path.join(T, "acked-before")).read())
act = [x for x in g1 if x.get("event") == "pair" and x.get("what") == "active"]
print(f"answered before the kill: at least {before}; node 1 at takeover: {act[:1]}")
need(bool(act) and act[0]["stored"] > 0, "node 1 had stored records node 0 replicated")
need(before > 0 and bool(act) and act[0]["stored"] >= 2 * before,
     f"node 1 had stored at least a request and an answer record for each of the {before} requests "
     "answered before the kill")
err = open(os.path.join(T, "n1.err"), errors="replace").read()
read = [(int(a), int(b)) for a, b in re.findall(r"NCS ro in: journal: (\d+) request\(s\), (\d+) answer", err)]
print(f"node 1 read at takeover (requests, answers): {read}")
need(bool(read) and read[0][0] >= before and read[0][1] >= before,
     "taking over, node 1 read the replicated journal: the requests and answers node 0 had")
before2 = int(open(os.path.join(T, "acked-before2")).read())
act2 = [x for x in load("n0b.out") if x.get("event") == "pair" and x.get("what") == "active"]
print(f"answered before the second kill: at least {before2}; node 0 at its takeover: {act2[:1]}")
gaps = [x for x in load("n0b.out") if x.get("event") == "pair" and x.get("why") == "gap"]
resyncs = open(os.path.join(T, "n1.err"), errors="replace").read().count("pair: resync from record")
print(f"node 1 resent its journal {resyncs} time(s) to the returning node 0, which noted {len(gaps)} gap(s)")
need(not gaps, "the returning standby noted no gap (a compacted journal's holes are skipped)")
need(bool(act2) and act2[0]["epoch"] == 4, "node 0 took over with epoch 4 (even, above node 1's 3)")
need(bool(act2) and act2[0]["stored"] >= 2 * (before2 - before) - 2,
     f"node 0 had stored the records of the {before2 - before} requests node 1 answered")
print(f"takeover times: node 1 active {took - killed:.2f} s after the first SIGKILL, node 0 "
      f"{took2 - killed2:.2f} s after the second (takeover_after_ms 1500; the test's polling adds "
      "up to 0.1 s)")
sys.exit(1 if fails else 0)
EOF
vrc=$?
sed 's/^/    /' "$T/verdict"
check "pair takeover: what the device and the NCS saw (above)" test "$vrc" = 0
finish
