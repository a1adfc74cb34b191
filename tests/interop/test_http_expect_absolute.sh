#!/usr/bin/env bash
# The engine's HTTP over sockets, seen by curl against `castgate serve`:
#  - Expect: 100-continue (RFC 9110 §10.1.1): 100 Continue when the request
#    will be read, the final refusal instead (405 B-22, 404, 413 B-23)
#    without the body being sent, 417 for an expectation castgate cannot meet;
#  - absolute-form targets (RFC 9112 §3.2.2: a server MUST accept them):
#    served like origin-form, with the BCP rules (HSTS B-21, 405 + Allow
#    B-22); another scheme than https gets 400 with its reason, logged (B-24).
# curl waits up to --expect100-timeout for the 100 before it sends the body
# anyway: a server that never answers 100 shows as "no 100 Continue" here,
# not as a slow test that passes. %{size_upload} tells whether the body went.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port); P=$T/pki
make_pki "$P" "$(free_port)"
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --no-ocsp \
  --cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key" \
  --limit max_body_bytes=65536 || { bad "castgate serve started"; finish; exit 1; }
U="https://localhost:$PORT"
C=(curl -s -o "$T/body" -D "$T/head" --cacert "$P/root-ca.pem" --max-time 60
   --expect100-timeout 20 -w '%{http_code} %{size_upload}\n')
E=(-H 'Expect: 100-continue')
head_has() { grep -qi -- "$1" "$T/head"; }
got_100() { grep -q '^HTTP/1.1 100 Continue' "$T/head"; }
no_100() { ! grep -q '^HTTP/1.1 100' "$T/head"; }
final_is() { grep '^HTTP/' "$T/head" | tail -1 | grep -q " $1 "; }
uploaded() { [ "$(cut -d' ' -f2 "$T/w")" = "$1" ]; }
body_is() { cmp -s "$T/body" "$1"; }
head -c 4000 /dev/zero | tr '\0' x >"$T/body4k"
head -c 70000 /dev/zero >"$T/body70k"

# ---- Expect: 100-continue ----
"${C[@]}" -X POST "${E[@]}" -H 'Content-Type: text/plain' --data-binary @"$T/body4k" "$U/echo" >"$T/w"
check "100-continue on an allowed route: 100 Continue, then 200" eval 'got_100 && final_is 200'
check "... and the body was sent and echoed whole" eval 'uploaded 4000 && body_is "$T/body4k"'
check "B-21 HSTS on the final answer after 100 Continue" head_has '^Strict-Transport-Security: max-age=31536000'

"${C[@]}" -X PUT "${E[@]}" --data-binary @"$T/body4k" "$U/echo" >"$T/w"
check "B-22 100-continue, a method the route does not allow: 405 + Allow: POST, no 100" \
  eval 'no_100 && final_is 405 && head_has "^Allow: POST"'
check "... and the body was never sent" uploaded 0

"${C[@]}" -X POST "${E[@]}" --data-binary @"$T/body4k" "$U/nothing-here" >"$T/w"
check "100-continue on no route: 404 without 100, the body never sent" \
  eval 'no_100 && final_is 404 && uploaded 0'

"${C[@]}" -X POST "${E[@]}" --data-binary @"$T/body4k" "$U/mos/Communication" >"$T/w"
check "B-22 100-continue on the WebSocket path: 405 + Allow: GET without 100, the body never sent" \
  eval 'no_100 && final_is 405 && head_has "^Allow: GET" && uploaded 0'

"${C[@]}" -X POST "${E[@]}" --data-binary @"$T/body70k" "$U/echo" >"$T/w"
check "B-23 100-continue with a body over the limit: 413 without 100, the body never sent" \
  eval 'no_100 && final_is 413 && uploaded 0'

"${C[@]}" -X POST -H 'Expect: 200-ok-please' --data-binary @"$T/body4k" "$U/echo" >"$T/w"
check "an expectation other than 100-continue: 417 Expectation Failed" eval 'no_100 && final_is 417'
check "... logged as a refusal (B-24)" grep -q 'rejected 417: POST /echo: unsupported expectation' "$T/serve.log"

# curl waits for a 100 even over HTTP/1.0 when told to send Expect: one second here, as
# the server (rightly) sends none and would end the wait for the body at header_ms (408).
"${C[@]}" -0 --expect100-timeout 1 -X POST "${E[@]}" -H 'Content-Type: text/plain' --data-binary @"$T/body4k" "$U/echo" >"$T/w"
check "HTTP/1.0 with 100-continue: the expectation is ignored (no 100), 200" \
  eval 'no_100 && final_is 200 && body_is "$T/body4k"'

# After 100 Continue and the answer, the connection serves the next request.
curl -s --cacert "$P/root-ca.pem" --max-time 60 --expect100-timeout 20 "${E[@]}" \
  -H 'Content-Type: text/plain' --data-binary @"$T/body4k" "$U/echo" -o "$T/b1" \
  --next --cacert "$P/root-ca.pem" --max-time 60 "$U/status" -o "$T/b2" \
  -w '%{http_code} %{num_connects}\n' >"$T/conns"
check "after 100 Continue and 200 the same connection serves the next request" \
  eval 'cmp -s "$T/b1" "$T/body4k" && [ "$(tail -1 "$T/conns")" = "200 0" ]'

# ---- absolute-form targets ----
"${C[@]}" --request-target "https://localhost:$PORT/status" "$U/" >"$T/w"
check "absolute-form GET https://localhost:PORT/status -> 200" final_is 200
check "B-21 HSTS on the absolute-form answer" head_has '^Strict-Transport-Security: max-age=31536000'
"${C[@]}" -X DELETE --request-target "https://localhost:$PORT/status" "$U/" >"$T/w"
check "B-22 absolute-form DELETE on /status -> 405 with Allow: GET, HEAD" \
  eval 'final_is 405 && head_has "^Allow: GET, HEAD"'
"${C[@]}" --request-target "https://localhost:$PORT/nothing-here" "$U/" >"$T/w"
check "absolute-form on no route -> 404" final_is 404
"${C[@]}" -X POST -H 'Content-Type: text/plain' --data-binary 'hello absolute' \
  --request-target "https://localhost:$PORT/echo" "$U/" >"$T/w"
check "absolute-form POST is served like origin-form" \
  eval 'final_is 200 && [ "$(cat "$T/body")" = "hello absolute" ]'
"${C[@]}" -X POST "${E[@]}" -H 'Content-Type: text/plain' --data-binary @"$T/body4k" \
  --request-target "https://localhost:$PORT/echo" "$U/" >"$T/w"
check "absolute-form with 100-continue: 100 Continue, then 200" \
  eval 'got_100 && final_is 200 && body_is "$T/body4k"'
"${C[@]}" --request-target "http://localhost:$PORT/status" "$U/" >"$T/w"
check "B-20 absolute-form with http: -> 400, the reason in the body" \
  eval 'final_is 400 && grep -q "request target scheme is not https" "$T/body"'
check "B-21 HSTS on that 400" head_has '^Strict-Transport-Security: max-age=31536000'
check "B-24 the 400 is logged with its reason" \
  grep -q 'rejected 400: GET .*request target scheme is not https' "$T/serve.log"
"${C[@]}" --request-target "https://user@localhost:$PORT/status" "$U/" >"$T/w"
check "absolute-form with userinfo -> 400" eval 'final_is 400 && grep -q userinfo "$T/body"'

# The server is still well after all of it.
"${C[@]}" "$U/status" >"$T/w"
check "the server still answers" final_is 200
finish
