# Shared by bench/handshake.sh, scale.sh and echo.sh (sourced, bash): the
# results directory and build (standalone or under bench/run.sh), the dev PKI,
# free ports, contenders started in the background and killed by PID on exit,
# nginx configurations, and one bench_wsload run appended to the rounds file.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=${BENCH_QUICK:-0}

# Under bench/run.sh both are exported; standalone, make them here.
if [ -z "${CG_BENCH_DIR:-}" ]; then
  CG_BENCH_DIR=$ROOT/bench/results/$(date -u +%Y-%m-%dT%H%M)
fi
mkdir -p "$CG_BENCH_DIR"
if [ -z "${CG_BENCH_BUILD:-}" ]; then
  CG_BENCH_BUILD=$ROOT/build-bench
  cmake -S "$ROOT" -B "$CG_BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release -DCG_BENCH=ON \
    -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$CG_BENCH_BUILD" -j "${JOBS:-2}" --target bench_wsload bench_lwsecho >/dev/null
fi
BIN=$CG_BENCH_BUILD/bin
# The castgate measured is the one `make build` makes (RelWithDebInfo, what
# `make install` installs); bench/run.sh exports it as CASTGATE.
CASTGATE_BIN=${CASTGATE:-$ROOT/build/bin/castgate}
[ -x "$CASTGATE_BIN" ] || make -C "$ROOT" build >/dev/null
WSLOAD=$BIN/bench_wsload
LWSECHO=$BIN/bench_lwsecho
for b in "$CASTGATE_BIN" "$WSLOAD" "$LWSECHO"; do
  [ -x "$b" ] || { echo "bench: $b missing (scripts/deps.sh bench installs libwebsockets-dev)" >&2; exit 1; }
done

# The BCP-003-01 suites (src/tls/profile.c) given to every contender.
TLS13_SUITES="TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
TLS12_SUITES="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256"

WORK=$(mktemp -d /tmp/cg-bench.XXXXXX)
BG_PIDS=()
engine_cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap engine_cleanup EXIT

# Descriptors: 10,000 connections (and nginx's upstream side) need them.
ulimit -n "$(ulimit -Hn)"

PKI=$WORK/pki
bash "$ROOT/scripts/dev-pki.sh" --dir "$PKI" --host localhost >/dev/null

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # wait_port PORT: until something listens on it (10 s)
  local i
  for ((i = 0; i < 200; i++)); do
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on port $1" >&2
  return 1
}

# stop PID: SIGTERM, wait, forget it.
stop() {
  local p=$1 q keep=()
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for q in "${BG_PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
  BG_PIDS=("${keep[@]}")
}

# key_files ecdsa|rsa: sets CHAIN (leaf + intermediate), LEAF, KEY.
key_files() {
  CHAIN=$PKI/server-$1.chain.pem; LEAF=$PKI/server-$1.pem; KEY=$PKI/server-$1.key
}

# start_castgate PORT KEYTYPE [ARGS...]: sets PID and CMD.
start_castgate() {
  local port=$1 kt=$2; shift 2
  key_files "$kt"
  CMD="$CASTGATE_BIN serve --listen 127.0.0.1:$port --no-ocsp --quiet --path /ws --cert $CHAIN --key $KEY --max-connections 20000${*:+ $*}"
  "$CASTGATE_BIN" serve --listen "127.0.0.1:$port" --no-ocsp --quiet --path /ws \
    --cert "$CHAIN" --key "$KEY" --max-connections 20000 "$@" \
    >"$WORK/castgate-$port.out" 2>"$WORK/castgate-$port.log" &
  PID=$!; BG_PIDS+=("$PID")
  wait_port "$port"
}

# start_lws PORT [KEYTYPE]: libwebsockets echo, TLS when KEYTYPE is given. Sets PID, CMD.
start_lws() {
  local port=$1 args=(--port "$1")
  if [ -n "${2:-}" ]; then
    key_files "$2"
    args+=(--cert "$CHAIN" --key "$KEY" --tls12-ciphers "$TLS12_SUITES" --tls13-ciphers "$TLS13_SUITES")
  fi
  CMD="bench_lwsecho ${args[*]}"
  "$LWSECHO" "${args[@]}" >"$WORK/lws-$port.out" 2>&1 &
  PID=$!; BG_PIDS+=("$PID")
  wait_port "$port"
}

# start_s_server PORT KEYTYPE: the ceiling (TLS only; -www answers nothing
# before a request, so a handshake then close_notify is the whole job).
start_s_server() {
  local port=$1
  key_files "$2"
  local args=(s_server -accept "127.0.0.1:$port" -cert "$LEAF" -cert_chain "$PKI/intermediate.pem"
    -key "$KEY" -www -quiet -num_tickets 0 -no_ticket -serverpref -cipher "$TLS12_SUITES"
    -ciphersuites "$TLS13_SUITES")
  CMD="openssl ${args[*]}"
  openssl "${args[@]}" </dev/null >"$WORK/s_server-$port.log" 2>&1 &
  PID=$!; BG_PIDS+=("$PID")
  wait_port "$port"
}

# nginx_tls: the TLS lines of an nginx server block, as every contender is
# set up: the chain and key of key_files, the BCP-003-01 suites and order,
# no tickets, no session cache (start_nginx, bench/front.sh).
nginx_tls() {
  cat <<EOF
    ssl_certificate $CHAIN;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers $TLS12_SUITES;
    ssl_prefer_server_ciphers on;
    ssl_conf_command Ciphersuites $TLS13_SUITES;
    ssl_conf_command NumTickets 0;
    ssl_session_tickets off;
    ssl_session_cache off;
EOF
}

# start_nginx PORT KEYTYPE BACKEND_PORT WORKERS [HTPASSWD]: nginx terminating
# TLS (same certificate, suites and order, no tickets, no session cache),
# GET /status answered by nginx itself, everything else (the WebSocket
# upgrades) proxied to the plain backend. Sets PID (the master), WORKER_PIDS
# (comma list), CMD, NGINX_CONF.
start_nginx() {
  local port=$1 bport=$3 workers=$4 htpasswd=${5:-}
  key_files "$2"
  local d=$WORK/nginx-$port
  mkdir -p "$d"
  local auth=""
  [ -n "$htpasswd" ] && auth="auth_basic \"castgate bench\"; auth_basic_user_file $htpasswd;"
  local reuse=""
  [ "$workers" -gt 1 ] && reuse=" reuseport"
  NGINX_CONF=$d/nginx.conf
  cat >"$NGINX_CONF" <<EOF
worker_processes $workers;
user root;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile $(ulimit -Hn);
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $d/cbt; proxy_temp_path $d/pt; fastcgi_temp_path $d/ft;
  uwsgi_temp_path $d/ut; scgi_temp_path $d/st;
  tcp_nodelay on;
  server {
    listen 127.0.0.1:$port ssl$reuse;
$(nginx_tls)
    location = /status { default_type application/json; return 200 '{"service":"nginx"}\n'; }
    location / {
      $auth
      proxy_pass http://127.0.0.1:$bport;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_buffering off;
    }
  }
}
EOF
  CMD="nginx -p $d -e $d/error.log -c $NGINX_CONF"
  nginx -p "$d" -e "$d/error.log" -c "$NGINX_CONF" >"$d/stdout" 2>&1 &
  PID=$!; BG_PIDS+=("$PID")
  wait_port "$port"
  local i
  for ((i = 0; i < 100; i++)); do
    WORKER_PIDS=$(pgrep -P "$PID" -d, || true)
    [ "$(tr ',' '\n' <<<"$WORKER_PIDS" | grep -c .)" -ge "$workers" ] && return 0
    sleep 0.05
  done
  echo "bench: nginx workers did not start" >&2
  cat "$d/error.log" >&2
  return 1
}

# load FIGURE CONTENDER ROUND PARAMS_JSON CONTENDER_CMD -- WSLOAD_ARGS...:
# runs bench_wsload and appends a round to $ROUNDS. A failed run is recorded
# with its error and does not stop the part.
load() {
  local fig=$1 who=$2 round=$3 params=$4 ccmd=$5
  shift 6
  local out state
  # the machine before the round: load, and other benchmarks or soaks running
  state=$(python3 "$(dirname "${BASH_SOURCE[0]}")/lib/machine.py" check "$fig | $who | round $round")
  if out=$("$WSLOAD" "$@" 2>"$WORK/wsload.err"); then :; fi
  [ -n "$out" ] || out='{"ok":false}'
  python3 - "$fig" "$who" "$round" "$params" "$ccmd" "bench_wsload $*" "$out" "$(head -c 500 "$WORK/wsload.err")" "$state" >>"$ROUNDS" <<'PY'
import json, sys
fig, who, rnd, params, ccmd, lcmd, out, err, state = sys.argv[1:10]
m = json.loads(out)
st = json.loads(state)
m["loadavg_before"], m["others_before"] = st["loadavg"], st["others"]
row = {"figure": fig, "contender": who, "round": int(rnd), "params": json.loads(params),
       "command": ccmd + "  |  load: " + lcmd, "metrics": m}
if err.strip():
    row["stderr"] = err.strip()
print(json.dumps(row))
PY
  echo "  $fig | $who | round $round: $(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(", ".join(f"{k}={m[k]}" for k in ("conns_per_s","conns_per_server_cpu_s","msgs_per_s","msgs_per_server_cpu_s","p50_us","p99_us","conns_open","bytes_per_conn","server_cpu_util","client_cpu_util","failed") if k in m))' "$out")" >&2
}

# perf_profile PID OUT TITLE -- LOAD...: perf record -g on PID while the load
# command LOAD runs once (not counted in the figures); OUT gets "# TITLE",
# the load's output as "# run:", and the top of the profile by shared object
# and by symbol. Nothing happens without perf. Used by profile_castgate and
# bench/front.sh.
perf_profile() {
  local pid=$1 out=$2 title=$3
  shift 4
  command -v perf >/dev/null || return 0
  perf record -F 1999 -g -o "$WORK/perf.data" -p "$pid" >/dev/null 2>&1 &
  local perf_pid=$!
  BG_PIDS+=("$perf_pid")
  sleep 0.5
  "$@" >"$WORK/perf-run.json" 2>/dev/null || true
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  {
    echo "# $title"
    echo "# run: $(cat "$WORK/perf-run.json")"
    echo "# by shared object:"
    perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -12 || true
    echo "# by symbol (self time):"
    perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -60 || true
  } >"$out"
}

# profile_castgate PID OUT -- WSLOAD_ARGS...: perf_profile of castgate while
# bench_wsload runs once.
profile_castgate() {
  local pid=$1 out=$2
  shift 3
  perf_profile "$pid" "$out" "perf record -F 1999 -g -p <castgate serve> during: bench_wsload $*" -- \
    "$WSLOAD" "$@"
}

# share DSO FILE: the share of a shared object in a profile_castgate file ("?" if absent).
share() { awk -v d="$1" '$2 == d || index($2, d) == 1 {print $1; found=1; exit} END {if (!found) print "?"}' "$2"; }
