# Shared by the gateway pair's tests (issue 18, docs/redundancy.md "The
# gateway pair"; sourced after lib.sh): the PKI, ports and pair password,
# one file per node, a stand-in for the virtual address, waiting on the logs.

# pair_pki: P (the dev PKI); the pair's password for node 0
# ($T/private/pair.pw) and credentials file for node 1 (pair.htpasswd).
pair_pki() {
  P=$T/pki
  make_pki "$P" "$(free_port)"
  mkdir -m 700 "$T/private"
  printf 'pairpw\n' | "$CASTGATE" passwd "$T/private/pair.htpasswd" pair >/dev/null
  printf 'pairpw\n' >"$T/private/pair.pw"
  chmod 600 "$T/private/pair.pw"
}

# pair_setup: pair_pki, and the ports: WSS (the device), A0 and A1 (each
# node's legacy ro port), L0 and L1 (each node's [gateway] listener), V (the
# virtual address), PP (node 1's pair listener).
pair_setup() {
  pair_pki
  WSS=$(free_port); A0=$(free_port); A1=$(free_port); V=$(free_port); PP=$(free_port)
  L0=$(free_port); L1=$(free_port)
}

# pair_conf NODE LEGACY-PORT [PAIR-LINE...]: on stdout, node NODE's file: a
# link "ncs" taking a legacy NCS (ncsID NCS) on LEGACY-PORT (ro) to the MOS
# 4.0 device DEV on $WSS, the [gateway] listener on L0 or L1 (held while a
# standby, as the legacy port), journal = yes, and [pair] (heartbeat 200 ms,
# takeover after 1500 ms, active_file $T/active-NODE) with the PAIR-LINEs; node 0
# dials node 1 on PAIR_PEER_PORT when set (a forwarder the test can cut), else $PP.
pair_conf() {
  cat <<EOF
[gateway]
listen = 127.0.0.1:$( [ "$1" = 0 ] && echo "$L0" || echo "$L1")
auth = none  # no login on this test listener (M-05)
state_dir = $T/s-$1
journal = yes
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
ack_timeout_ms = 2000
[link ncs]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:0,$2
channels = ro
url = wss://localhost:$WSS/mos/Communication
ca = $P/root-ca.pem
[pair]
node = $1
listen = 127.0.0.1:$PP
credentials = $T/private/pair.htpasswd
peer = wss://localhost:${PAIR_PEER_PORT:-$PP}/castgate/pair
ca = $P/root-ca.pem
user = pair
password_file = $T/private/pair.pw
heartbeat_ms = 200
takeover_after_ms = 1500
active_file = $T/active-$1
EOF
  if [ $# -gt 2 ]; then printf '%s\n' "${@:3}"; fi
}

# start_pair: node 0 ($T/n0.conf) alone until it is active and its legacy
# port $A0 listens, then node 1 ($T/n1.conf) until it is its standby; G0
# and G1 their PIDs, logs $T/n0.* and $T/n1.*.
start_pair() {
  "$CASTGATE" run --config "$T/n0.conf" >"$T/n0.out" 2>"$T/n0.err" &
  G0=$!; PIDS+=($G0)
  step "node 0, alone, becomes active" 60 'pair(g0, "active")'
  wait_port "$A0" 30
  "$CASTGATE" run --config "$T/n1.conf" >"$T/n1.out" 2>"$T/n1.err" &
  G1=$!; PIDS+=($G1)
  step "node 1 joins as a standby" 60 'pair(g1, "connected") and not pair(g1, "active")'
}

# start_vip [HOST:]PORT: the stand-in for the virtual address: 127.0.0.1:$V
# forwards each new connection to PORT (on HOST, default 127.0.0.1), or to
# the one move_vip names later (as keepalived would move the address):
# forwarder.py, reading $T/vip.target at each connection.
move_vip() { echo "$1" >"$T/vip.new"; mv "$T/vip.new" "$T/vip.target"; } # atomically
start_vip() {
  move_vip "$1"
  python3 "$SRC/tests/interop/forwarder.py" "$V" "$T/vip.target" &
  PIDS+=($!); wait_port "$V"
}

# wait_until and step (lib.sh) over the pair's logs: g0, g1 (the nodes'
# lines), dev, n (the NCS's), pair(log, what) (a node's "pair" events), got
# (the device's roReq messageIDs), acks (the NCS's answered numbers).
WAIT_NAMES='
g0, g1, dev, n = load("n0.out"), load("n1.out"), load("DEV.out"), load("ncs.out")
pair = lambda log, what: [x for x in log if x.get("event") == "pair" and x.get("what") == what]
got = [int(x["messageID"]) for x in dev if x.get("message") == "roReq"]
acks = [x["seq"] for x in n if x["event"] == "ack"]
'
