#!/usr/bin/env bash
# Part 5: the wss engine alone. 2 KB binary messages echoed over 1 and 100
# connections, each with one message in flight (ping-pong), and 100
# connections with 8 in flight each (pipelined); TLS 1.3, ECDSA P-256,
# TLS_AES_128_GCM_SHA256 for all:
#   castgate serve       its WebSocket echo route
#   libwebsockets 4.1    bench_lwsecho (Debian libwebsockets-dev), same
#                        certificate and suites, one thread
#   nginx                1 worker terminating TLS in front of bench_lwsecho
#                        without TLS (castgate has no plain mode, B-20); its
#                        CPU is nginx + that backend
# msgs/s per core = echoes per CPU second of the server process(es).
# A perf profile of castgate under the 100-connection load is written next to
# the JSON (echo-perf-castgate.txt) when perf is installed.
# Writes $CG_BENCH_DIR/echo.json. BENCH_QUICK=1: one short round.
. "$(dirname "$0")/engine_lib.sh"

ROUNDS=$CG_BENCH_DIR/echo.rounds.jsonl
: >"$ROUNDS"
if [ "$QUICK" = 1 ]; then R=1; SECS=2; WARM=0.5; else R=5; SECS=5; WARM=1; fi
echo "echo: $R round(s) of ${SECS}s per figure" >&2

p_cg=$(free_port); start_castgate "$p_cg" ecdsa; pid_cg=$PID; cmd_cg=$CMD
p_lw=$(free_port); start_lws "$p_lw" ecdsa; pid_lw=$PID; cmd_lw=$CMD
p_be=$(free_port); start_lws "$p_be"; pid_be=$PID; cmd_be=$CMD
p_ng=$(free_port); start_nginx "$p_ng" ecdsa "$p_be" 1; pid_ngm=$PID; pid_ng=$WORKER_PIDS
cmd_ng="$CMD (1 worker; backend: $cmd_be)"

run_variant() { # run_variant ROUND NAME CONNS DEPTH
  local r=$1 name=$2 conns=$3 depth=$4
  local par="{\"connections\":$conns,\"size\":2048,\"in_flight_per_conn\":$depth,\"tls\":\"1.3\",\"key\":\"ECDSA\",\"seconds\":$SECS}"
  local common=(--tls 1.3 --path /ws --conns "$conns" --depth "$depth" --size 2048
    --seconds "$SECS" --warmup "$WARM")
  load "$name" castgate "$r" "$par" "$cmd_cg" -- echo --port "$p_cg" --pid "$pid_cg" "${common[@]}"
  load "$name" libwebsockets "$r" "$par" "$cmd_lw" -- echo --port "$p_lw" --pid "$pid_lw" "${common[@]}"
  load "$name" nginx "$r" "$par" "$cmd_ng" -- echo --port "$p_ng" --pid "$pid_ng,$pid_be" "${common[@]}"
}

for ((r = 1; r <= R; r++)); do
  run_variant "$r" "echo 2KB x100 conns ping-pong" 100 1
  run_variant "$r" "echo 2KB x1 conns ping-pong" 1 1
  run_variant "$r" "echo 2KB x100 conns 8 in flight" 100 8
done

notes=()
if command -v perf >/dev/null; then
  profile_castgate "$pid_cg" "$CG_BENCH_DIR/echo-perf-castgate.txt" -- echo --port "$p_cg" \
    --pid "$pid_cg" --tls 1.3 --path /ws --conns 100 --size 2048 --seconds "$SECS" --warmup 0.5
  prof=$CG_BENCH_DIR/echo-perf-castgate.txt
  notes+=(--note "Profile of castgate serve under the 100-connection ping-pong load (echo-perf-castgate.txt, self time): kernel $(share '[kernel' "$prof"), libcrypto $(share libcrypto.so "$prof"), libssl $(share libssl.so "$prof"), libc $(share libc.so "$prof"), castgate (libcastgate) $(share libcastgate.so "$prof"), wslay (sending only) $(share libwslay.so "$prof"), libuv $(share libuv.so "$prof"). Before castgate parsed received frames itself (src/ws/rx.c), wslay_frame_recv's byte-wise unmasking alone took 12-15 %.")
fi
stop "$pid_cg"; stop "$pid_lw"; stop "$pid_ngm"; stop "$pid_be"

python3 "$ROOT/bench/engine_part.py" echo "$ROUNDS" "$CG_BENCH_DIR/echo.json" "${notes[@]}" \
  --note "The client (bench_wsload, one thread, epoll, OpenSSL on the socket) sends masked 2 KB binary frames; latency is from the write of a message to the end of its echo. client_cpu_util in each round shows whether the client was the limit; server_runq_wait_s how long the server was runnable but waiting for a CPU (other load on this shared machine)." \
  --note "nginx: worker_processes 1, TLS 1.3 with the same certificate and suites, proxy_pass to bench_lwsecho without TLS (castgate cannot run without TLS, B-20); msgs_per_server_cpu_s counts nginx + backend, msgs_per_nginx_cpu_s nginx alone." \
  --note "Issue reference points (libwebsockets ~63k msgs/s on one core at p99 2.4 ms, nginx ~32k/s at p99 7.4 ms, 100 connections) were measured elsewhere; the ratios here come from one interleaved run."
echo "echo: wrote $CG_BENCH_DIR/echo.json" >&2
