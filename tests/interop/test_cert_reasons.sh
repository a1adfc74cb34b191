#!/usr/bin/env bash
# Issue 12 item 15: a refused peer certificate says why, not "certificate
# verification failed": expired, wrong host, untrusted, self-signed, revoked,
# pin mismatch. castgate connect against castgate serve / openssl s_server
# with the dev PKI's negative set; each refusal's code (JSON), text, and
# log line are checked, and nothing reached the peer (B-31).
. "$(dirname "$0")/lib.sh"

OCSP=$(free_port); RPORT=$(free_port); P=$T/pki
make_pki "$P" "$OCSP"
start_ocsp "$P" "$OCSP"
start_serve "$T/revoked.log" --listen "127.0.0.1:$RPORT" \
  --cert "$P/revoked-rsa.chain.pem" --key "$P/revoked-rsa.key"
for i in $(seq 100); do grep -q 'OCSP status revoked' "$T/revoked.log" && break; sleep 0.1; done
cc() { local n=$1; shift; "$CASTGATE" connect "$@" >"$T/$n.json" 2>"$T/$n.err"; echo $? >"$T/$n.rc"; }
SPORT=
sserver() { # sserver NAME CERT KEY [ARGS]: one-shot s_server; what it received in $T/NAME.srv
  local n=$1 cert=$2 key=$3; shift 3
  SPORT=$(free_port)
  sleep 30 | openssl s_server -accept "$SPORT" -naccept 1 -cert "$cert" -key "$key" "$@" >"$T/$n.srv" 2>&1 &
  PIDS+=($!)
  wait_port "$SPORT"
}
# reason NAME CODE TEXT LOGTEXT: the connection NAME was refused with CODE,
# the reason TEXT in the JSON, LOGTEXT in the log, and no HTTP byte sent.
reason() {
  local n=$1 code=$2 text=$3 logtext=$4
  check "$n: $code, \"$text\"" grep -q "\"code\":1015,\"error\":\"$code\",\"reason\":\"$text\"" "$T/c-$n.json"
  check "$n: the log says \"$logtext\"" grep -qF "$logtext" "$T/c-$n.err"
  check "$n: not \"certificate verification failed\"" bash -c "! grep -q 'certificate verification failed' '$T/c-$n.json' '$T/c-$n.err'"
  [ -f "$T/$n.srv" ] && check "$n: no HTTP byte reached the peer" bash -c "! grep -q 'GET /' '$T/$n.srv'"
}
one() { # one NAME LEAF [connect args]: an s_server with the dev PKI leaf, one connect
  local n=$1 leaf=$2; shift 2
  local chain=()
  [ -f "$P/$leaf.chain.pem" ] && chain=(-cert_chain "$P/$leaf.chain.pem")
  sserver "$n" "$P/$leaf.pem" "$P/$leaf.key" "${chain[@]}"
  cc "c-$n" "wss://localhost:$SPORT/mos/Communication" --timeout-ms 3000 "$@"
  sleep 0.2
}
one expired expired-rsa --ca "$P/root-ca.pem"
reason expired CG_EEXPIRED "expired or not yet valid" "localhost failed: expired or not yet valid (certificate has expired)"
one wronghost wronghost-rsa --ca "$P/root-ca.pem"
reason wronghost CG_EHOSTNAME "the certificate does not name the host" \
  "localhost failed: the certificate does not name the host (it names other.example)"
one untrusted untrusted-leaf --ca "$P/root-ca.pem"
reason untrusted CG_EUNTRUSTED "the certificate's issuer is not trusted" \
  "localhost failed: the certificate's issuer is not trusted"
one lookalike lookalike-leaf --ca "$P/root-ca.pem"
reason lookalike CG_EUNTRUSTED "the certificate's issuer is not trusted" \
  "localhost failed: the certificate's issuer is not trusted"
one selfsigned selfsigned --ca "$P/root-ca.pem"
reason selfsigned CG_ESELFSIGNED "self-signed certificate" "localhost failed: self-signed certificate"
BADPIN=$(printf '%064d' 0)
one pin_selfsigned selfsigned --ca "$P/root-ca.pem" --pin "$BADPIN"
reason pin_selfsigned CG_EPIN "the certificate does not match the pin" \
  "the certificate does not match the pin (its SHA-256 is not the configured pin)"
one pin_valid server-rsa --ca "$P/root-ca.pem" --pin "$BADPIN"
reason pin_valid CG_EPIN "the certificate does not match the pin" \
  "the certificate does not match the pin (its SHA-256 is not the configured pin)"
cc c-revoked "wss://localhost:$RPORT/mos/Communication" --ca "$P/root-ca.pem" --timeout-ms 3000
reason revoked CG_EREVOKED "certificate revoked" "localhost failed: certificate revoked"
finish
