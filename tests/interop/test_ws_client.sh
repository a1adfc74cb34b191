#!/usr/bin/env bash
# The wss client (`castgate connect`, cg_ws_connect) against castgate serve
# and openssl s_server: B-30 (wss only), B-31 (nothing sent after a failed
# check), B-32 (trailing dot), B-14 (trust store), B-12 (revoked staple),
# M-05 (Basic credentials in the header, never the URL), M-06 (self-signed
# refused by default, accepted by option or by pin).
. "$(dirname "$0")/lib.sh"

OCSP=$(free_port); PORT=$(free_port); RPORT=$(free_port); P=$T/pki
make_pki "$P" "$OCSP"
start_ocsp "$P" "$OCSP"
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" \
  --cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key" \
  --cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key"
start_serve "$T/revoked.log" --listen "127.0.0.1:$RPORT" \
  --cert "$P/revoked-rsa.chain.pem" --key "$P/revoked-rsa.key"
for i in $(seq 50); do grep -q 'OCSP status revoked' "$T/revoked.log" && grep -q 'RSA leaf: OCSP status good' "$T/serve.log" && break; sleep 0.1; done

# cc NAME ARGS...: castgate connect; JSON in $T/NAME.json, log in $T/NAME.err
cc() { local n=$1; shift; "$CASTGATE" connect "$@" >"$T/$n.json" 2>"$T/$n.err"; echo $? >"$T/$n.rc"; }
closed_with() { grep -q "\"code\":$2,\"error\":\"$3\"" "$T/$1.json"; }

cc echo "wss://localhost:$PORT/mos/Communication" --ca "$P/root-ca.pem" --send one --send two --expect 2
check "echo through castgate serve, clean close" bash -c "grep -c '\"event\":\"message\"' '$T/echo.json' | grep -qx 2 && grep -q '\"code\":1000' '$T/echo.json' && [ \$(cat '$T/echo.rc') = 0 ]"
cc dot "wss://localhost.:$PORT/mos/Communication" --ca "$P/root-ca.pem" --send dot --expect 1
check "B-32 host name with the DNS-SD trailing dot accepted" grep -q '"data":"dot"' "$T/dot.json"
cc sys "wss://localhost:$PORT/mos/Communication"
check "B-14 a root not in the trust store: refused (1015, CG_EUNTRUSTED)" closed_with sys 1015 CG_EUNTRUSTED
cc revoked "wss://localhost:$RPORT/mos/Communication" --ca "$P/root-ca.pem"
check "B-12 revoked staple: refused (CG_EREVOKED)" closed_with revoked 1015 CG_EREVOKED
cc nopath "wss://localhost:$PORT/nothing" --ca "$P/root-ca.pem"
check "refused upgrade: HTTP status reported (404)" grep -q '"http_status":404' "$T/nopath.json"
cc ws "ws://localhost:$PORT/mos/Communication" --ca "$P/root-ca.pem"
check "B-30 ws:// refused before any connection" bash -c "[ \$(cat '$T/ws.rc') = 2 ] && grep -q 'B-30' '$T/ws.err'"
cc userinfo "wss://user:pw@localhost:$PORT/mos/Communication" --ca "$P/root-ca.pem"
check "M-05 credentials in the URL refused" bash -c "[ \$(cat '$T/userinfo.rc') = 2 ]"

# sserver NAME CERT KEY [ARGS]: a one-shot openssl s_server; what it receives goes to $T/NAME.srv
SPORT=
sserver() {
  local n=$1 cert=$2 key=$3; shift 3
  SPORT=$(free_port)
  # s_server ends a connection when its stdin ends: keep stdin open.
  sleep 30 | openssl s_server -accept "$SPORT" -naccept 1 -cert "$cert" -key "$key" "$@" \
    >"$T/$n.srv" 2>&1 &
  PIDS+=($!)
  wait_port "$SPORT"
}
for neg in expired-rsa:CG_EEXPIRED wronghost-rsa:CG_EHOSTNAME untrusted-leaf:CG_EUNTRUSTED lookalike-leaf:CG_EUNTRUSTED selfsigned:CG_ESELFSIGNED; do
  name=${neg%%:*}; err=${neg#*:}
  chain=()
  [ -f "$P/$name.chain.pem" ] && chain=(-cert_chain "$P/$name.chain.pem")
  sserver "$name" "$P/$name.pem" "$P/$name.key" "${chain[@]}"
  cc "c-$name" "wss://localhost:$SPORT/mos/Communication" --ca "$P/root-ca.pem" --timeout-ms 3000
  sleep 0.2
  check "B-31 $name refused ($err), and no byte of HTTP reached the server" \
    bash -c "grep -q '\"code\":1015,\"error\":\"$err\"' '$T/c-$name.json' && ! grep -q 'GET /' '$T/$name.srv'"
done

sserver ss "$P/selfsigned.pem" "$P/selfsigned.key"
cc c-ss "wss://localhost:$SPORT/mos/Communication" --ca "$P/root-ca.pem" --self-signed --timeout-ms 1500
sleep 0.2
check "M-06 self-signed accepted with --self-signed (the upgrade was sent)" grep -q 'GET /mos/Communication' "$T/ss.srv"
PIN=$(openssl x509 -in "$P/selfsigned.pem" -outform DER | sha256sum | cut -c1-64)
sserver pin "$P/selfsigned.pem" "$P/selfsigned.key"
cc c-pin "wss://localhost:$SPORT/mos/Communication" --ca "$P/root-ca.pem" --pin "$PIN" --timeout-ms 1500
sleep 0.2
check "M-06 self-signed accepted by its SHA-256 pin" grep -q 'GET /mos/Communication' "$T/pin.srv"
BADPIN=$(printf '%064d' 0)
sserver badpin "$P/selfsigned.pem" "$P/selfsigned.key"
cc c-badpin "wss://localhost:$SPORT/mos/Communication" --ca "$P/root-ca.pem" --pin "$BADPIN" --timeout-ms 1500
sleep 0.2
check "M-06 wrong pin refused, nothing sent" bash -c "grep -q '\"code\":1015' '$T/c-badpin.json' && ! grep -q 'GET /' '$T/badpin.srv'"

sserver insecure "$P/expired-rsa.pem" "$P/expired-rsa.key" -cert_chain "$P/expired-rsa.chain.pem"
cc c-insecure "wss://localhost:$SPORT/mos/Communication" --ca "$P/root-ca.pem" --insecure --timeout-ms 1500
sleep 0.2
check "B-31 --insecure goes on, and says so loudly" bash -c "grep -q 'GET /mos/Communication' '$T/insecure.srv' && grep -qi 'warn' '$T/c-insecure.err'"

printf 'pa:ss word\n' >"$T/pw"; chmod 600 "$T/pw"
sserver auth "$P/server-rsa.pem" "$P/server-rsa.key" -cert_chain "$P/server-rsa.chain.pem"
cc c-auth "wss://localhost:$SPORT/mos/Communication?mosID=m&ncsID=n&channel=ro" --ca "$P/root-ca.pem" \
  --user ncs --password-file "$T/pw" --timeout-ms 1500
sleep 0.2
check "M-05 Basic credentials in the Authorization header" \
  grep -q "Authorization: Basic $(printf 'ncs:pa:ss word' | base64)" "$T/auth.srv"
check "M-05 the query carries the IDs, never the credentials" \
  bash -c "grep -q 'GET /mos/Communication?mosID=m&ncsID=n&channel=ro HTTP/1.1' '$T/auth.srv' && ! grep -q 'pa:ss' '$T/c-auth.err'"

sserver old "$P/server-rsa.pem" "$P/server-rsa.key" -cert_chain "$P/server-rsa.chain.pem" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
cc c-old "wss://localhost:$SPORT/mos/Communication" --ca "$P/root-ca.pem" --timeout-ms 3000
check "B-02 client refuses a TLS 1.1-only server" grep -q '"code":1015' "$T/c-old.json"

start_serve "$T/nostaple.log" --listen "127.0.0.1:$(free_port)" --no-ocsp \
  --cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key"
NPORT=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$T/nostaple.log.out")
cc nostaple "wss://localhost:$NPORT/mos/Communication" --ca "$P/root-ca.pem" --require-staple
check "B-12 --require-staple refuses a server that staples nothing" grep -q '"code":1015' "$T/nostaple.json"
cc staple "wss://localhost:$PORT/mos/Communication" --ca "$P/root-ca.pem" --require-staple --send s --expect 1
check "B-12 --require-staple accepts a good staple" grep -q '"data":"s"' "$T/staple.json"
finish
