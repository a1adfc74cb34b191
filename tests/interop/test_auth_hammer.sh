#!/usr/bin/env bash
# Password checks do not stall the endpoint (M-05, issue 12 item 4): 16
# guessers, each from its own loopback address, upgrade after upgrade with
# wrong passwords while an NCS runs its round trips on the device; every
# answer arrives, the guessers only ever get 401, a close at accept or 429
# (locked out) or 503 (too many checks in flight, Retry-After), never a
# WebSocket. The NCS's
# reconnections are answered from the remembered success (no hash). Peers
# that send the upgrade and vanish before the answer leave the device
# healthy (ASan build: no use after free). No timing assertions.
. "$(dirname "$0")/lib.sh"

start_auth_dev
printf 'correct horse\n' >"$T/ncs.pw"; chmod 600 "$T/ncs.pw"
export NODE_PATH="$SRC/tests/interop/node_modules"

cat >"$T/ncs.conf" <<EOF2
[endpoint]
role = ncs
id = ncs.castgate.demo
state_dir = $T/s-ncs
ack_timeout_ms = 30000
[peer mos.castgate.demo]
url = wss://localhost:$DEV/mos/Communication
channels = mom,ro
ca = $P/root-ca.pem
user = ncs.castgate.demo
password_file = $T/ncs.pw
EOF2

MSGS=()
for _ in $(seq 20); do MSGS+=("$SRC/examples/messages/roReq.xml"); done
send() { # send RUN: 20 roReq round trips on ro, answers in $T/send-RUN.out
  "$CASTGATE" mos send --config "$T/ncs.conf" --peer mos.castgate.demo --channel ro \
    --timeout 120 "${MSGS[@]}" >"$T/send-$1.out" 2>"$T/send-$1.err"
}
t0=$(date +%s%N); send 0; rc=$?
echo "    (information, not checked) 20 round trips + connect before the attack: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "before the attack: 20 answers (exit $rc)" \
  bash -c "[ $rc = 0 ] && [ \$(grep -c '\"event\":\"reply\"' '$T/send-0.out') = 20 ]"

# 16 guessers from 127.0.0.2..127.0.0.17 until the stop file appears.
U="wss://localhost:$DEV/mos/Communication?mosID=mos.castgate.demo&ncsID=ncs.castgate.demo&channel=ro"
GPIDS=()
for i in $(seq 2 17); do
  node "$SRC/tests/interop/auth_guess.js" "$U" --ca "$P/root-ca.pem" --local-address "127.0.0.$i" \
    --stop "$T/stop" >"$T/guess-$i.json" 2>"$T/guess-$i.err" &
  GPIDS+=($!); PIDS+=($!)
done
# Wait until the guessers are being answered (hashes under way), then the lane works.
for _ in $(seq 400); do grep -q 'wrong password' "$T/dev.err" && break; sleep 0.05; done
check "the guessers are being checked" grep -q 'wrong password' "$T/dev.err"
total=0; failed_runs=0
ms=()
for run in 1 2 3 4 5; do
  t0=$(date +%s%N)
  send "$run" || failed_runs=$((failed_runs + 1))
  ms+=($(( ($(date +%s%N) - t0) / 1000000 )))
  total=$((total + $(grep -c '"event":"reply"' "$T/send-$run.out")))
done
echo "    (information, not checked) 20 round trips + connect per run during the attack: ${ms[*]} ms"
# Hashes run below the loop's priority (nice 10): on a busy machine the guessers
# reach their lockout later. Let them go on until one is locked out and then
# closed at accept (bounded; the checks below fail if it never happens).
for _ in $(seq 1200); do
  grep -q 'locked out: closed at accept, before TLS' "$T/dev.err" && break; sleep 0.05
done
touch "$T/stop"
for p in "${GPIDS[@]}"; do wait "$p"; done
check "during the attack: all 100 round trips answered ($total, $failed_runs runs failed)" \
  bash -c "[ $total = 100 ] && [ $failed_runs = 0 ]"
python3 - "$T" <<'PY' >"$T/guess-summary.txt"
import glob, json, sys
tot = {}; opened = errors = tries = nra = 0
for f in glob.glob(sys.argv[1] + "/guess-*.json"):
    r = json.load(open(f))
    tries += r["tries"]; opened += r["opened"]; errors += r["errors"]; nra += r["no_retry_after"]
    for k, v in r["statuses"].items():
        tot[k] = tot.get(k, 0) + v
print("tries=%d opened=%d errors=%d no_retry_after=%d statuses=%s" % (tries, opened, errors, nra, json.dumps(tot, sort_keys=True)))
PY
echo "    guessers: $(cat "$T/guess-summary.txt")"
check "no guesser ever got a WebSocket" grep -q 'opened=0 ' "$T/guess-summary.txt"
check "guessers got 401 (wrong password)" grep -q '"401": [1-9]' "$T/guess-summary.txt"
# Locked out, an address is closed at accept before TLS (the guesser sees a
# connection error, test_auth_lockout_accept.sh); a 429 only in the race of
# a connection accepted just before its address locked.
check "guessers were locked out (closed at accept: connection errors)" \
  bash -c "grep -q 'errors=[1-9]' '$T/guess-summary.txt' && grep -q 'locked out: closed at accept, before TLS' '$T/dev.err'"
check "every 503 carried Retry-After" grep -q 'no_retry_after=0 ' "$T/guess-summary.txt"
check "guessers got nothing but 401, 429 or 503" \
  python3 -c "import json,sys; s=json.loads(open('$T/guess-summary.txt').read().split('statuses=')[1]); sys.exit(0 if set(s) <= {'401','429','503'} else 1)"
check "the NCS's reconnections were answered from the remembered success" \
  grep -q "user 'ncs.castgate.demo' authenticated (remembered)" "$T/dev.err"

# Upgrades that vanish before their answer (the check still hashing).
for i in $(seq 2 5); do
  node "$SRC/tests/interop/auth_guess.js" "$U" --ca "$P/root-ca.pem" --local-address "127.0.1.$i" \
    --count 10 --hit-and-run >"$T/hit-$i.json" 2>&1 &
  GPIDS+=($!); PIDS+=($!)
done
for p in "${GPIDS[@]}"; do wait "$p" 2>/dev/null; done
send 6; rc=$?
check "after hit-and-run upgrades the device still answers (exit $rc)" \
  bash -c "[ $rc = 0 ] && [ \$(grep -c '\"event\":\"reply\"' '$T/send-6.out') = 20 ]"
kill -INT "$DEV_PID"; wait "$DEV_PID"; rc=$?
check "the device stops cleanly (exit $rc), no sanitizer report" \
  bash -c "[ $rc = 0 ] && ! grep -q 'Sanitizer' '$T/dev.err'"
check "no password in the log" bash -c "! grep -Eq 'correct horse|wrong-guess' '$T/dev.err' '$T/dev.out'"
finish
