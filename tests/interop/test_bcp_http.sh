#!/usr/bin/env bash
# BCP-003-01 HTTP rules seen by curl and raw sockets against `castgate serve`:
# HTTPS only (B-20), HSTS (B-21), 405 + Allow (B-22), 4xx for invalid
# requests (B-23), rejected requests logged without credentials (B-24),
# specific CORS (B-25), wss only (B-26), and the engine's limits.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port); P=$T/pki
make_pki "$P" "$(free_port)"
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --no-ocsp \
  --cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key" \
  --cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key" \
  --cors-origin https://ui.example.com --limit header_ms=1500 --limit max_body_bytes=65536 \
  --limit max_header_bytes=4096
U="https://localhost:$PORT"
C=(curl -s -o "$T/body" -D "$T/head" --cacert "$P/root-ca.pem" --max-time 10)
head_has() { grep -qi -- "$1" "$T/head"; }
status_is() { head -1 "$T/head" | grep -q " $1 "; }

"${C[@]}" "$U/status"
check "200 on an allowed route" status_is 200
check "B-21 HSTS max-age=31536000 on every response" head_has '^Strict-Transport-Security: max-age=31536000'
for m in TRACE CONNECT PROPFIND DELETE PUT FOO BREW; do
  "${C[@]}" -X "$m" "$U/status"
  check "B-22 $m -> 405 with Allow: GET, HEAD" bash -c "head -1 '$T/head' | grep -q ' 405 ' && grep -qi '^Allow: GET, HEAD' '$T/head'"
done
"${C[@]}" -X POST "$U/mos/Communication"
check "B-22 POST on the WebSocket path -> 405, Allow: GET" bash -c "head -1 '$T/head' | grep -q ' 405 ' && grep -qi '^Allow: GET' '$T/head'"
"${C[@]}" -X DELETE -H 'Authorization: Basic c2VjcmV0OnBhc3N3b3Jk' "$U/status"
check "B-22 405 responses also carry HSTS" head_has '^Strict-Transport-Security'
"${C[@]}" "$U/nothing-here"
check "B-23 unknown path -> 404" status_is 404
"${C[@]}" "$U/mos/Communication"
check "B-26 plain GET on the WebSocket path -> 426 Upgrade: websocket" bash -c "head -1 '$T/head' | grep -q ' 426 ' && grep -qi '^Upgrade: websocket' '$T/head'"
"${C[@]}" -H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: tooshort' "$U/mos/Communication"
check "B-23 bad Sec-WebSocket-Key -> 400" status_is 400
"${C[@]}" -H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 8' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$U/mos/Communication"
check "B-23 WebSocket version 8 -> 426 naming version 13" bash -c "head -1 '$T/head' | grep -q ' 426 ' && grep -qi '^Sec-WebSocket-Version: 13' '$T/head'"
head -c 70000 /dev/zero > "$T/big"
"${C[@]}" -X POST --data-binary @"$T/big" "$U/echo"
check "B-23 oversize body -> 413" status_is 413
printf 'hello castgate' > "$T/small"
"${C[@]}" -X POST -H 'Content-Type: text/plain' --data-binary @"$T/small" "$U/echo"
check "POST within the limit is served" bash -c "head -1 '$T/head' | grep -q ' 200 ' && [ \"\$(cat '$T/body')\" = 'hello castgate' ]"
"${C[@]}" -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" "$U/status"
check "B-23 oversize headers -> 431" status_is 431

"${C[@]}" -H 'Origin: https://ui.example.com' "$U/status"
check "B-25 configured origin gets Access-Control-Allow-Origin" head_has '^Access-Control-Allow-Origin: https://ui.example.com'
"${C[@]}" -H 'Origin: https://evil.example' "$U/status"
check "B-25 other origin gets no CORS header" bash -c "! grep -qi '^Access-Control-Allow-Origin' '$T/head'"
check "B-25 never a wildcard" bash -c "! grep -qi 'Access-Control-Allow-Origin: \*' '$T/head'"
"${C[@]}" -X OPTIONS -H 'Origin: https://ui.example.com' -H 'Access-Control-Request-Method: GET' "$U/status"
check "B-25 preflight from the configured origin -> 204 with methods" bash -c "head -1 '$T/head' | grep -q ' 204 ' && grep -qi '^Access-Control-Allow-Methods: GET, HEAD' '$T/head'"
"${C[@]}" -X OPTIONS -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: GET' "$U/status"
check "B-22/B-25 preflight from another origin -> 405" status_is 405

# B-20: a plain-HTTP request on the TLS port gets no HTTP response at all.
python3 - "$PORT" >"$T/plain" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /status HTTP/1.1\r\nHost: localhost\r\n\r\n")
data = b""
try:
    while True:
        b = s.recv(4096)
        if not b: break
        data += b
except socket.timeout:
    pass
print(repr(data))
PY
check "B-20 plain HTTP on the TLS port: no HTTP status line" bash -c "! grep -q 'HTTP/' '$T/plain'"

# Slowloris: headers that never finish get 408 and the connection closes.
python3 - "$PORT" "$P/root-ca.pem" >"$T/slow" <<'PY'
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
s.sendall(b"GET /status HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
start = time.time(); data = b""
s.settimeout(10)
try:
    while True:
        b = s.recv(4096)
        if not b: break
        data += b
except Exception:
    pass
print("closed after %.1fs" % (time.time() - start)); print(data.split(b"\r\n")[0].decode())
PY
check "slowloris: unfinished headers -> 408 and close within the header limit" bash -c "grep -q '408' '$T/slow' && awk '/closed after/ {exit !(\$3+0 < 5)}' '$T/slow'"

# Keep-alive: two requests on one connection.
curl -s -o /dev/null -o /dev/null -w '%{num_connects}\n' --cacert "$P/root-ca.pem" "$U/status" "$U/status" >"$T/ka"
check "keep-alive: two requests, one connection" bash -c "[ \"\$(awk '{s+=\$1} END {print s}' '$T/ka')\" = 1 ]"

# B-24: rejections are logged with peer, method, path, reason — never credentials.
check "B-24 rejected requests logged with peer, method, path and reason" \
  grep -qE 'rejected 405: TRACE /status: method not allowed' "$T/serve.log"
check "B-24 the 413 is logged" grep -q 'rejected 413: POST /echo: request body too large' "$T/serve.log"
check "B-24 the plain-HTTP attempt is logged" grep -q 'plain-text bytes on the TLS port' "$T/serve.log"
check "B-24 credentials never logged" bash -c "! grep -qiE 'c2VjcmV0|Authorization|secret' '$T/serve.log'"
finish
