#!/usr/bin/env bash
# Part front (issue 17): HTTPS keep-alive requests per second and latency
# through `castgate front` against nginx configured as a BCP-003-01 TLS proxy,
# both in front of the same plain backend (an nginx worker answering an IS-04
# Node API self document that names itself with http:// URLs):
#   castgate front            rewriting on (the JSON is rewritten: https URLs);
#                             pool = 32 idle backend connections, as nginx's
#                             keepalive 32 (the default 8 would close and open
#                             one per request above 8 in flight)
#   castgate front (no rewrite)  rewrite = off: the proxy alone
#   nginx                     1 worker, same certificate, suites, order, no tickets
#                             or session cache, HSTS added, keep-alive upstream;
#                             it does not rewrite
# The client (bench_frontload) keeps C connections, one request in flight on
# each. Rates are compared per CPU second of the proxy process (= per core;
# the backend's CPU is counted apart) and p99 side by side, per round.
# Writes $CG_BENCH_DIR/front.json. BENCH_QUICK=1: one short round;
# BENCH_ROUNDS=N: N rounds (default 3). With perf installed, one more run of
# each contender is profiled (front-perf-<contender>.txt, not in the figures).
. "$(dirname "$0")/engine_lib.sh"

LOADGEN=$BIN/bench_frontload
if [ ! -x "$LOADGEN" ]; then
  cmake --build "$CG_BENCH_BUILD" -j "${JOBS:-2}" --target bench_frontload >/dev/null
fi
ROUNDS=$CG_BENCH_DIR/front.rounds.jsonl
: >"$ROUNDS"
if [ "$QUICK" = 1 ]; then R=1; SECS=2; WARM=0.5; else R=${BENCH_ROUNDS:-3}; SECS=5; WARM=1; fi
CONC=32
echo "front: $R round(s) of ${SECS}s per figure, $CONC connections" >&2

# The plain backend: one nginx worker, no TLS, the document the node serves.
BP=$(free_port)
bd=$WORK/backend; mkdir -p "$bd"
DOC="{\"id\":\"00000000-0000-0000-0000-000000000001\",\"version\":\"1:0\",\"label\":\"bench\",\"href\":\"http://127.0.0.1:$BP/\",\"api\":{\"versions\":[\"v1.3\"],\"endpoints\":[{\"host\":\"127.0.0.1\",\"port\":$BP,\"protocol\":\"http\",\"authorization\":false}]},\"services\":[{\"href\":\"http://127.0.0.1:$BP/x-nmos/events/v1.0/\",\"type\":\"urn:x-nmos:service:events\"}],\"caps\":{},\"clocks\":[],\"interfaces\":[]}"
printf '%s' "$DOC" >"$bd/self.json"
cat >"$bd/nginx.conf" <<CONF
worker_processes 1;
user root;
daemon off;
pid $bd/nginx.pid;
error_log $bd/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $bd/cbt; proxy_temp_path $bd/pt; fastcgi_temp_path $bd/ft;
  uwsgi_temp_path $bd/ut; scgi_temp_path $bd/st;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$BP;
    location = /x-nmos/node/v1.3/self { default_type application/json; alias $bd/self.json; }
  }
}
CONF
nginx -p "$bd" -e "$bd/error.log" -c "$bd/nginx.conf" >"$bd/stdout" 2>&1 &
pid_bem=$!; BG_PIDS+=("$pid_bem"); wait_port "$BP"
pid_be=$(pgrep -P "$pid_bem" -d, || true)

# castgate front, with and without rewriting.
key_files ecdsa
start_front() { # start_front PORT REWRITE: sets PID, CMD
  cat >"$WORK/front-$1.conf" <<CONF
listen = 127.0.0.1:$1
cert = $CHAIN $KEY
backend = 127.0.0.1:$BP
public = localhost
ocsp = off
rewrite = $2
log = warn
max_connections = 20000
pool = 32
CONF
  CMD="$CASTGATE_BIN front --config front.conf (rewrite = $2)"
  "$CASTGATE_BIN" front --config "$WORK/front-$1.conf" >"$WORK/front-$1.out" 2>"$WORK/front-$1.log" &
  PID=$!; BG_PIDS+=("$PID"); wait_port "$1"
}
p_cg=$(free_port); start_front "$p_cg" on; pid_cg=$PID; cmd_cg=$CMD
p_cn=$(free_port); start_front "$p_cn" off; pid_cn=$PID; cmd_cn=$CMD

# nginx as a BCP-003-01 TLS proxy to the same backend.
p_ng=$(free_port); nd=$WORK/nginx-proxy; mkdir -p "$nd"
cat >"$nd/nginx.conf" <<CONF
worker_processes 1;
user root;
daemon off;
pid $nd/nginx.pid;
error_log $nd/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $nd/cbt; proxy_temp_path $nd/pt; fastcgi_temp_path $nd/ft;
  uwsgi_temp_path $nd/ut; scgi_temp_path $nd/st;
  keepalive_requests 1000000;
  upstream be { server 127.0.0.1:$BP; keepalive 32; }
  server {
    listen 127.0.0.1:$p_ng ssl;
$(nginx_tls)
    add_header Strict-Transport-Security "max-age=31536000" always;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
}
CONF
nginx -p "$nd" -e "$nd/error.log" -c "$nd/nginx.conf" >"$nd/stdout" 2>&1 &
pid_ngm=$!; BG_PIDS+=("$pid_ngm"); wait_port "$p_ng"
for ((i = 0; i < 100; i++)); do pid_ng=$(pgrep -P "$pid_ngm" -d, || true); [ -n "$pid_ng" ] && break; sleep 0.05; done
cmd_ng="nginx -c nginx.conf (1 worker, TLS proxy to the backend, keepalive upstream)"

# run FIGURE CONTENDER ROUND CMD PORT PIDS: one bench_frontload run into $ROUNDS.
run() {
  local fig=$1 who=$2 round=$3 ccmd=$4 port=$5 pids=$6 out state
  state=$(python3 "$ROOT/bench/lib/machine.py" check "$fig | $who | round $round")
  out=$("$LOADGEN" --port "$port" --path /x-nmos/node/v1.3/self --concurrency "$CONC" \
    --seconds "$SECS" --warmup "$WARM" --tls 1.3 --pid "$pids" 2>"$WORK/load.err") || true
  [ -n "$out" ] || out='{"ok":false}'
  python3 - "$fig" "$who" "$round" "$ccmd" "$out" "$state" "$(head -c 300 "$WORK/load.err")" >>"$ROUNDS" <<'PY'
import json, sys
fig, who, rnd, ccmd, out, state, err = sys.argv[1:8]
m = json.loads(out)
st = json.loads(state)
m["loadavg_before"], m["others_before"] = st["loadavg"], st["others"]
by = m.get("server_cpu_s_by_pid") or []
if by and by[0] > 0:  # the proxy alone (the backend is the same for all)
    m["requests_per_proxy_cpu_s"] = round(m["requests_per_s"] * m["seconds"] / by[0], 1)
row = {"figure": fig, "contender": who, "round": int(rnd), "params": {"concurrency": m.get("concurrency"), "seconds": m.get("seconds")},
       "command": ccmd, "metrics": m}
if err.strip():
    row["stderr"] = err.strip()
print(json.dumps(row))
PY
  echo "  $fig | $who | round $round: $(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(", ".join(f"{k}={m[k]}" for k in ("requests_per_s","requests_per_server_cpu_s","p50_us","p99_us","server_cpu_util","client_cpu_util","failed") if k in m))' "$out")" >&2
}

FIG="GET Node API self, TLS 1.3 keep-alive"
for ((r = 1; r <= R; r++)); do
  run "$FIG" castgate-front "$r" "$cmd_cg" "$p_cg" "$pid_cg,$pid_be"
  run "$FIG" nginx "$r" "$cmd_ng" "$p_ng" "$pid_ng,$pid_be"
  run "$FIG" castgate-front-norewrite "$r" "$cmd_cn" "$p_cn" "$pid_cn,$pid_be"
done
# profile_front PID OUT PORT: perf record -g on one proxy process while
# bench_frontload runs once more (not counted in the figures); OUT gets the
# top of the profile by shared object and by symbol. Nothing without perf.
profile_front() {
  local pid=$1 out=$2 port=$3
  perf_profile "$pid" "$out" "perf record -F 1999 -g -p <proxy> during one more bench_frontload run (port $port)" -- \
    "$LOADGEN" --port "$port" --path /x-nmos/node/v1.3/self --concurrency "$CONC" \
    --seconds "$SECS" --warmup "$WARM" --tls 1.3 --pid "$pid"
  rm -f "$WORK/perf.data"
}
notes=()
if command -v perf >/dev/null; then
  profile_front "$pid_cg" "$CG_BENCH_DIR/front-perf-castgate-front.txt" "$p_cg"
  profile_front "$pid_cn" "$CG_BENCH_DIR/front-perf-castgate-front-norewrite.txt" "$p_cn"
  profile_front "${pid_ng%%,*}" "$CG_BENCH_DIR/front-perf-nginx.txt" "$p_ng"
  for w in castgate-front castgate-front-norewrite nginx; do
    prof=$CG_BENCH_DIR/front-perf-$w.txt
    dsos=$(awk '/^# by shared object:/ {on=1; next} /^#/ {on=0} on && NF >= 2 {printf "%s%s %s", sep, $2, $1; sep=", "}' "$prof")
    notes+=(--note "Profile of $w under the same load (front-perf-$w.txt, self time by shared object): ${dsos:-none}.")
  done
fi
stop "$pid_cg"; stop "$pid_cn"; stop "$pid_ngm"; stop "$pid_bem"

python3 "$ROOT/bench/front_part.py" "$ROUNDS" "$CG_BENCH_DIR/front.json" \
  --note "Backend: one plain nginx worker answering a 400-byte IS-04 Node API self document (http:// URLs naming itself); its CPU is server_cpu_s_by_pid[1] and is not counted in requests_per_proxy_cpu_s." \
  --note "castgate front rewrites that document (4 URLs and the api.endpoints entry become https on the public name); nginx passes it unchanged, so the like-for-like proxy comparison is castgate-front-norewrite against nginx." \
  --note "nginx: worker_processes 1, the same ECDSA chain, key, suites, server order, no tickets, no session cache, HSTS added, upstream keepalive 32; castgate front: pool = 32 idle backend connections, the same bound." \
  --note "Issue 17 target: castgate front >= nginx's requests/s per core at a lower p99." "${notes[@]}"
echo "front: wrote $CG_BENCH_DIR/front.json" >&2
