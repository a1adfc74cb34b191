#!/usr/bin/env bash
# A SIGHUP reload that stops and starts a link of a gateway pair's active
# while records are in flight (issue 18, docs/redundancy.md "The gateway
# pair"; review defect "endpoint pointers go stale across a reload"). Both
# nodes have two links sharing their MOS 4.0 endpoint (our ID NCS): "ncs" to
# device DEV and "ncs2" to DEV2. While a legacy NCS sends numbered roReq on
# both (every request and answer a journal record replicated to node 1, and
# each answer released when node 1's acknowledgement comes back, through
# every endpoint the pair knows), the active node 0 is reloaded five times
# with "ncs2" changed (its CA file touched: the link is stopped and started
# again, its legacy endpoint, our ID DEV2, freed and made anew). Then node 1
# is stopped and node 0 goes on degraded (every record releases its answers
# at once) through five more reloads. ASan build: no error report from
# either node; both links' requests all answered, in order; node 0 stays
# active, node 1 never halts (a record it could not store would halt it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pair_lib.sh"

pair_setup
WSS2=$(free_port); A2=$(free_port)
cp "$P/root-ca.pem" "$T/ca2.pem"
conf() { # conf NODE LEGACY-PORT LEGACY-PORT2: the node's file, with link ncs2
  pair_conf "$1" "$2"
  cat <<EOF2
[link ncs2]
legacy = ncs
ncs_id = NCS
mos_id = DEV2
legacy_listen = 127.0.0.1:0,$3
channels = ro
url = wss://localhost:$WSS2/mos/Communication
ca = $T/ca2.pem
EOF2
}
A12=$(free_port)
conf 0 "$A0" "$A2" >"$T/n0.conf"
conf 1 "$A1" "$A12" >"$T/n1.conf"
for n in 0 1; do # [link ncs2] follows [pair] in the file: move [pair] to the end
python3 - "$T/n$n.conf" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
head, pair = s.split("[pair]\n", 1)
pair, link2 = pair.split("[link ncs2]\n", 1)
open(sys.argv[1], "w").write(head + "[link ncs2]\n" + link2 + "[pair]\n" + pair)
PY
done
start_mos4_device DEV "$WSS"
start_mos4_device DEV2 "$WSS2"
start_pair
wait_port "$A2" 30
acks2() { echo '[x["seq"] for x in load("ncs2.out") if x["event"] == "ack"]'; }
traffic() { # traffic START: 100 numbered roReq from START on each link, in the background
  python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$A0" --mos-id DEV --start "$1" --count 100 \
    --retry-s 2 >>"$T/ncs.out" 2>>"$T/ncs.err" &
  N1=$!; PIDS+=($N1)
  python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$A2" --mos-id DEV2 --start "$1" --count 100 \
    --retry-s 2 >>"$T/ncs2.out" 2>>"$T/ncs2.err" &
  N2=$!; PIDS+=($N2)
}
reloads() { # reloads FIRST: five SIGHUPs to node 0, ncs2 changed at each, while requests flow
  for i in $(seq "$1" $(($1 + 4))); do
    touch -d "@$((1700000000 + i))" "$T/ca2.pem"
    kill -HUP "$G0"
    wait_until 30 "open(T + '/n0.err').read().count('reload: 1 link(s) kept running, 1 stopped, 1 started') >= $i" ||
      echo "reload $i not logged as 1 kept, 1 stopped, 1 started" >&2
    sleep 0.3
  done
}
KEPT='reload: 1 link(s) kept running, 1 stopped, 1 started'

traffic 1
step "requests flow on both links, node 1 the standby" 60 "len(acks) > 10 and len($(acks2)) > 10"
reloads 1
check "five reloads with the standby there, each stopping and starting ncs2" wait_until 30 \
  "open(T + '/n0.err').read().count('$KEPT') == 5"
check "ncs: requests 1-100 answered, in order" wait_until 120 "acks == list(range(1, 101))"
check "ncs2: requests 1-100 answered, in order" wait_until 120 "$(acks2) == list(range(1, 101))"
wait "$N1" "$N2"
check "node 1 never halted nor took over" wait_until 1 \
  'not pair(g1, "halted") and not pair(g1, "active")'

check "node 1 stops cleanly" stop_pid "$G1"
step "node 0 notes the standby lost" 60 'any(x.get("why") == "standby-lost" for x in pair(g0, "note"))'
traffic 101
step "requests flow on both links, node 0 alone" 60 "len(acks) > 110 and len($(acks2)) > 110"
reloads 6
check "five reloads more, degraded" wait_until 30 "open(T + '/n0.err').read().count('$KEPT') == 10"
check "ncs: requests 1-200 answered, in order" wait_until 120 "acks == list(range(1, 201))"
check "ncs2: requests 1-200 answered, in order" wait_until 120 "$(acks2) == list(range(1, 201))"
wait "$N1" "$N2"
check "node 0 stayed active" wait_until 1 'len(pair(g0, "active")) == 1 and not pair(g0, "stand-down")'
check "node 0 stops cleanly" stop_pid "$G0"
check "no sanitizer report from either node" bash -c "! grep -q 'Sanitizer' '$T/n0.err' '$T/n1.err'"
finish
