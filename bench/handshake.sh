#!/usr/bin/env bash
# Part 2: new wss connections per second, every one a full handshake (no
# resumption, no tickets), for {ECDSA P-256, RSA-2048} x {TLS 1.3, TLS 1.2}:
#   castgate serve  TLS + WebSocket upgrade answered 101 (and TLS + GET /status)
#   nginx           1 worker (per-core comparison), same certificate, suites and
#                   order; GET /status answered by nginx itself; the upgrade
#                   proxied to a plain libwebsockets echo (nginx cannot answer
#                   101 itself), its CPU counted apart
#   openssl s_server  TLS handshake only: the ceiling
# castgate and s_server are single-threaded. The client (bench_wsload) keeps
# 32 connections in progress and closes each with an RST once answered.
# Writes $CG_BENCH_DIR/handshake.json. BENCH_QUICK=1: one short round.
. "$(dirname "$0")/engine_lib.sh"

ROUNDS=$CG_BENCH_DIR/handshake.rounds.jsonl
: >"$ROUNDS"
if [ "$QUICK" = 1 ]; then R=1; SECS=2; WARM=0.5; else R=3; SECS=5; WARM=1; fi
CONC=32
echo "handshake: $R round(s) of ${SECS}s per figure" >&2

for kt in ecdsa rsa; do
  KT=$(tr a-z A-Z <<<"$kt")
  p_cg=$(free_port); start_castgate "$p_cg" "$kt"; pid_cg=$PID; cmd_cg=$CMD
  p_ss=$(free_port); start_s_server "$p_ss" "$kt"; pid_ss=$PID; cmd_ss=$CMD
  p_be=$(free_port); start_lws "$p_be"; pid_be=$PID; cmd_be=$CMD
  p_ng=$(free_port); start_nginx "$p_ng" "$kt" "$p_be" 1; pid_ngm=$PID; pid_ng=$WORKER_PIDS; cmd_ng="$CMD (1 worker; backend: $cmd_be)"
  for ((r = 1; r <= R; r++)); do
    for v in 1.3 1.2; do
      base="$KT TLS $v"
      par="{\"key\":\"$KT\",\"tls\":\"$v\",\"concurrency\":$CONC,\"seconds\":$SECS}"
      common=(--tls "$v" --concurrency "$CONC" --seconds "$SECS" --warmup "$WARM")
      load "handshake $base wss upgrade" castgate "$r" "$par" "$cmd_cg" -- \
        handshake --port "$p_cg" --what ws --path /ws --pid "$pid_cg" "${common[@]}"
      load "handshake $base TLS only" openssl-s_server "$r" "$par" "$cmd_ss" -- \
        handshake --port "$p_ss" --what tls --pid "$pid_ss" "${common[@]}"
      load "handshake $base wss upgrade" nginx "$r" "$par" "$cmd_ng" -- \
        handshake --port "$p_ng" --what ws --path /ws --pid "$pid_ng,$pid_be" "${common[@]}"
      load "handshake $base https GET" castgate "$r" "$par" "$cmd_cg" -- \
        handshake --port "$p_cg" --what http --path /status --pid "$pid_cg" "${common[@]}"
      load "handshake $base https GET" nginx "$r" "$par" "$cmd_ng" -- \
        handshake --port "$p_ng" --what http --path /status --pid "$pid_ng" "${common[@]}"
    done
  done
  if [ "$kt" = ecdsa ]; then # where castgate and nginx come closest: what castgate's CPU goes to
    profile_castgate "$pid_cg" "$CG_BENCH_DIR/handshake-perf-castgate.txt" -- handshake \
      --port "$p_cg" --what http --path /status --pid "$pid_cg" --tls 1.3 --concurrency "$CONC" \
      --seconds "$SECS" --warmup 0.5
  fi
  stop "$pid_cg"; stop "$pid_ss"; stop "$pid_ngm"; stop "$pid_be"
done

notes=()
prof=$CG_BENCH_DIR/handshake-perf-castgate.txt
if [ -s "$prof" ]; then
  notes+=(--note "Where castgate's CPU goes in a handshake (ECDSA, TLS 1.3, https GET; handshake-perf-castgate.txt): libcrypto $(share libcrypto.so "$prof"), libssl $(share libssl.so "$prof"), libc $(share libc.so "$prof") (allocator), kernel $(share '[kernel' "$prof"), castgate's own code (libcastgate) $(share libcastgate.so "$prof"). The https GET comparison with nginx is OpenSSL against OpenSSL: a gap of a few % either way is within this machine's noise.")
fi
python3 "$ROOT/bench/engine_part.py" handshake "$ROUNDS" "$CG_BENCH_DIR/handshake.json" \
  --note "Raw conns/s is bounded by the one client process here: with ECDSA the client's side of a handshake (X25519, ECDSA verify, OpenSSL 3.0 certificate decoding) costs more than the server's, and the client has one of the two cores, so no server reaches 100% CPU; openssl s_server also handles one connection at a time. The targets therefore compare handshakes per CPU second of the server process (= per core); raw ratios are given beside them (client_cpu_util and server_cpu_util are in each round)." \
  --note "nginx: worker_processes 1, the same chain, key, suites (ssl_ciphers, ssl_conf_command Ciphersuites), server order, no tickets (NumTickets 0) and no session cache. For 'wss upgrade' nginx proxies the upgrade to a plain libwebsockets echo (bench_lwsecho without TLS) which answers 101; nginx's per-CPU figure counts the nginx worker only (the backend's CPU is in server_cpu_s_by_pid[1]), which favours nginx. 'https GET' compares the same work on both: TLS + GET /status answered by the server itself." \
  --note "openssl s_server -www: TLS handshake, then the client's close_notify; nothing else (the ceiling)." \
  "${notes[@]}"
echo "handshake: wrote $CG_BENCH_DIR/handshake.json" >&2
