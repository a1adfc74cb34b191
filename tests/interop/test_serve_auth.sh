#!/usr/bin/env bash
# castgate serve --credentials: Basic credentials on the wss upgrade (npm `ws`
# as the client): 401 + WWW-Authenticate without or with wrong credentials,
# 101 and an echo with the right ones, 429 once an address has failed 5 times,
# other routes untouched, no password in the log, SIGHUP reloads the file, a
# file readable by others refused at start; and the open-file soft limit
# raised to the hard limit.
. "$(dirname "$0")/lib.sh"
need_node

PORT=$(free_port); P=$T/pki
make_pki "$P" "$(free_port)"
mkdir -m 700 "$T/creds"
F=$T/creds/users
printf 'alice-pw\n' | "$CASTGATE" passwd "$F" alice
# The soft limit starts low (a common default); serve takes the hard limit.
ulimit -Sn 256
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --no-ocsp \
  --cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key" --credentials "$F" ||
  { cat "$T/serve.log"; exit 1; }
ulimit -Sn "$(ulimit -Hn)"
export NODE_PATH="$SRC/tests/interop/node_modules"
U="wss://localhost:$PORT/mos/Communication"
ws() { node "$SRC/tests/interop/wsclient.js" "$U" --ca "$P/root-ca.pem" "$@"; }
auth() { printf 'Authorization: Basic %s' "$(printf '%s' "$1" | base64 -w0)"; }

check "listening line says Basic auth" grep -q '(Basic auth)' "$T/serve.log.out"
soft=$(awk '/Max open files/ {print $4}' "/proc/$SERVE_PID/limits")
hard=$(awk '/Max open files/ {print $5}' "/proc/$SERVE_PID/limits")
check "open-file soft limit raised to the hard limit ($soft/$hard)" test "$soft" = "$hard"

ws --send-binary x --expect 1 >"$T/none"
check "no credentials -> 401" grep -q '"status":401' "$T/none"
check "401 carries WWW-Authenticate Basic" grep -q '"www-authenticate":"Basic realm=' "$T/none"
ws --header "$(auth alice:alice-pw)" --send-binary 'hello auth' --expect 1 >"$T/right"
check "right credentials -> 101 and echo" grep -q '"data":"hello auth"' "$T/right"
ws --header "$(auth alice:wrong-pw)" --send-binary x --expect 1 >"$T/wrong"
check "wrong password -> 401" grep -q '"status":401' "$T/wrong"
ws --header "$(auth mallory:alice-pw)" --send-binary x --expect 1 >"$T/unknown"
check "unknown user -> 401" grep -q '"status":401' "$T/unknown"
ws --header 'Authorization: Basic !!!' --send-binary x --expect 1 >"$T/malformed"
check "malformed header -> 401" grep -q '"status":401' "$T/malformed"
check "/status needs no credentials" \
  bash -c "curl -s --cacert '$P/root-ca.pem' https://localhost:$PORT/status | grep -q '\"service\":\"castgate\"'"

# SIGHUP re-reads the file: a user added afterwards gets in.
printf 'bob-pw\n' | "$CASTGATE" passwd "$F" bob
kill -HUP "$SERVE_PID"
for _ in $(seq 50); do grep -q 'reloaded, 2 user' "$T/serve.log" && break; sleep 0.1; done
ws --header "$(auth bob:bob-pw)" --send-binary 'bob here' --expect 1 >"$T/bob"
check "SIGHUP reload: new user accepted" grep -q '"data":"bob here"' "$T/bob"

# Upgrades that vanish while their password is being hashed (thread pool):
# serve goes on answering and exits cleanly under ASan.
for i in 2 3; do
  node "$SRC/tests/interop/auth_guess.js" "$U" --ca "$P/root-ca.pem" --local-address "127.0.2.$i" \
    --user alice --count 10 --hit-and-run >/dev/null 2>&1
done
ws --header "$(auth bob:bob-pw)" --send-binary 'still here' --expect 1 >"$T/after-hit"
check "after hit-and-run upgrades serve still answers" grep -q '"data":"still here"' "$T/after-hit"

# Five more failures from 127.0.0.1 lock the address out (bob's success
# does not lower the score the earlier ones left).
for _ in 1 2 3 4 5; do ws --header "$(auth alice:wrong-again)" --expect 1 >/dev/null; done
ws --header "$(auth alice:alice-pw)" --send-binary x --expect 1 >"$T/locked"
check "address locked out after 5 failures -> 429 even with right credentials" \
  grep -q '"status":429' "$T/locked"

check "log names the refusals" grep -q 'missing or wrong credentials' "$T/serve.log"
check "no password in the log" bash -c "! grep -E 'alice-pw|wrong-pw|wrong-again|bob-pw' '$T/serve.log' '$T/serve.log.out'"
check "serve stops cleanly" stop_pid "$SERVE_PID"
check "no sanitizer report from serve" bash -c "! grep -q Sanitizer '$T/serve.log'"

chmod 644 "$F"
"$CASTGATE" serve --listen "127.0.0.1:$(free_port)" --no-ocsp --cert "$P/server-ecdsa.chain.pem" \
  --key "$P/server-ecdsa.key" --credentials "$F" >"$T/bad.out" 2>"$T/bad.log" &
bad_pid=$!; PIDS+=("$bad_pid")
wait "$bad_pid"; rc=$?
check "credentials file readable by others refused at start (exit $rc)" \
  bash -c "[ $rc -ne 0 ] && grep -q 'cannot use credentials' '$T/bad.log'"
finish
