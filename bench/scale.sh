#!/usr/bin/env bash
# Part 3: idle authenticated wss connections held (10,000), and the memory
# each costs: (server RSS once they are open and held - RSS before) / count,
# all of it (OpenSSL, WebSocket, HTTP state, kernel-side excluded).
#   castgate serve --credentials: TLS 1.3 (ECDSA), Basic credentials on the
#                   upgrade, the WebSocket open and idle (pinged every 30 s)
#   nginx           TLS 1.3 (same certificate and suites), auth_basic on the
#                   same htpasswd file, the upgrade proxied to a plain
#                   libwebsockets echo; memory = nginx workers + the backend
#                   (2 workers with reuseport: one process may hold at most
#                   `ulimit -Hn` descriptors and a proxied connection takes two)
# The credential file holds one SHA-512 crypt hash (openssl passwd -6, 5000
# rounds, ~1.3 ms a check here), which both servers verify on every upgrade;
# castgate passwd's yescrypt costs ~23 ms a check here, minutes for 10,000.
# Every server is started fresh for each round. Writes $CG_BENCH_DIR/scale.json.
. "$(dirname "$0")/engine_lib.sh"

ROUNDS=$CG_BENCH_DIR/scale.rounds.jsonl
: >"$ROUNDS"
if [ "$QUICK" = 1 ]; then R=1; N=1000; SETTLE=1; HOLD=3; else R=3; N=10000; SETTLE=3; HOLD=10; fi
echo "scale: $R round(s), $N connections held ${HOLD}s" >&2

mkdir -m 700 "$WORK/creds"
HT=$WORK/creds/htpasswd
printf 'bench:%s\n' "$(printf 'bench-pw' | openssl passwd -6 -stdin)" >"$HT"
chmod 600 "$HT"
FIG="hold $N idle authenticated wss"
par="{\"connections\":$N,\"tls\":\"1.3\",\"key\":\"ECDSA\",\"auth\":\"Basic, SHA-512 crypt\",\"hold_s\":$HOLD}"
common=(--tls 1.3 --path /ws --auth bench:bench-pw --conns "$N" --concurrency 64
  --warmup "$SETTLE" --hold "$HOLD" --seconds 1)

for ((r = 1; r <= R; r++)); do
  p=$(free_port); start_castgate "$p" ecdsa --credentials "$HT"; pid=$PID
  sleep 0.5
  load "$FIG" castgate "$r" "$par" "$CMD" -- hold --port "$p" --pid "$pid" "${common[@]}"
  stop "$pid"

  pb=$(free_port); start_lws "$pb"; pid_be=$PID; cmd_be=$CMD
  p=$(free_port); start_nginx "$p" ecdsa "$pb" 2 "$HT"; pid_m=$PID
  sleep 0.5
  load "$FIG" nginx "$r" "$par" "$CMD (2 workers, reuseport; backend: $cmd_be)" -- \
    hold --port "$p" --pid "$WORKER_PIDS,$pid_be" "${common[@]}"
  stop "$pid_m"; stop "$pid_be"
done

python3 "$ROOT/bench/engine_part.py" scale "$ROUNDS" "$CG_BENCH_DIR/scale.json" --want "$N" \
  --note "Memory per connection = RSS growth of the server process(es) (VmRSS, before -> max of 'open' and 'held' samples) / connections held. For nginx it sums the two workers and the plain libwebsockets backend it proxies to (bytes_per_conn_by_pid splits them); castgate does TLS, authentication and the WebSocket in one process." \
  --note "Both servers check Basic credentials on every upgrade against the same file (one SHA-512 crypt hash); open_s and open_server_cpu_s show what setting up $N connections cost."
echo "scale: wrote $CG_BENCH_DIR/scale.json" >&2
