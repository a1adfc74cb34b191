#!/usr/bin/env bash
# Certificate reload under load: 100 wss connections (npm ws) stay up while
# the store's certificate is replaced and castgate serve gets SIGHUP; new
# handshakes see the new certificate; a broken replacement is refused with a
# log line naming the problem and the previous certificate keeps serving.
. "$(dirname "$0")/lib.sh"
need_node
export NODE_PATH="$SRC/tests/interop/node_modules"

PORT=$(free_port)
CA=$T/ca; S=$T/store
"$CASTGATE" cert ca init --dir "$CA" >/dev/null 2>&1
"$CASTGATE" cert issue --ca "$CA" --host localhost --type ecdsa --out "$T/a" >/dev/null 2>&1
"$CASTGATE" cert issue --ca "$CA" --host localhost --type ecdsa --out "$T/b" >/dev/null 2>&1
"$CASTGATE" cert issue --ca "$CA" --host localhost --type rsa --out "$T/r" >/dev/null 2>&1
inst() { "$CASTGATE" cert install --store "$S" --ca "$CA/root.pem" --host localhost "$@" "$CA/intermediate.pem" >/dev/null 2>&1; }
inst "$T/a/server-ecdsa.pem" "$T/a/server-ecdsa.key"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
FPA=$(fp "$T/a/server-ecdsa.pem"); FPB=$(fp "$T/b/server-ecdsa.pem")

start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --cert-store "$S" --no-ocsp
served() { # the SHA-256 fingerprint of the leaf a fresh handshake gets
  timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$CA/root.pem" \
    </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
check "before: certificate A served" test "$(served)" = "$FPA"

node "$SRC/tests/interop/wsload.js" "wss://localhost:$PORT/mos/Communication" "$CA/root.pem" 100 "$T/go" >"$T/load.out" 2>&1 &
LOAD=$!; PIDS+=($LOAD)
for i in $(seq 300); do grep -q '"opened":100' "$T/load.out" && break; sleep 0.1; done
check "100 wss connections open" grep -q '"opened":100' "$T/load.out"

inst "$T/b/server-ecdsa.pem" "$T/b/server-ecdsa.key"
kill -HUP "$SERVE_PID"
for i in $(seq 50); do grep -q 'reload done' "$T/serve.log" && break; sleep 0.1; done
check "SIGHUP reload logged with open connections kept" grep -q 'certificates reloaded: new handshakes use them, 100 open connections keep theirs' "$T/serve.log"
check "after reload: new handshakes get certificate B" test "$(served)" = "$FPB"

# Broken replacement: a key that does not match the chain (written as an
# operator's copy would, bypassing install's checks).
cp "$T/a/server-ecdsa.key" "$S/ecdsa.key"
kill -HUP "$SERVE_PID"
for i in $(seq 50); do grep -q 'reload REFUSED' "$T/serve.log" && break; sleep 0.1; done
check "broken replacement refused, log names the files" grep -q "key $S/ecdsa.key does not match certificate $S/ecdsa.chain.pem" "$T/serve.log"
check "refusal says the old certificates stay" grep -q 'certificate reload refused.*still serving the previous certificates' "$T/serve.log"
check "after the refused reload: certificate B still served" test "$(served)" = "$FPB"
cp "$T/b/server-ecdsa.key" "$S/ecdsa.key"; chmod 0644 "$S/ecdsa.key"
kill -HUP "$SERVE_PID"
for i in $(seq 50); do [ "$(grep -c 'reload REFUSED' "$T/serve.log")" -ge 2 ] && break; sleep 0.1; done
check "world-readable key in the store refused on reload" grep -q "$S/ecdsa.key is readable or writable by group/others" "$T/serve.log"
chmod 0600 "$S/ecdsa.key"

# Adding an RSA certificate to the store: a reload serves both (B-13).
inst "$T/r/server-rsa.pem" "$T/r/server-rsa.key"
kill -HUP "$SERVE_PID"
for i in $(seq 50); do [ "$(grep -c 'reload done' "$T/serve.log")" -ge 2 ] && break; sleep 0.1; done
timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$CA/root.pem" \
  -sigalgs 'rsa_pss_rsae_sha256:RSA+SHA256' </dev/null >"$T/sc.txt" 2>&1
check "B-13 after reload an RSA-only client gets the new RSA certificate" bash -c "grep -q 'Server public key is 2048 bit' '$T/sc.txt' && grep -q 'Verify return code: 0' '$T/sc.txt'"

touch "$T/go"
wait "$LOAD"
check "all 100 connections survived the reloads and echo" grep -q '"echoed":100,"closed_early":0' "$T/load.out"
stop_pid "$SERVE_PID"
check "castgate serve exits cleanly (no leaks)" test $? -eq 0
finish
