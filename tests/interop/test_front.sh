#!/usr/bin/env bash
# castgate front (issue 17): a plain-HTTP/ws NMOS node + registry
# (nmos_fixture.py: IS-04 v1.3 and IS-05 v1.1 as the specs say, for what a
# client can tell) behind BCP-003-01. An NMOS client over TLS
# (nmos_client.py) registers a node and its resources, heartbeats, queries
# (basic queries, paging by the Link header), subscribes over wss and gets
# the sync grain and a grain per create/update/delete/expiry, PATCHes IS-05
# staged endpoints (refusals, activate_immediate read back from /active, a
# scheduled activation, bulk), reads the transport file and deletes: every
# URL it sees, in every header, body and grain, is https/wss on the front.
# Around it, curl and a node ws client check the proxy itself and the BCP's
# HTTP rules (405 + Allow B-22, 400/413/415 B-23, logged without credentials
# B-24, CORS B-25, HSTS B-21, no plain HTTP B-20); `castgate check tls`
# passes on the front's port. FRONT_REWRITE=off runs the same checks against
# a front that does not rewrite (the URL checks must then fail); FRONT_EXTRA
# adds lines to its configuration (e.g. "hsts_max_age = 0": the HSTS checks
# fail); NMOS_FIXTURE runs a (deliberately broken) copy of the fixture.
. "$(dirname "$0")/lib.sh"
need_node
need "python3" python3 -c 'import http.server'

OCSP=$(free_port); P=$T/pki
make_pki "$P" "$OCSP"
start_ocsp "$P" "$OCSP" || { bad "OCSP responder started"; finish; exit 1; }
EXPIRY_MS=5000  # a node not heartbeated for 5 s is removed (the spec's 12 s, shortened)
start_nmos_fixture --expiry-ms "$EXPIRY_MS"
FP=$(free_port)
cat >"$T/front.conf" <<EOF
[front]
listen = 127.0.0.1:$FP
cert = $P/server-rsa.chain.pem $P/server-rsa.key
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
backend = 127.0.0.1:$BP
public = localhost
cors_origin = https://ui.example.com
max_body_bytes = 65536
ws_prefix = /ws-extra/
rewrite = ${FRONT_REWRITE:-on}
${FRONT_EXTRA:-}
EOF
"$CASTGATE" front --config "$T/front.conf" >"$T/front.out" 2>"$T/front.err" &
FRONT=$!; PIDS+=($FRONT)
for ((i = 0; i < 200; i++)); do grep -q 'listening on port' "$T/front.out" 2>/dev/null && break; sleep 0.05; done
check "the front listens" grep -q "listening on port $FP" "$T/front.out"
# Stapling: the first staple is fetched right after start.
for ((i = 0; i < 100; i++)); do grep -q 'OCSP' "$T/front.err" 2>/dev/null && break; sleep 0.05; done

U=https://localhost:$FP
X=/x-nmos
C=(curl -s -o "$T/body" -D "$T/head" --cacert "$P/root-ca.pem" --max-time 20)
J=(-H 'Content-Type: application/json')
status_is() { head -1 "$T/head" | grep -q " $1 "; }
head_has() { grep -qi -- "$1" "$T/head"; }
# secure_urls FILE: every URL in it is https:// or wss:// on the front, and there is one.
secure_urls() {
  python3 - "$1" "$FP" <<'PY'
import re, sys
t = open(sys.argv[1], errors='replace').read()
urls = re.findall(r'[a-zA-Z]+://[^"\s,]+', t)
bad = [u for u in urls if not re.match(r'(https|wss)://localhost:%s(/|$)' % sys.argv[2], u)]
if bad or not urls:
    print('  insecure or foreign URLs:', bad[:3], 'of', len(urls), file=sys.stderr)
sys.exit(1 if bad or not urls else 0)
PY
}
backend_saw() { grep -c -- "$1" "$T/backend.log" 2>/dev/null || true; }

# ---- the NMOS client: IS-04 Node, Registration, Query APIs and subscriptions, IS-05 ----
timeout 300 python3 "$SRC/tests/interop/nmos_client.py" --front "localhost:$FP" \
  --ca "$P/root-ca.pem" --inside "127.0.0.1:$BP" --expiry-ms "$EXPIRY_MS" >"$T/client.out" 2>&1
tally "$T/client.out"
check "the NMOS client ran to its end" grep -q '^nmos_client: [0-9]* checks' "$T/client.out"

# ---- Node API through the proxy: HEAD ----
"${C[@]}" "$U$X/node/v1.3/self"
GETLEN=$(stat -c %s "$T/body")
curl -s -I --cacert "$P/root-ca.pem" "$U$X/node/v1.3/self" >"$T/headhead"
check "HEAD: no Content-Length other than the (rewritten) GET's" python3 -c "
import re, sys
m = re.search(r'(?im)^content-length: *([0-9]+)', open('$T/headhead').read())
if m and int(m.group(1)) != $GETLEN:
    sys.exit('HEAD Content-Length %s, GET body %s' % (m.group(1), $GETLEN))"

# ---- WebSocket frames under a ws_prefix: the fixture's frame exercise ----
"${C[@]}" "${J[@]}" --data '{"max_update_rate_ms": 100, "resource_path": "/nodes", "params": {}, "persist": true, "secure": true}' \
  "$U$X/query/v1.3/subscriptions"
check "a persistent secure subscription -> 201" status_is 201
WS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("ws_href",""))' "$T/body")
SID=${WS##*/}
timeout 30 node "$SRC/tests/interop/wsclient.js" "wss://localhost:$FP/ws-extra/$SID" --ca "$P/root-ca.pem" --expect 3 --timeout 15000 >"$T/ws.out" 2>&1
check "a WebSocket under a configured ws_prefix opens through the front" grep -q '"event":"open"' "$T/ws.out"
python3 - "$T/ws.out" "$T/grain" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get('event') == 'message' and not e['binary']:
        n += 1
        open('%s%d.json' % (sys.argv[2], n), 'w').write(e['data'])
PY
check "a grain arrived with the fixture node" grep -q "$NMOS_NODE" "$T/grain1.json"
check "the grain's URLs are https on the front" secure_urls "$T/grain1.json"
check "the same grain sent in fragments (a ping between) arrives whole, its URLs https" \
  bash -c "cmp -s '$T/grain1.json' '$T/grain2.json'"
check "a binary frame passes unchanged" grep -q '"binary":true,"bytes":18' "$T/ws.out"
timeout 30 node "$SRC/tests/interop/wsclient.js" "wss://localhost:$FP/ws-other/$SID" --ca "$P/root-ca.pem" --timeout 15000 >"$T/ws3.out" 2>&1
check "a WebSocket elsewhere is refused by the front (404)" grep -q '"status":404' "$T/ws3.out"

# ---- pipelining, a client leaving mid-response ----
python3 - "$FP" "$P/root-ca.pem" >"$T/pipe.out" 2>&1 <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=15), server_hostname='localhost')
req = b'GET /x-nmos/node/v1.3/self HTTP/1.1\r\nHost: localhost\r\n\r\n'
s.sendall(req + req.replace(b'/self', b'/devices') + req.replace(b'/self', b'/senders'))
buf, bodies = b'', []
while len(bodies) < 3:
    while b'\r\n\r\n' not in buf:
        buf += s.recv(65536)
    head, buf = buf.split(b'\r\n\r\n', 1)
    n = int([l.split(b':')[1] for l in head.split(b'\r\n') if l.lower().startswith(b'content-length')][0])
    while len(buf) < n:
        buf += s.recv(65536)
    bodies.append((head.split(b' ')[1], buf[:n]))
    buf = buf[n:]
print([st.decode() for st, _ in bodies], [b'fixture node' in bodies[0][1], b'controls' in bodies[1][1], b'manifest_href' in bodies[2][1]])
PY
check "three pipelined requests answered in order on one connection" grep -qx "\['200', '200', '200'\] \[True, True, True\]" "$T/pipe.out"
python3 - "$FP" "$P/root-ca.pem" "$NMOS_SENDER" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='localhost')
s.sendall(b'GET /x-nmos/connection/v1.1/single/senders/%s/transportfile HTTP/1.1\r\nHost: localhost\r\n\r\n' % sys.argv[3].encode())
s.recv(100)
s.close()  # gone mid-response
PY
"${C[@]}" "$U$X/node/v1.3/self"
check "a client gone mid-response leaves the front serving" status_is 200

# ---- a large non-JSON body: the sender's SDP (with its 200 kB pad attribute) ----
STAGED=$X/connection/v1.1/single/senders/$NMOS_SENDER/staged
TF=/x-nmos/connection/v1.1/single/senders/$NMOS_SENDER/transportfile
curl -s -o "$T/sdp.direct" "http://127.0.0.1:$BP$TF"
curl -s --cacert "$P/root-ca.pem" -o "$T/sdp" "$U$TF"
check "a 200 KB chunked non-JSON body streams through whole (byte for byte the backend's)" \
  bash -c "[ \$(stat -c %s '$T/sdp') -gt 200000 ] && cmp -s '$T/sdp' '$T/sdp.direct'"
curl -s --http1.0 --cacert "$P/root-ca.pem" -D "$T/head10" -o "$T/sdp10" "$U$TF"
check "an HTTP/1.0 client gets it whole, without chunked encoding (it ends with the connection)" \
  bash -c "cmp -s '$T/sdp10' '$T/sdp.direct' && ! grep -qi '^Transfer-Encoding' '$T/head10' && grep -qi '^Connection: close' '$T/head10'"

# ---- Expect: 100-continue (RFC 9110 §10.1.1): answered once the head passes ----
"${C[@]}" -X PATCH "${J[@]}" -H 'Expect: 100-continue' --data '{"master_enable": false}' "$U$STAGED"
check "Expect: 100-continue gets 100 Continue, then the answer" bash -c "grep -q '^HTTP/1.1 100 Continue' '$T/head' && grep -q '^HTTP/1.1 200' '$T/head'"
"${C[@]}" -X PUT "${J[@]}" -H 'Expect: 100-continue' --data '{}' "$U$STAGED"
check "Expect: 100-continue on a method not allowed gets the 405 without 100 Continue" bash -c "! grep -q ' 100 ' '$T/head' && grep -q '^HTTP/1.1 405' '$T/head'"

# ---- B-22: 405 + Allow, before the backend ----
before=$(backend_saw '"DELETE"')
"${C[@]}" -X DELETE -H 'Authorization: Basic c2VjcmV0OnBhc3N3b3Jk' "$U$X/node/v1.3/self"
check "B-22 DELETE on Node API self -> 405, Allow: GET, HEAD" bash -c "head -1 '$T/head' | grep -q ' 405 ' && grep -qi '^Allow: GET, HEAD' '$T/head'"
check "B-22 the refused DELETE never reached the backend" test "$(backend_saw '"DELETE"')" = "$before"
"${C[@]}" -X PUT "${J[@]}" --data '{}' "$U$STAGED"
check "B-22 PUT on IS-05 staged -> 405, Allow: GET, HEAD, PATCH" bash -c "head -1 '$T/head' | grep -q ' 405 ' && grep -qi '^Allow: GET, HEAD, PATCH' '$T/head'"
"${C[@]}" "$U$X/connection/v1.1/bulk/senders"
check "B-22 GET on IS-05 bulk/senders -> 405, Allow: POST" bash -c "head -1 '$T/head' | grep -q ' 405 ' && grep -qi '^Allow: POST' '$T/head'"
"${C[@]}" -X TRACE "$U$X/query/v1.3/nodes"
check "B-22 TRACE -> 405" status_is 405
"${C[@]}" "$U$X/nothing/v1.3/here"
check "unknown path -> 404 from the front" bash -c "head -1 '$T/head' | grep -q ' 404 ' && grep -q 'no such path' '$T/body'"
check "B-21 HSTS on refusals" head_has '^Strict-Transport-Security: max-age=31536000'

# ---- B-23: JSON bodies checked before the backend ----
before=$(backend_saw '"path": "/x-nmos/registration/v1.3/resource"')
"${C[@]}" "${J[@]}" --data '{"type": "node", "data": {' "$U$X/registration/v1.3/resource"
check "B-23 malformed JSON -> 400 from the front" bash -c "head -1 '$T/head' | grep -q ' 400 ' && grep -q 'not well-formed JSON' '$T/body'"
"${C[@]}" -X PATCH "${J[@]}" --data '' "$U$STAGED"
check "B-23 PATCH without a body -> 400" status_is 400
"${C[@]}" -H 'Content-Type: text/plain' --data '{}' "$U$X/registration/v1.3/resource"
check "B-23 a non-JSON media type -> 415" status_is 415
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big"
"${C[@]}" "${J[@]}" --data-binary @"$T/big" "$U$X/registration/v1.3/resource"
check "B-23 a body over max_body_bytes -> 413" status_is 413
check "B-23 none of the refused bodies reached the backend" \
  test "$(backend_saw '"path": "/x-nmos/registration/v1.3/resource"')" = "$before"

# ---- B-24: refusals logged, without credentials ----
check "B-24 refusals logged with status and reason" grep -q 'rejected 405: DELETE /x-nmos/node/v1.3/self' "$T/front.err"
check "B-24 no credentials in the log" bash -c "! grep -q 'c2VjcmV0OnBhc3N3b3Jk' '$T/front.err'"

# ---- B-25 CORS, B-21 HSTS, headers across ----
"${C[@]}" -H 'Origin: https://ui.example.com' "$U$X/node/v1.3/self"
check "B-25 the configured origin gets itself in Access-Control-Allow-Origin" head_has '^Access-Control-Allow-Origin: https://ui.example.com'
check "B-21 HSTS on proxied responses" head_has '^Strict-Transport-Security: max-age=31536000'
"${C[@]}" -H 'Origin: https://evil.example' -H 'X-Forwarded-For: 6.6.6.6' -H 'Connection: X-Secret' -H 'X-Secret: 1' "$U$X/node/v1.3/self"
check "B-25 another origin gets no CORS header (the backend's * is gone)" bash -c "! grep -qi '^Access-Control-Allow-Origin' '$T/head'"
check "hop-by-hop headers of the backend removed" bash -c "! grep -qiE '^(Keep-Alive|X-Fixture-Hop):' '$T/head'"
python3 - "$T/backend.log" >"$T/last.txt" <<'PY'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])][-1]
for k, v in d['headers']:
    print('%s: %s' % (k, v))
PY
check "X-Forwarded-For is the client, not what it claimed" bash -c "grep -qx 'X-Forwarded-For: 127.0.0.1' '$T/last.txt' && ! grep -q 6.6.6.6 '$T/last.txt'"
check "X-Forwarded-Proto https and Forwarded (RFC 7239) set" bash -c "grep -qx 'X-Forwarded-Proto: https' '$T/last.txt' && grep -q '^Forwarded: for=127.0.0.1;proto=https' '$T/last.txt'"
check "a header the client named in Connection is not passed on" bash -c "! grep -qi '^X-Secret' '$T/last.txt'"
"${C[@]}" -X OPTIONS -H 'Origin: https://ui.example.com' -H 'Access-Control-Request-Method: PATCH' "$U$STAGED"
check "B-25 preflight answered by the front with the route's methods" bash -c "head -1 '$T/head' | grep -q ' 204 ' && grep -qi '^Access-Control-Allow-Methods: GET, HEAD, PATCH' '$T/head'"
check "backend connections are reused (keep-alive pool)" bash -c \
  "python3 -c \"import json,collections,sys; c=collections.Counter(json.loads(l)['client_port'] for l in open('$T/backend.log')); sys.exit(0 if max(c.values()) > 1 else 1)\""

# ---- B-20 and the TLS profile ----
python3 - "$FP" >"$T/plain" <<'PY'
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
s.sendall(b'GET /x-nmos/ HTTP/1.1\r\nHost: x\r\n\r\n')
try:
    print(s.recv(100))
except OSError:
    print(b'')
PY
check "B-20 plain HTTP on the front's port gets no HTTP answer" bash -c "! grep -q HTTP '$T/plain'"
"$CASTGATE" check tls "$U$X/node/v1.3/self" --ca "$P/root-ca.pem" >"$T/check.txt" 2>&1
rc=$?
check "castgate check tls passes on the front (exit $rc)" test "$rc" = 0
[ "$rc" = 0 ] || grep -i fail "$T/check.txt" | head -5

# ---- the backend gone: 502 from the front (pooled connections found dead) ----
kill -TERM "$FIX"; wait "$FIX" 2>/dev/null
"${C[@]}" "$U$X/node/v1.3/self"
check "backend down -> 502 from the front" bash -c "head -1 '$T/head' | grep -q ' 502 ' && grep -q 'backend' '$T/body'"

kill -TERM "$FRONT"; wait "$FRONT"; rc=$?
check "the front stops on SIGTERM, cleanly under ASan (exit $rc)" test "$rc" = 0
check "its counters at exit saw this run (requests, refusals, 502s, rewrites, pool reuse, 3 tunnels: the client's 2, ws_prefix 1)" python3 -c "
import json, sys
d = json.loads(open('$T/front.out').read().splitlines()[-1])
sys.exit(0 if all(d[k] > 0 for k in ('requests', 'refused', 'bad_gateway', 'rewritten', 'pool_reused', 'tunnels')) and d['tunnels'] == 3 else d)"
check "the engine's set-up results count the front's connections (ok, not_tls B-20, tls_version B-02 from check tls, http_405 B-22, http_400)" python3 -c "
import json, sys
d = json.loads(open('$T/front.out').read().splitlines()[-1])['setup']
sys.exit(0 if d['ok'] > 10 and d['not_tls'] >= 1 and d['tls_version'] >= 1 and d['http_405'] >= 4 and d['http_400'] >= 2 else d)"
finish
