#!/usr/bin/env bash
# The gateway pair with a virtual address moved by keepalived (VRRP), in
# network namespaces (issue 18 item 3, docs/redundancy.md "keepalived"):
# node 0 and node 1 each in a namespace of its own, with keepalived beside
# it (dist/keepalived/keepalived.conf.example, its addresses changed) tracking
# castgate's active_file with dist/keepalived/castgate-active; the legacy
# NCS and the MOS 4.0 device in a third namespace, on a bridge with the
# two. The NCS dials the virtual address 10.77.0.50. The active is SIGKILLed
# in the middle of N numbered roReq (default 1000); the standby takes over
# and keepalived moves the address to it; the killed node is started again
# (a standby) and the new active is SIGKILLed in turn. Checked: every request
# answered in order and applied once, in order, by the device (a raw
# arrival twice only for the request in flight at a kill, under its own
# messageID, M-22); the address on the active's namespace after each
# takeover; the time from each SIGKILL to the NCS's second answer after it
# is printed
# (the gear's view: castgate's takeover, the address's move, the NCS's
# retry). Needs root (ip netns) and keepalived (scripts/deps.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pair_lib.sh"

need "root, for ip netns" test "$(id -u)" = 0
need "keepalived (scripts/deps.sh)" command -v keepalived
need "ip netns" ip netns list
N=${PAIR_N:-1000}
NS=(cgpa$$ cgpb$$ cgpc$$) # node 0, node 1, the gear
netns_cleanup() {
  cleanup
  local n p
  for n in "${NS[@]}"; do # anything this test started and left in its namespaces
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  [ -n "${KD:-}" ] && rm -rf "$KD"
}
trap netns_cleanup EXIT
for n in "${NS[@]}"; do ip netns add "$n" && ip -n "$n" link set lo up; done
ip -n "${NS[2]}" link add br0 type bridge
ip -n "${NS[2]}" addr add 10.77.0.10/24 dev br0
ip -n "${NS[2]}" link set br0 up
for i in 0 1; do
  ip link add eth0 netns "${NS[$i]}" type veth peer name "p$i$$" netns "${NS[2]}"
  ip -n "${NS[2]}" link set "p$i$$" master br0 up
  ip -n "${NS[$i]}" addr add "10.77.0.$((i + 1))/24" dev eth0
  ip -n "${NS[$i]}" link set eth0 up
done

pair_pki

# keepalived's track script as shipped (dist/keepalived/castgate-active), in a
# folder only root may write (the example's enable_script_security refuses a
# script on a path others may write, such as a clone under /tmp), the
# active files beside it, readable by the script's user (nobody).
KD=$(mktemp -d /run/cg-ka.XXXXXX)
chmod 755 "$KD"
install -m 755 "$SRC/dist/keepalived/castgate-active" "$KD/"
for i in 0 1; do
  cat >"$T/n$i.conf" <<EOF
[gateway]
state_dir = $T/s-$i
journal = yes
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
ack_timeout_ms = 2000
[link ncs]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 0.0.0.0:0,10541
channels = ro
url = wss://10.77.0.10:9443/mos/Communication
ca = $P/root-ca.pem
cert_name = localhost
[pair]
node = $i
listen = 10.77.0.2:8444
credentials = $T/private/pair.htpasswd
peer = wss://10.77.0.2:8444/castgate/pair
ca = $P/root-ca.pem
cert_name = localhost
user = pair
password_file = $T/private/pair.pw
heartbeat_ms = 200
takeover_after_ms = 1500
active_file = $KD/active-$i
EOF
  # keepalived's configuration: the shipped example, its addresses and
  # script line made this test's
  sed -e "s|/usr/lib/castgate/castgate-active studio|$KD/castgate-active $KD/active-$i|" \
    -e "s|10\.2\.0\.11|10.77.0.$((i + 1))|" -e "s|10\.2\.0\.12|10.77.0.$((2 - i))|" \
    -e "s|10\.2\.0\.50/24|10.77.0.50/24|" "$SRC/dist/keepalived/keepalived.conf.example" >"$T/ka-$i.conf"
  grep -q "script \"$KD/castgate-active $KD/active-$i\"" "$T/ka-$i.conf" &&
    grep -q "10.77.0.50/24 dev eth0" "$T/ka-$i.conf" || { echo "the example keepalived.conf changed: fix the sed above" >&2; exit 1; }
done
cat >"$T/dev.conf" <<EOF
[endpoint]
role = mos
id = DEV
listen = 0.0.0.0:9443
auth = none  # no login on this test listener (M-05)
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s-DEV
[peer NCS]
channels = ro
EOF
# ip netns exec runs the command in place of itself: $! is the command's PID
inns() { local n=$1; shift; ip netns exec "${NS[$n]}" "$@"; }
ip netns exec "${NS[2]}" "$CASTGATE" mos serve --config "$T/dev.conf" --hold-ms 5 >"$T/DEV.out" 2>"$T/DEV.err" &
PIDS+=($!)
for i in 0 1; do
  ip netns exec "${NS[$i]}" keepalived -n -l -P -f "$T/ka-$i.conf" -p "$T/ka-$i.pid" -r "$T/ka-$i-vrrp.pid" \
    >"$T/ka-$i.log" 2>&1 &
  PIDS+=($!)
done
node() { # node I LOG: castgate node I in its namespace; sets G<I>
  ip netns exec "${NS[$1]}" "$CASTGATE" run --config "$T/n$1.conf" >>"$T/$2.out" 2>>"$T/$2.err" &
  PIDS+=($!); eval "G$1=$!"
}
has_vip() { ip -n "${NS[$1]}" -4 addr show dev eth0 | grep -q 10.77.0.50; }
wait_vip() { # wait_vip I: the address on node I's namespace within 60 s (VRRP: a few adverts)
  local k
  for ((k = 0; k < 600; k++)); do has_vip "$1" && return 0; sleep 0.1; done
  return 1
}

node 0 n0
step "node 0, alone, becomes active" 60 'pair(g0, "active")'
node 1 n1
step "node 1 joins as its standby" 60 'pair(g1, "connected") and not pair(g1, "active")'
check "keepalived puts the virtual address on node 0" wait_vip 0
check "and not on node 1" bash -c "! ip -n ${NS[1]} -4 addr show dev eth0 | grep -q 10.77.0.50"

# the NCS in the gear's namespace; mos2peer dials 127.0.0.1: a forwarder there to the address
V=10000
echo "10.77.0.50:10541" >"$T/vip.target"
start_vip_in() {
  ip netns exec "${NS[2]}" python3 "$SRC/tests/interop/forwarder.py" "$V" "$T/vip.target" &
  PIDS+=($!)
  local k
  for ((k = 0; k < 100; k++)); do inns 2 ss -Hltn "sport = :$V" | grep -q . && return 0; sleep 0.05; done
}
start_vip_in
ip netns exec "${NS[2]}" python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$V" --mos-id DEV --count "$N" --retry-s 3 \
  >"$T/ncs.out" 2>"$T/ncs.err" &
NCS=$!; PIDS+=($NCS)

acked() { grep -c '"ack"' "$T/ncs.out" 2>/dev/null || echo 0; }
# kill_and_wait PID NEW-NODE NEW-LOG: the SIGKILL, then the gear's second answer after it (the
# first may have been on its way before the kill)
kill_and_wait() {
  local before t0 t1 k
  before=$(acked)
  t0=$(date +%s.%N)
  kill -KILL "$1"
  for ((k = 0; k < 1200; k++)); do [ "$(acked)" -gt "$((before + 1))" ] && break; sleep 0.1; done
  t1=$(date +%s.%N)
  echo "$t0 $t1" >>"$T/takeovers"
  check "node $2 is active after the SIGKILL" wait_until 60 "pair(load('$3.out'), 'active')"
  check "the NCS is answered again" test "$(acked)" -gt "$((before + 1))"
  check "the virtual address is on node $2 (and not on the killed one)" \
    bash -c "$(declare -f has_vip); NS=(${NS[*]}); has_vip $2 && ! has_vip $((1 - $2))"
  check "the killed node is gone" bash -c "! kill -0 $1 2>/dev/null"
}
step "the device gets the first third of the requests" 300 "len(got) >= $N // 3"
kill_and_wait "$G0" 1 n1
wait "$G0" 2>/dev/null
node 0 n0b
step "node 0 comes back as node 1's standby" 60 \
  'pair(load("n0b.out"), "connected") and not pair(load("n0b.out"), "active")'
step "the NCS is answered by node 1 for a while (a sixth of the requests more)" 300 \
  "len(acks) >= $(acked) + $N // 6"
kill_and_wait "$G1" 0 n0b
wait "$G1" 2>/dev/null
step "the NCS has all its answers" 600 "len(acks) >= $N or any(x['event'] == 'done' for x in n)"
kill "$NCS" 2>/dev/null; wait "$NCS" 2>/dev/null
stop_pid "$G0"; grc=$?
check "node 0 stops cleanly (exit status $grc)" test "$grc" = 0

PYTHONPATH="$SRC/tests/interop" python3 - "$T" "$N" >"$T/verdict" <<'EOF'
import json, sys, os
T, N = sys.argv[1], int(sys.argv[2])
from pairverdict import Verdict, load as load_in
def load(n):
    return load_in(T, n)
dev, n = load("DEV.out"), load("ncs.out")
v = Verdict()
need, fails = v.need, v.fails
v.delivery(n, dev, N, 2, "a request reached the device twice at most once per kill (the one in "
     "flight, under its own messageID, M-22)")
act = [x for x in load("n1.out") + load("n0b.out") if x.get("event") == "pair" and x.get("what") == "active"]
print("takeovers:", [(x["node"], x["epoch"], x["why"], x["stored"]) for x in act])
need(len(act) == 2 and all(x["stored"] > 0 for x in act),
     "each takeover by a node that had stored the other's records")
for k, line in enumerate(open(os.path.join(T, "takeovers"))):
    t0, t1 = (float(x) for x in line.split())
    print(f"kill {k + 1}: the NCS's second answer {t1 - t0:.2f} s after the SIGKILL (takeover_after_ms "
          "1500, VRRP advert_int 1 s, the NCS's retry after 3 s, polled every 0.1 s)")
sys.exit(1 if fails else 0)
EOF
vrc=$?
sed 's/^/    /' "$T/verdict"
check "pair in namespaces: what the device and the NCS saw (above)" test "$vrc" = 0
finish
