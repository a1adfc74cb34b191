#!/usr/bin/env bash
# The wss engine against a WebSocket client that is not castgate (npm `ws`,
# pinned in package-lock.json) and raw TLS sockets: echo, UTF-8 rules, size
# limit, ping/pong, timeouts, connection limit, abortive closes, shutdown.
. "$(dirname "$0")/lib.sh"
need_node

PORT=$(free_port); P=$T/pki
make_pki "$P" "$(free_port)"
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --no-ocsp \
  --cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key" \
  --cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key" \
  --limit max_ws_message=4194304 --limit ws_ping_ms=400 --limit ws_pong_ms=400 \
  --limit handshake_ms=1000 --limit max_connections=40
U="wss://localhost:$PORT/mos/Communication"
WS=(node "$SRC/tests/interop/wsclient.js")
export NODE_PATH="$SRC/tests/interop/node_modules"

"${WS[@]}" "$U" --ca "$P/root-ca.pem" --send-binary 'héllo binary' --send-text 'héllo text' --expect 2 >"$T/echo"
check "B-26 wss echo: binary stays binary" grep -q '"binary":true,"bytes":13' "$T/echo"
check "M-04 text frame accepted and echoed as text" grep -q '"binary":false,"bytes":11' "$T/echo"
check "clean close 1000" grep -q '"code":1000' "$T/echo"

"${WS[@]}" "$U" --ca "$P/root-ca.pem" --send-binary 'm' --repeat 200 --expect 200 >"$T/order"
check "200 messages echoed in order" python3 -c "
import json,sys
m=[json.loads(l) for l in open('$T/order') if '\"message\"' in l]
sys.exit(0 if [x['data'] for x in m]==['m #%d'%i for i in range(200)] else 1)"

head -c 3000000 /dev/urandom >"$T/big"
"${WS[@]}" "$U" --ca "$P/root-ca.pem" --send-file "$T/big" --expect 1 --hash --timeout 20000 >"$T/bigecho"
check "3 MB binary message echoed byte-identical" grep -q "\"sha256\":\"$(sha256sum "$T/big" | cut -c1-64)\"" "$T/bigecho"

"${WS[@]}" "$U" --ca "$P/root-ca.pem" --send-text-hex 'c328' --expect 1 >"$T/badutf8"
check "invalid UTF-8 in a text frame -> close 1007" grep -q '"code":1007' "$T/badutf8"
head -c 4194400 /dev/zero >"$T/toobig"
"${WS[@]}" "$U" --ca "$P/root-ca.pem" --send-file "$T/toobig" --expect 1 --timeout 20000 >"$T/toobig.out"
check "message over the limit -> close 1009" grep -q '"code":1009' "$T/toobig.out"

par=()
for i in $(seq 10); do
  "${WS[@]}" "$U" --ca "$P/root-ca.pem" --send-binary "client $i" --repeat 50 --expect 50 >"$T/par$i" &
  par+=($!)
done
wait "${par[@]}"
check "10 concurrent clients x 50 messages all echoed" bash -c "[ \$(cat $T/par* | grep -c '\"message\"') = 500 ]"

# A node client idle for 1.5 s answers pings (ws does) and stays up.
"${WS[@]}" "$U" --ca "$P/root-ca.pem" --expect 1 --timeout 1500 >"$T/idle" ; true
# ws_ping_ms 400: about three pings in 1.5 s; at least two must have come,
# been answered (ws pongs by itself) and the connection stayed open.
check "idle peer that answers pings stays connected ($(grep -c '"event":"ping"' "$T/idle") pings in 1.5 s)" \
  bash -c "grep -q '\"event\":\"timeout\"' '$T/idle' && ! grep -q '\"event\":\"close\"' '$T/idle' && [ \$(grep -c '\"event\":\"ping\"' '$T/idle') -ge 2 ]"

# Raw TLS peers: silent after the upgrade; silent before the handshake.
python3 - "$PORT" "$P/root-ca.pem" >"$T/raw" <<'PY'
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.sendall(b"GET /mos/Communication HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
s.settimeout(10); t0 = time.time(); data = b""
try:
    while True:
        b = s.recv(4096)
        if not b: break
        data += b
except Exception: pass
print("upgrade", b"101 Switching Protocols" in data, b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in data)
print("ping", b"\x89\x02cg" in data, "closed after %.1f" % (time.time() - t0))
t0 = time.time(); r = socket.create_connection(("127.0.0.1", port)); r.settimeout(10)
try: got = r.recv(10)
except Exception: got = b"?"
print("handshake-timeout closed", got == b"", "after %.1f" % (time.time() - t0))
PY
check "RFC 6455 accept key correct (raw client)" grep -q 'upgrade True True' "$T/raw"
check "silent WebSocket peer pinged, then closed" bash -c "grep -q 'ping True' '$T/raw' && awk '/^ping/ {exit !(\$5+0 < 3)}' '$T/raw'"
check "TLS handshake timeout closes a silent TCP peer" bash -c "grep -q 'handshake-timeout closed True' '$T/raw'"

# Connection limit: the 41st connection is closed at once.
python3 - "$PORT" >"$T/limit" <<'PY'
import socket, sys, time
port = int(sys.argv[1]); keep = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
time.sleep(0.3)
x = socket.create_connection(("127.0.0.1", port)); x.settimeout(3)
try: print("extra closed", x.recv(10) == b"")
except Exception as e: print("extra open", e)
PY
check "connection limit: extra connection closed at once" grep -q 'extra closed True' "$T/limit"
check "connection limit logged" grep -q 'connection limit (40) reached' "$T/serve.log"

# Abortive closes: ClientHello then RST, 200 times; the server must not spin.
cpu() { awk '{print $14 + $15}' "/proc/$SERVE_PID/stat"; }
python3 - "$PORT" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
hello = bytes.fromhex("16030100a1010000")  # truncated ClientHello: the server waits for more
for _ in range(200):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(hello)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()   # RST
PY
sleep 0.5; c0=$(cpu); sleep 2; c1=$(cpu)
check "no busy loop after 200 abortive closes (CPU ticks over 2 s idle: $((c1 - c0)))" test $((c1 - c0)) -lt 20
"${WS[@]}" "$U" --ca "$P/root-ca.pem" --send-binary still-here --expect 1 >"$T/after"
check "still serving after the abortive closes" grep -q '"data":"still-here"' "$T/after"

# Shutdown: an open WebSocket gets 1001; the process exits 0 (ASan: no leak).
"${WS[@]}" "$U" --ca "$P/root-ca.pem" --expect 1 --timeout 8000 >"$T/shut" &
NPID=$!
sleep 1
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
wait "$NPID"
check "SIGTERM: open WebSocket closed with 1001" grep -q '"code":1001' "$T/shut"
check "SIGTERM: clean exit, no leak reported (status $rc)" test "$rc" = 0
finish
