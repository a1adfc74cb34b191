# Shared helpers for castgate's interop tests (sourced, bash).
# Every process a test starts is recorded and killed by PID on exit; every
# port is a free loopback port picked at run time, so tests run in parallel.
set -u
SRC=${CG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CASTGATE=${CASTGATE:-$SRC/build-asan/bin/castgate}
T=$(mktemp -d /tmp/cg-interop.XXXXXX)
PIDS=()
PASSED=0
FAILED=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# CG_KEEP=1 in the environment keeps the test's directory (logs, configs)
# and prints where it is, to read after a failure.
cleanup() {
  local p i
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  # openssl ocsp acts on SIGTERM only at its next connection: escalate.
  for ((i = 0; i < 20; i++)); do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "${CG_KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT

# need WHY COMMAND...: the test cannot run here unless COMMAND succeeds:
# exit 77, which ctest reports as skipped (SKIP_RETURN_CODE 77), not passed.
need() { local why=$1; shift; "$@" >/dev/null 2>&1 || { echo "SKIP: $why"; exit 77; }; }
need_node() { need "node and tests/interop/node_modules (bash scripts/deps.sh)" test -d "$SRC/tests/interop/node_modules/ws" -a -n "$(command -v node)"; }
# need_sofie: need_node, and Sofie's mos-connection for the programs in
# tests/interop/sofie/ (S, that folder; NODE_PATH): node modules without it
# are a failure (exit 1), not a skip.
need_sofie() {
  need_node
  S=$SRC/tests/interop/sofie
  export NODE_PATH=${NODE_PATH:-$SRC/tests/interop/node_modules}
  if ! node -e 'require("@mos-connection/connector")' 2>/dev/null; then
    echo "@mos-connection/connector missing: run make deps (npm ci in tests/interop)" >&2
    exit 1
  fi
}

ok()   { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
bad()  { FAILED=$((FAILED + 1)); echo "FAIL - $1${2:+: $2}"; }
# check NAME COMMAND...: passes when the command exits 0.
check() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n"; fi; }
# finish: the closing line ctest's log and CI read, and the exit status.
finish() {
  echo "$(basename "$0" .sh): $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# free_port: a port no one listens on, BELOW the kernel's ephemeral range
# (net.ipv4.ip_local_port_range): a port the kernel handed out for bind(0)
# could be taken again, before the test's server bound it, as the local port
# of some other test's outgoing connection (seen: a Sofie NCS in
# test_gateway_hotstandby.sh failed with EADDRINUSE on :::60511 under
# ctest -j). Random, checked free on 127.0.0.1 and on ::.
free_port() {
  python3 - <<'PYFP'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
top = max(min(lo, 65536) - 1, 12000)
for _ in range(500):
    p = random.randint(10000, top)
    try:
        for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::")):
            s = socket.socket(fam)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, p))
            s.close()
    except OSError:
        continue
    print(p)
    break
else:
    raise SystemExit("free_port: no free port found")
PYFP
}

wait_port() { # wait_port PORT [SECONDS]
  local i
  for ((i = 0; i < ${2:-10} * 20; i++)); do
    # Looks at the listen socket rather than connecting: a single-threaded
    # server (openssl ocsp) would block on a probe connection.
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  echo "port $1 never opened" >&2
  return 1
}

# make_pki DIR OCSP_PORT: the dev PKI (root, intermediate, RSA + ECDSA leaves, negatives).
make_pki() { bash "$SRC/scripts/dev-pki.sh" --dir "$1" --host localhost --ocsp-port "$2" >/dev/null; }

# mos4_device_conf ID PORT STATE-DIR PEER CHANNELS [LINE...]: on stdout, the
# configuration of a MOS 4.0 device endpoint (mosID ID) on 127.0.0.1:PORT
# with the ECDSA certificate of the dev PKI in $P, auth = none (no login on a
# test listener, M-05), no OCSP, its state in STATE-DIR, the LINEs (more
# [endpoint] options) and one peer, PEER, on CHANNELS.
mos4_device_conf() {
  cat <<EOF
[endpoint]
role = mos
id = $1
listen = 127.0.0.1:$2
auth = none  # no login on this test listener (M-05)
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $3
EOF
  if [ $# -gt 5 ]; then printf '%s\n' "${@:6}"; fi
  printf '[peer %s]\nchannels = %s\n' "$4" "$5"
}

# start_dev_and_gateway [GATEWAY_EXTRA [LINK_EXTRA]]: the common rig of the
# gateway tests. A MOS 4.0 device endpoint (mosID DEV; auth = none: no login
# on a test listener, M-05) on $WSS, and a gateway whose link "ncs" takes a
# legacy NCS (ncsID NCS, UCS-2BE) on $MOM and $RO and dials the device.
# GATEWAY_EXTRA lines go into the [gateway] section, LINK_EXTRA lines into
# [link ncs]. Sets P, RO, MOM, WSS and GW (the gateway's PID); logs in
# $T/dev.{out,err} and $T/gw.{out,err}. Returns once both legacy ports listen.
# A test that starts the gateway itself (under strace, say) calls
# start_dev_for_gateway instead: it writes $T/gw.conf and starts the device.
start_dev_for_gateway() {
  P=$T/pki
  make_pki "$P" "$(free_port)"
  RO=$(free_port); MOM=$(free_port); WSS=$(free_port)
  mos4_device_conf DEV "$WSS" "$T/s-dev" NCS mom,ro >"$T/dev.conf"
  cat >"$T/gw.conf" <<EOF
[gateway]
state_dir = $T/s-gw
${1:-}
[link ncs]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:$MOM,$RO
channels = mom,ro
url = wss://localhost:$WSS/mos/Communication
ca = $P/root-ca.pem
${2:-}
EOF
  "$CASTGATE" mos serve --config "$T/dev.conf" >"$T/dev.out" 2>"$T/dev.err" &
  PIDS+=($!); wait_port "$WSS"
}

start_dev_and_gateway() {
  start_dev_for_gateway "$@"
  "$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
  GW=$!; PIDS+=($GW); wait_port "$RO"; wait_port "$MOM"
}

# start_auth_dev: the common rig of the password tests (M-05). A MOS 4.0
# device endpoint, mosID mos.castgate.demo, on 127.0.0.1:$DEV with the dev
# PKI's ECDSA certificate; its one peer, ncs.castgate.demo (mom, ro), logs in
# with the password "correct horse" (the credentials file $T/dev.htpasswd).
# Sets P, DEV and DEV_PID; logs in $T/dev.{out,err}; waits until the device
# listens and checks that it does. AUTH_DEV_EXTRA: more [endpoint] lines.
start_auth_dev() {
  P=$T/pki
  make_pki "$P" "$(free_port)"
  DEV=$(free_port)
  printf 'correct horse\n' | "$CASTGATE" passwd "$T/dev.htpasswd" ncs.castgate.demo >/dev/null 2>&1
  cat >"$T/dev.conf" <<EOF
[endpoint]
role = mos
id = mos.castgate.demo
listen = 127.0.0.1:$DEV
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
credentials = $T/dev.htpasswd
ocsp = no
state_dir = $T/s-dev
${AUTH_DEV_EXTRA:-}
[peer ncs.castgate.demo]
channels = mom,ro
EOF
  "$CASTGATE" mos serve --config "$T/dev.conf" >"$T/dev.out" 2>"$T/dev.err" &
  DEV_PID=$!; PIDS+=($DEV_PID)
  local i
  for ((i = 0; i < 200; i++)); do grep -q '"listening"' "$T/dev.out" 2>/dev/null && break; sleep 0.05; done
  check "the device listens" grep -q '"listening"' "$T/dev.out"
}

# start_mos4_device ID PORT [EXTRA...]: a native MOS 4.0 device (castgate mos
# serve, mos4_device_conf: mosID ID on 127.0.0.1:PORT, state in $T/s-ID) whose
# one peer, NCS, uses ro. EXTRA goes to mos serve. Logs are appended to
# $T/ID.{out,err} (a device started again keeps what the first one wrote);
# sets PID_<ID>. Returns once it listens.
start_mos4_device() {
  local id=$1 port=$2; shift 2
  mos4_device_conf "$id" "$port" "$T/s-$id" NCS ro >"$T/$id.conf"
  "$CASTGATE" mos serve --config "$T/$id.conf" "$@" >>"$T/$id.out" 2>>"$T/$id.err" &
  PIDS+=($!); eval "PID_$id=$!"; wait_port "$port"
}

# failover_link LEGACY-PORT PRIMARY-PORT BUDDY-PORT: the [link fo] section
# of the failover tests on stdout: a legacy NCS (ncsID NCS) on LEGACY-PORT
# (ro) shown one device, DEVA, which has a hot standby, DEVB (devices from
# start_mos4_device on PRIMARY-PORT and BUDDY-PORT); redundancy = failover
# after 1 s unreachable, failback after 3 s up.
failover_link() {
  cat <<EOF
[link fo]
legacy = ncs
ncs_id = NCS
mos_id = DEVA
legacy_listen = 127.0.0.1:0,$1
channels = ro
url = wss://localhost:$2/mos/Communication
ca = $P/root-ca.pem
mos4_buddy = DEVB
mos4_buddy_url = wss://localhost:$3/mos/Communication
redundancy = failover
failover_after_ms = 1000
failback_after_ms = 3000
EOF
}

# start_busy_loops: twice as many busy loops as CPUs (bash, nice 0) until
# the test ends, to run a test on a machine whose CPUs are kept busy.
start_busy_loops() {
  local i
  for ((i = 0; i < 2 * $(nproc); i++)); do
    bash -c 'while :; do :; done' &
    PIDS+=($!)
  done
}

start_ocsp() { # start_ocsp PKI_DIR PORT
  bash "$SRC/scripts/ocsp-responder.sh" "$1" "$2" >"$T/ocsp-$2.log" 2>&1 &
  PIDS+=($!)
  wait_port "$2"
}

# start_serve LOG ARGS...: castgate serve in the background; waits until it listens.
SERVE_PID=
start_serve() {
  local log=$1; shift
  "$CASTGATE" serve "$@" >"$log.out" 2>"$log" &
  SERVE_PID=$!
  PIDS+=($SERVE_PID)
  local i
  for ((i = 0; i < 200; i++)); do
    grep -q 'listening on port' "$log.out" 2>/dev/null && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.05
  done
  return 1
}

# wait_until SECONDS PYTHON-EXPR: until the expression holds over the test's
# logs, looked at every 0.1 s (wall clock: room for a loaded machine). It
# sees T, load(NAME) (the JSON lines of $T/NAME; testlogs.py) and the names
# the Python lines in WAIT_NAMES define (set by the test, or by its family's
# *_lib.sh). step WHAT SECONDS EXPR: wait_until, then ok, or FAIL and the
# last lines of the log STEP_TAIL names (when it names one).
WAIT_NAMES=
STEP_TAIL=
wait_until() {
  local end=$((SECONDS + $1)) expr=$2
  while ((SECONDS < end)); do
    PYTHONPATH="$SRC/tests/interop" python3 - "$T" "$expr" "$WAIT_NAMES" <<'EOF' && return 0
import json, os, sys
from testlogs import load as load_in
T, expr, names = sys.argv[1:4]
def load(n):
    return load_in(T, n)
exec(names)
sys.exit(0 if eval(expr) else 1)
EOF
    sleep 0.1
  done
  echo "timed out waiting for: $expr" >&2
  return 1
}
step() {
  local what=$1; shift
  if wait_until "$@"; then ok "$what"; else bad "$what"; [ -z "$STEP_TAIL" ] || tail -5 "$STEP_TAIL"; fi
}

# start_refused_ncs PLAN: a wss peer that refuses as PLAN says (wsrefuser.py
# --plan, on a free port, PORT, with the dev PKI in $P; each attempt a JSON
# line in $T/attempts), and `castgate mos serve` as the NCS "NCS" dialing it
# as its peer DEV on ro with a password (reconnect_max_ms = 1000,
# refused_backoff_max_ms = 4000; logs in $T/ncs.{out,err}); sets NCS (its
# PID).
start_refused_ncs() {
  P=$T/pki
  make_pki "$P" "$(free_port)"
  PORT=$(free_port)
  python3 "$SRC/tests/interop/wsrefuser.py" --port "$PORT" --cert "$P/server-ecdsa.chain.pem" \
    --key "$P/server-ecdsa.key" --plan "$1" --log "$T/attempts" 2>"$T/refuser.err" &
  PIDS+=($!)
  wait_port "$PORT"
  echo 's3cret' >"$T/pw"
  cat >"$T/ncs.conf" <<EOF
[endpoint]
role = ncs
id = NCS
reconnect_max_ms = 1000
refused_backoff_max_ms = 4000
[peer DEV]
url = wss://localhost:$PORT/mos/Communication
channels = ro
ca = $P/root-ca.pem
user = ncs
password_file = $T/pw
EOF
  "$CASTGATE" mos serve --config "$T/ncs.conf" >"$T/ncs.out" 2>"$T/ncs.err" &
  NCS=$!; PIDS+=($NCS)
}

# fake_ncs_pki: what a test with the fake NCS needs: its node modules
# (NODE_PATH; exit 77, skipped, without them) and the dev PKI in $T/pki (P).
# start_fake_ncs PORT LOG [ARG...]: tests/interop/fake_ncs.js (npm ws, real
# wss with the dev PKI's ECDSA certificate) on PORT, the ARGs its behaviour,
# its output in LOG; in PIDS; returns once it listens.
fake_ncs_pki() {
  P=$T/pki
  export NODE_PATH=$SRC/tests/interop/node_modules
  [ -d "$NODE_PATH/ws" ] || { echo "no node modules (scripts/deps.sh)"; exit 77; }
  make_pki "$P" "$(free_port)"
}
start_fake_ncs() {
  local port=$1 log=$2; shift 2
  node "$SRC/tests/interop/fake_ncs.js" --port "$port" --cert "$P/server-ecdsa.chain.pem" \
    --key "$P/server-ecdsa.key" "$@" >"$log" 2>&1 &
  PIDS+=($!)
  wait_port "$port"
}

# stop_pid PID: SIGTERM and wait; returns the process's exit status.
stop_pid() { kill -TERM "$1" 2>/dev/null; wait "$1"; }

# start_nmos_fixture [ARG...]: the NMOS node + registry fixture
# (nmos_fixture.py: IS-04 v1.3 Node, Registration and Query APIs, IS-05 v1.1;
# plain HTTP and ws on 127.0.0.1) on a free port, the ARGs passed to it
# (--expiry-ms N); $NMOS_FIXTURE runs instead of it when set (a deliberately
# broken copy, to see a check fail). It logs every request it gets to
# $T/backend.log. Sets BP (its port), FIX (its PID) and the fixture node's
# ids NMOS_NODE, NMOS_DEVICE, NMOS_SENDER, NMOS_RECEIVER.
start_nmos_fixture() {
  BP=$(free_port)
  python3 "${NMOS_FIXTURE:-$SRC/tests/interop/nmos_fixture.py}" "$BP" "$T/backend.log" "$@" \
    2>"$T/backend.err" &
  FIX=$!; PIDS+=($FIX)
  eval "$(PYTHONPATH="$SRC/tests/interop" python3 -c 'import nmos_fixture as f
print("NMOS_NODE=%s NMOS_DEVICE=%s NMOS_SENDER=%s NMOS_RECEIVER=%s" % (
    f.NODE_ID, f.DEVICE_ID, f.SENDER_ID, f.RECEIVER_ID))')"
  wait_port "$BP"
}

# tally FILE: the checks a helper program printed, one a line ("ok   - what"
# or "FAIL - what: detail"), counted as the test's own; its other lines
# (a traceback, say) are shown indented.
tally() {
  local line
  while IFS= read -r line; do
    case $line in
      "ok   - "*) ok "${line#ok   - }" ;;
      "FAIL - "*) bad "${line#FAIL - }" ;;
      *) printf '    %s\n' "$line" ;;
    esac
  done <"$1"
}

# start_front_backend SCRIPT [ARG...]: a dev PKI in $T/pki (P), two free
# ports, BP (the backend's) and FP (the front's), and the backend `python3
# SCRIPT BP ARG...` (stderr in $T/backend.err; it may import httpbackend.py)
# in PIDS; returns once BP listens.
start_front_backend() {
  local script=$1; shift
  P=$T/pki
  make_pki "$P" "$(free_port)"
  BP=$(free_port); FP=$(free_port)
  PYTHONPATH="$SRC/tests/interop" python3 "$script" "$BP" "$@" 2>"$T/backend.err" &
  PIDS+=($!)
  wait_port "$BP"
}

# start_front CERT SECTION [LINE...]: `castgate front` in front of that
# backend. Its config, $T/front.conf: SECTION (a header such as "[front]",
# or "" for none), listen on FP, the dev PKI's CERT (rsa or ecdsa) chain and
# key, backend BP, public = localhost, ocsp = off, then each LINE as a line
# of its own (a later line wins). Logs in $T/front.{out,err}; sets FRONT
# (its PID, in PIDS); returns once it says it listens (10 s at most).
start_front() {
  local cert=$1 section=$2 i; shift 2
  {
    [ -z "$section" ] || printf '%s\n' "$section"
    printf '%s\n' "listen = 127.0.0.1:$FP" "cert = $P/server-$cert.chain.pem $P/server-$cert.key" \
      "backend = 127.0.0.1:$BP" "public = localhost" "ocsp = off"
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } >"$T/front.conf"
  "$CASTGATE" front --config "$T/front.conf" >"$T/front.out" 2>"$T/front.err" &
  FRONT=$!; PIDS+=($FRONT)
  for ((i = 0; i < 200; i++)); do grep -q 'listening on port' "$T/front.out" 2>/dev/null && break; sleep 0.05; done
}

# start_nmos_front CERT SECTION [LINE...]: a dev PKI in $T/pki (P), the NMOS
# node + registry fixture (start_nmos_fixture: BP, FIX, the fixture's ids),
# a free port FP, then start_front CERT SECTION LINE...
start_nmos_front() {
  P=$T/pki
  make_pki "$P" "$(free_port)"
  start_nmos_fixture
  FP=$(free_port)
  start_front "$@"
}
