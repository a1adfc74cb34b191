#!/usr/bin/env bash
# Issue 20 item 4: a peer whose certificate names another host, trusted
# without going insecure: cert_name = NAME (checked instead of the URL's
# host; the chain or the pin and the dates are checked as always). A pin
# alone does not override the name. Without cert_name the connection is
# refused before any HTTP byte, so before the Authorization header leaves:
# openssl s_server logs what it received.
. "$(dirname "$0")/lib.sh"

P=$T/pki
make_pki "$P" "$(free_port)"
PORT=$(free_port)
# castgate serve with a certificate for other.example, reached as localhost
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --no-ocsp \
  --cert "$P/wronghost-rsa.chain.pem" --key "$P/wronghost-rsa.key"
cc() { local n=$1; shift; "$CASTGATE" connect "$@" >"$T/$n.json" 2>"$T/$n.err"; echo $? >"$T/$n.rc"; }
URL="wss://localhost:$PORT/mos/Communication"
cc plain "$URL" --ca "$P/root-ca.pem"
check "without cert_name: refused, the wrong host named (CG_EHOSTNAME)" \
  bash -c "grep -q '\"code\":1015,\"error\":\"CG_EHOSTNAME\"' '$T/plain.json' && grep -q 'it names other.example' '$T/plain.err'"
cc named "$URL" --ca "$P/root-ca.pem" --cert-name other.example --send hello --expect 1
check "with cert_name = other.example: open, echo, clean close" \
  bash -c "grep -q '\"data\":\"hello\"' '$T/named.json' && [ \$(cat '$T/named.rc') = 0 ]"
cc named_untrusted "$URL" --ca "$P/untrusted-root.pem" --cert-name other.example
check "cert_name relaxes nothing else: an untrusted chain is still refused" \
  grep -q '"error":"CG_EUNTRUSTED"' "$T/named_untrusted.json"
cc named_wrong "$URL" --ca "$P/root-ca.pem" --cert-name third.example
check "a cert_name the certificate does not carry is refused" grep -q '"error":"CG_EHOSTNAME"' "$T/named_wrong.json"
PIN=$(openssl x509 -in "$P/wronghost-rsa.pem" -outform DER | sha256sum | cut -c1-64)
cc pin_only "$URL" --ca "$P/untrusted-root.pem" --pin "$PIN"
check "a pin alone does not override the name (CG_EHOSTNAME)" grep -q '"error":"CG_EHOSTNAME"' "$T/pin_only.json"
cc pin_named "$URL" --ca "$P/untrusted-root.pem" --pin "$PIN" --cert-name other.example --send p --expect 1
check "pin + cert_name: accepted without the CA" grep -q '"data":"p"' "$T/pin_named.json"
cc bad_name "$URL" --cert-name 'bad name'
check "a malformed cert_name is refused at once" bash -c "[ \$(cat '$T/bad_name.rc') != 0 ] && grep -q \"bad value 'bad name'\" '$T/bad_name.err'"

# What the peer receives: nothing without cert_name, the upgrade with it.
printf 's3cret\n' >"$T/pw"; chmod 600 "$T/pw"
SPORT=
sserver() {
  local n=$1
  SPORT=$(free_port)
  sleep 30 | openssl s_server -accept "$SPORT" -naccept 1 -cert "$P/wronghost-rsa.pem" \
    -key "$P/wronghost-rsa.key" -cert_chain "$P/wronghost-rsa.chain.pem" >"$T/$n.srv" 2>&1 &
  PIDS+=($!)
  wait_port "$SPORT"
}
sserver refused
cc s_refused "wss://localhost:$SPORT/mos/Communication" --ca "$P/root-ca.pem" --user ncs \
  --password-file "$T/pw" --timeout-ms 3000
sleep 0.3
check "the s_server peer saw a TLS client (the handshake began)" grep -qi 'alert\|error\|ACCEPT' "$T/refused.srv"
check "without cert_name: no HTTP byte reached the peer" bash -c "! grep -q 'GET /' '$T/refused.srv'"
check "without cert_name: no Authorization header reached the peer" \
  bash -c "! grep -qi 'Authorization' '$T/refused.srv' && ! grep -q \"\$(printf 'ncs:s3cret' | base64)\" '$T/refused.srv'"
sserver accepted
cc s_accepted "wss://localhost:$SPORT/mos/Communication" --ca "$P/root-ca.pem" --user ncs \
  --password-file "$T/pw" --cert-name other.example --timeout-ms 1500
sleep 0.3
check "with cert_name: the upgrade and its Authorization header reached the peer (the check can see them)" \
  bash -c "grep -q 'GET /mos/Communication' '$T/accepted.srv' && grep -q \"Authorization: Basic \$(printf 'ncs:s3cret' | base64)\" '$T/accepted.srv'"

# The same through a MOS endpoint's [peer] cert_name (castgate mos serve as both sides).
DPORT=$(free_port)
cat >"$T/dev.conf" <<EOF2
[endpoint]
role = mos
id = DEV
listen = 127.0.0.1:$DPORT
auth = none  # no login on this test listener (M-05)
cert = $P/wronghost-rsa.chain.pem $P/wronghost-rsa.key
ocsp = no
[peer NCS]
channels = ro
EOF2
"$CASTGATE" mos serve --config "$T/dev.conf" >"$T/dev.out" 2>"$T/dev.err" &
PIDS+=($!); wait_port "$DPORT"
for variant in named plain; do
  name_line=""; [ $variant = named ] && name_line="cert_name = other.example"
  cat >"$T/ncs-$variant.conf" <<EOF2
[endpoint]
role = ncs
id = NCS
[peer DEV]
url = wss://localhost:$DPORT/mos/Communication
channels = ro
ca = $P/root-ca.pem
$name_line
EOF2
  "$CASTGATE" mos serve --config "$T/ncs-$variant.conf" >"$T/ncs-$variant.out" 2>"$T/ncs-$variant.err" &
  pid=$!; PIDS+=($pid)
  for i in $(seq 100); do
    grep -q 'DEV ro out: lane up\|connection closed (1015' "$T/ncs-$variant.err" && break; sleep 0.1
  done
  kill "$pid"; wait "$pid" 2>/dev/null
done
check "mos: [peer] cert_name = other.example: the lane comes up" grep -q 'DEV ro out: lane up' "$T/ncs-named.err"
check "mos: without it the lane is refused, saying the certificate does not name the host" \
  grep -q 'connection closed (1015, the certificate does not name the host)' "$T/ncs-plain.err"
finish
