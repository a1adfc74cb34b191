#!/usr/bin/env bash
# Two answers of the HTTPS server seen by curl and openssl s_client against
# `castgate serve` on loopback:
# - OPTIONS * (RFC 9112 §3.2.4, RFC 9110 §9.3.7: the server as a whole) is
#   well formed, and no castgate API allows it: 405 with an empty Allow
#   (B-22), not 400. Another method with "*" is still 400.
# - A Host naming another host than the TLS SNI gets 421 Misdirected Request
#   (RFC 9110 §15.5.20), also on the WebSocket path and before 100 Continue;
#   case, port and a trailing dot (B-32) do not count, nor an address in
#   Host, nor a Host without SNI.
# Unit tests of the decisions: tests/unit/test_http_misdirected.c.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port); P=$T/pki
make_pki "$P" "$(free_port)"
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --no-ocsp \
  --cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key"
U="https://localhost:$PORT"
C=(curl -s -o "$T/body" -D "$T/head" --cacert "$P/root-ca.pem" --max-time 20)
status_is() { head -1 "$T/head" | grep -q " $1 "; }
got() { head -1 "$T/head" | tr -d '\r'; }

# ---- OPTIONS * ----
"${C[@]}" -X OPTIONS --request-target '*' "$U/"
check "OPTIONS * -> 405 (B-22), got '$(got)'" status_is 405
check "OPTIONS * -> an Allow line, empty (\"*\" allows no method)" grep -qix 'Allow: *' <(tr -d '\r' <"$T/head")
"${C[@]}" --request-target '*' "$U/"
check "GET * -> 400 (asterisk-form is for OPTIONS only), got '$(got)'" status_is 400

# ---- Host against SNI (curl sends SNI localhost: the URL's host) ----
"${C[@]}" "$U/status"
check "Host localhost:port, SNI localhost -> 200, got '$(got)'" status_is 200
"${C[@]}" -H "Host: LOCALHOST.:$PORT" "$U/status"
check "Host LOCALHOST.:port, SNI localhost -> 200, got '$(got)'" status_is 200
"${C[@]}" -H 'Host: other.example' "$U/status"
check "Host other.example, SNI localhost -> 421, got '$(got)'" status_is 421
"${C[@]}" -H 'Host: other.example' -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
  -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
  "$U/mos/Communication"
check "a WebSocket upgrade with Host other.example -> 421, got '$(got)'" status_is 421
printf 'hello castgate' >"$T/small"
"${C[@]}" -X POST -H 'Host: other.example' -H 'Expect: 100-continue' \
  -H 'Content-Type: text/plain' --data-binary @"$T/small" "$U/echo"
check "Expect: 100-continue with Host other.example -> 421 at once, no 100, got '$(got)'" \
  bash -c "status_is() { head -1 '$T/head' | grep -q \" \$1 \"; }; status_is 421 && ! grep -q ' 100 ' '$T/head'"

# s_client: any SNI, any Host; the first line of the answer
raw() { # raw SNI-OPTION HOST PATH
  printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$3" "$2" |
    timeout 20 openssl s_client -quiet -connect "127.0.0.1:$PORT" $1 2>/dev/null | head -1 | tr -d '\r'
}
r=$(raw "-servername other.example" localhost /status)
check "SNI other.example, Host localhost -> 421, got '$r'" grep -q ' 421 ' <<<"$r"
r=$(raw "-servername localhost" "127.0.0.1:$PORT" /status)
check "SNI localhost, Host 127.0.0.1:port (an address) -> 200, got '$r'" grep -q ' 200 ' <<<"$r"
r=$(raw "-servername localhost" "[::1]:$PORT" /status)
check "SNI localhost, Host [::1]:port (an address) -> 200, got '$r'" grep -q ' 200 ' <<<"$r"
r=$(raw "-noservername" other.example /status)
check "no SNI, Host other.example -> 200 (nothing to compare), got '$r'" grep -q ' 200 ' <<<"$r"
r=$(raw "-servername localhost" localhost.example /nothing)
check "SNI localhost, Host localhost.example on an unknown path -> 421 first, got '$r'" grep -q ' 421 ' <<<"$r"

# ---- the NMOS front (src/front) decides the same before anything reaches
# its backend (here a port nobody listens on: a request let through is 502
# or 504, never 421) ----
BP=$(free_port); FP=$(free_port)
cat >"$T/front.conf" <<CONF
[front]
listen = 127.0.0.1:$FP
cert = $P/server-rsa.chain.pem $P/server-rsa.key
backend = 127.0.0.1:$BP
public = localhost
ocsp = off
backend_timeout_ms = 2000
CONF
"$CASTGATE" front --config "$T/front.conf" >"$T/front.out" 2>"$T/front.err" &
PIDS+=($!)
for ((i = 0; i < 200; i++)); do grep -q 'listening on port' "$T/front.out" 2>/dev/null && break; sleep 0.05; done
check "the front listens" grep -q "listening on port $FP" "$T/front.out"
F="https://localhost:$FP/x-nmos/node/v1.3/self"
"${C[@]}" -H 'Host: other.example' "$F"
check "front: Host other.example, SNI localhost -> 421, got '$(got)'" status_is 421
"${C[@]}" "$F"
check "front: Host localhost:port, SNI localhost -> passed on (not 421), got '$(got)'" \
  bash -c "head -1 '$T/head' | grep -q ' 50[234] '"
"${C[@]}" -X OPTIONS --request-target '*' "https://localhost:$FP/"
check "front: OPTIONS * -> 405 (B-22), got '$(got)'" status_is 405

# ---- castgate's own client with cert_name (include/castgate/client.h): a
# peer reached by an alias (localhost) whose certificate names another host
# (other.example, sent as SNI): Host follows cert_name, so no 421 ----
PORT2=$(free_port)
"$CASTGATE" serve --listen "127.0.0.1:$PORT2" --no-ocsp \
  --cert "$P/wronghost-rsa.chain.pem" --key "$P/wronghost-rsa.key" >"$T/serve2.out" 2>"$T/serve2.log" &
PIDS+=($!)
for ((i = 0; i < 200; i++)); do grep -q 'listening on port' "$T/serve2.out" 2>/dev/null && break; sleep 0.05; done
"$CASTGATE" connect "wss://localhost:$PORT2/mos/Communication" --ca "$P/root-ca.pem" \
  --cert-name other.example --send hello --expect 1 >"$T/named.json" 2>"$T/named.err"
check "castgate connect --cert-name other.example to localhost: open and echoed, not 421" \
  grep -q '"data":"hello"' "$T/named.json"
check "... and the server refused nothing" bash -c "! grep -q 'rejected 421' '$T/serve2.log'"

# ---- B-24: logged ----
check "B-24 the 405 for OPTIONS * is logged" grep -q 'rejected 405: OPTIONS \*: ' "$T/serve.log"
check "B-24 the 421 is logged with both names" \
  grep -qE 'rejected 421: GET /status: .*other\.example.*localhost' "$T/serve.log"
finish
