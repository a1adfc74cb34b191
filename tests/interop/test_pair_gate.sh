#!/usr/bin/env bash
# The gateway pair's answer gate (issue 18 item 3, docs/redundancy.md "What
# is replicated, and when the sender gets its answer"): an answer reaches
# its sender only once the standby holds its journal record. Two castgate
# run processes with strict = yes, a legacy NCS (scripted MOS 2.x, M-21)
# and a MOS 4.0 device (castgate mos serve). With the standby up, requests
# are answered. The standby is SIGKILLed: node 0 notes the standby lost; a
# request is still forwarded to the device (nothing waits for the standby
# there) but its answer is held, with no standby to hold its record
# (strict). The standby is started again: it catches up (resync) and the
# answer goes. Then the pair goes on: more requests answered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pair_lib.sh"

pair_setup
pair_conf 0 "$A0" "strict = yes" >"$T/n0.conf"
pair_conf 1 "$A1" "strict = yes" >"$T/n1.conf"
# node 0's admin listener: the pair's series in /metrics (docs/metrics.md "Gateway pair")
AP=$(free_port)
(umask 077; echo 'sekret-admin-pw' >"$T/admin.pw")
"$CASTGATE" passwd "$T/admin.htpasswd" admin <"$T/admin.pw" >/dev/null
sed -i "/^\[gateway\]/a admin_listen = 127.0.0.1:$AP\nadmin_credentials = $T/admin.htpasswd" "$T/n0.conf"
scrape() { # scrape: node 0's /metrics into $T/m.txt
  curl -s --cacert "$P/root-ca.pem" --resolve "localhost:$AP:127.0.0.1" \
    -u "admin:$(cat "$T/admin.pw")" -o "$T/m.txt" "https://localhost:$AP/metrics"
}
metric() { # metric SERIES: its value in a fresh scrape, "none" when absent
  scrape
  awk -v s="$1" 'index($0, s " ") == 1 { print $2; found = 1 } END { if (!found) print "none" }' "$T/m.txt"
}
start_mos4_device DEV "$WSS"
ncs() { # ncs START COUNT RETRY-S: numbered roReq to node 0's legacy port, into $T/ncs.out
  python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$A0" --mos-id DEV --start "$1" \
    --count "$2" --retry-s "$3" >>"$T/ncs.out" 2>>"$T/ncs.err"
}

start_pair
ncs 1 20 10
step "with the standby there, the NCS's requests are answered" 60 "acks == list(range(1, 21))"
check "metrics: node 0 active, a standby present, nothing held" bash -c \
  "$(declare -f scrape metric); T=$T P=$P AP=$AP; [ \"\$(metric 'castgate_pair_active{node=\"0\"}')\" = 1 ] &&
   [ \"\$(metric 'castgate_pair_standby_present{node=\"0\"}')\" = 1 ] &&
   [ \"\$(metric 'castgate_pair_answers_held{node=\"0\"}')\" = 0 ]"

kill -KILL "$G1"; wait "$G1" 2>/dev/null
step "node 0 notes the standby lost" 60 \
  'any(x.get("why") == "standby-lost" for x in pair(g0, "note"))'
ncs 21 1 120 & # one request; it waits for its answer (no repeat meanwhile)
NCS=$!; PIDS+=($NCS)
step "the request is forwarded to the device all the same" 60 "21 in got"
sleep 2
check "strict, no standby: its answer is held (none in 2 s)" wait_until 1 "21 not in acks"
held=$(metric 'castgate_pair_answers_held{node="0"}'); present=$(metric 'castgate_pair_standby_present{node="0"}')
check "metrics: no standby present, one answer held (read: $present, $held)" test "$present:$held" = "0:1"
"$CASTGATE" run --config "$T/n1.conf" >"$T/n1b.out" 2>"$T/n1b.err" &
G1=$!; PIDS+=($G1)
step "the standby back, the held answer goes" 60 "21 in acks"
wait "$NCS"
# 20 requests and their answers are records 1-40, #21's request 41 and its answer 42
check "node 1 came back a standby; node 0 resent it records 41 and 42" wait_until 30 \
  '(pair(load("n1b.out"), "connected") and not pair(load("n1b.out"), "active")
    and "pair: resync from record 41: 2 record(s)" in open(T + "/n0.err").read())'
resent=$(metric 'castgate_pair_records_resent_total{node="0"}'); held=$(metric 'castgate_pair_answers_held{node="0"}')
check "metrics: the two records resent, nothing held (read: $resent, $held)" test "$resent:$held" = "2:0"
ncs 22 10 10
step "the pair goes on: more requests answered" 60 "acks == list(range(1, 32))"
check "node 0 stayed active throughout" wait_until 1 'len(pair(g0, "active")) == 1 and not pair(g0, "stand-down")'
check "node 0 stops cleanly" stop_pid "$G0"
check "node 1 stops cleanly" stop_pid "$G1"
finish
