#!/usr/bin/env bash
# castgate front and the two request forms the engine now takes:
#  - Expect (RFC 9110 §10.1.1): the front answers 100 Continue itself once
#    the head passes its own checks (route, method B-22, media type and size
#    B-23), because it reads and checks the whole body before the backend
#    sees the request; the backend never gets the Expect line. A refused head
#    gets its refusal without the body being sent; another expectation gets
#    417 from the front; an HTTP/1.0 request's expectation is ignored.
#  - absolute-form targets (RFC 9112 §3.2.2): accepted; the backend gets the
#    origin-form path, and the authority (not a Host line that differs) as
#    X-Forwarded-Host; another scheme than https is 400 from the front.
# Backend: tests/interop/nmos_fixture.py (plain HTTP on loopback, lib.sh
# start_nmos_fixture), which logs every request it gets; the PATCHes go to
# its receiver's IS-05 staged endpoint with a 4 kB transport file (valid for
# the fixture, which answers 200).
. "$(dirname "$0")/lib.sh"
need "python3" python3 -c 'import http.server'

start_nmos_front rsa "[front]" "max_body_bytes = 65536"
check "the front listens" grep -q "listening on port $FP" "$T/front.out"

U=https://localhost:$FP
S=/x-nmos/connection/v1.1/single/receivers/$NMOS_RECEIVER/staged
C=(curl -s -o "$T/body" -D "$T/head" --cacert "$P/root-ca.pem" --max-time 60
   --expect100-timeout 20 -w '%{http_code} %{size_upload}\n')
J=(-H 'Content-Type: application/json')
E=(-H 'Expect: 100-continue')
head_has() { grep -qi -- "$1" "$T/head"; }
got_100() { grep -q '^HTTP/1.1 100 Continue' "$T/head"; }
no_100() { ! grep -q '^HTTP/1.1 100' "$T/head"; }
final_is() { grep '^HTTP/' "$T/head" | tail -1 | grep -q " $1 "; }
uploaded() { [ "$(cut -d' ' -f2 "$T/w")" = "$1" ]; }
backend_saw() { grep -c -- "$1" "$T/backend.log" 2>/dev/null || true; }
# last_request PYEXPR: the expression over the backend's last request r is true.
last_request() {
  python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); h={k.lower(): v for k, v in r['headers']}; sys.exit(0 if ($1) else 1)" "$T/backend.log"
}
python3 -c 'import json; print(json.dumps({"master_enable": False, "transport_file": {
    "data": "v=0\r\ns=pad\r\na=x-pad:" + "x" * 4000 + "\r\n", "type": "application/sdp"}}))' >"$T/staged.json"

# ---- Expect ----
"${C[@]}" -X PATCH "${J[@]}" "${E[@]}" --data-binary @"$T/staged.json" "$U$S" >"$T/w"
check "100-continue: 100 Continue from the front, then the backend's 200" eval 'got_100 && final_is 200'
check "... the body went to the backend whole, without the Expect line" \
  last_request "r['method'] == 'PATCH' and r['body_len'] == $(stat -c %s "$T/staged.json") and 'expect' not in h"

before=$(backend_saw '"PUT"')
"${C[@]}" -X PUT "${J[@]}" "${E[@]}" --data-binary @"$T/staged.json" "$U$S" >"$T/w"
check "B-22 100-continue, a method the route does not allow: 405 without 100, the body never sent" \
  eval 'no_100 && final_is 405 && head_has "^Allow: GET, HEAD, PATCH" && uploaded 0'
check "... and the backend never saw it" test "$(backend_saw '"PUT"')" = "$before"

"${C[@]}" -X PATCH -H 'Content-Type: text/plain' "${E[@]}" --data-binary @"$T/staged.json" "$U$S" >"$T/w"
check "B-23 100-continue with another media type: 415 without 100, the body never sent" \
  eval 'no_100 && final_is 415 && uploaded 0'

before=$(wc -l <"$T/backend.log")
"${C[@]}" -X PATCH "${J[@]}" -H 'Expect: 200-ok-please' --data-binary @"$T/staged.json" "$U$S" >"$T/w"
check "an expectation other than 100-continue: 417 from the front" eval 'no_100 && final_is 417'
check "... the backend never saw it" test "$(wc -l <"$T/backend.log")" = "$before"
check "... logged as a refusal (B-24)" grep -q "rejected 417: PATCH $S: unsupported expectation" "$T/front.err"

# curl waits for a 100 even over HTTP/1.0 when told to send Expect: one second here, as
# the front (rightly) sends none and would end the wait for the body at header_ms (408).
"${C[@]}" -0 --expect100-timeout 1 -X PATCH "${J[@]}" "${E[@]}" --data-binary @"$T/staged.json" "$U$S" >"$T/w"
check "HTTP/1.0 with 100-continue: the expectation is ignored (no 100), 200" eval 'no_100 && final_is 200'

# ---- absolute-form targets ----
"${C[@]}" --request-target "https://localhost:$FP/x-nmos/node/v1.3/self?x=1" "$U/" >"$T/w"
check "absolute-form GET through the front -> 200" final_is 200
check "B-21 HSTS on it" head_has '^Strict-Transport-Security: max-age=31536000'
check "the backend got the origin-form target and the authority as X-Forwarded-Host" \
  last_request "r['path'] == '/x-nmos/node/v1.3/self?x=1' and h['x-forwarded-host'] == 'localhost:$FP' and h['host'] == '127.0.0.1:$BP'"
"${C[@]}" -H 'Host: elsewhere.example' --request-target "https://localhost:$FP/x-nmos/node/v1.3/self" "$U/" >"$T/w"
check "absolute-form with a Host line that differs: the authority wins (RFC 9112 §3.2.2)" \
  eval "final_is 200 && last_request \"h['x-forwarded-host'] == 'localhost:$FP'\""
"${C[@]}" -X DELETE --request-target "https://localhost:$FP/x-nmos/node/v1.3/self" "$U/" >"$T/w"
check "B-22 absolute-form DELETE on Node API self -> 405 + Allow: GET, HEAD from the front" \
  eval 'final_is 405 && head_has "^Allow: GET, HEAD"'
before=$(wc -l <"$T/backend.log")
"${C[@]}" --request-target "http://localhost:$FP/x-nmos/node/v1.3/self" "$U/" >"$T/w"
check "B-20 absolute-form with http: -> 400 from the front, with its reason" \
  eval 'final_is 400 && grep -q "request target scheme is not https" "$T/body"'
check "... the backend never saw it" test "$(wc -l <"$T/backend.log")" = "$before"
finish
