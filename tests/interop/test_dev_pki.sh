#!/usr/bin/env bash
# scripts/dev-pki.sh and scripts/ocsp-responder.sh checked with the openssl CLI
# (BCP-003-01 B-10..B-14): chains verify, the negative set fails for the right
# reason, keys are 0600, SAN/AIA/CRL are as promised (no IP SAN, B-11), the
# script is idempotent, and the responder answers good/revoked (B-12).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/cg-devpki-XXXXXX)
RESP=
cleanup() {
  if [ -n "$RESP" ]; then kill -9 "$RESP" 2>/dev/null || true; wait "$RESP" 2>/dev/null || true; fi
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
D="$T/pki"
bash "$here/scripts/dev-pki.sh" --dir "$D" --host gw1.example.test --ocsp-port "$PORT" > "$T/out1"
grep -q "made $D" "$T/out1" || fail "no summary"
bash "$here/scripts/dev-pki.sh" --dir "$D" --host gw1.example.test --ocsp-port "$PORT" > "$T/out2"
grep -q "nothing to do" "$T/out2" || fail "second run was not a no-op"
ok "made once, second run a no-op"

for k in "$D"/*.key; do
  [ "$(stat -c %a "$k")" = 600 ] || fail "$k is $(stat -c %a "$k")"
done
ok "every key is mode 0600"

# Outputs are captured before grep -q so an early grep exit cannot SIGPIPE the producer.
v() { openssl verify -CAfile "$D/root-ca.pem" -untrusted "$D/intermediate.pem" "$@" 2>&1 || true; }
has() { grep -q -- "$1" <<<"$2"; }
for c in server-rsa server-ecdsa revoked-rsa wronghost-rsa; do
  has ": OK" "$(v "$D/$c.pem")" || fail "$c does not verify"
done
has ": OK" "$(v -verify_hostname gw1.example.test "$D/server-rsa.pem")" || fail "host"
has "hostname mismatch" "$(v -verify_hostname gw1.example.test "$D/wronghost-rsa.pem")" || fail "wronghost"
has "certificate has expired" "$(v "$D/expired-rsa.pem")" || fail "expired"
has "unable to get local issuer" "$(v "$D/untrusted-leaf.pem")" || fail "untrusted"
has "unable to get local issuer" "$(v "$D/lookalike-leaf.pem")" || fail "lookalike"
has "error" "$(v -untrusted "$D/lookalike-root.pem" "$D/lookalike-leaf.pem")" || fail "lookalike+root"
has "self-signed" "$(v "$D/selfsigned.pem")" || fail "selfsigned"
[ "$(openssl x509 -noout -subject -in "$D/lookalike-root.pem")" = \
  "$(openssl x509 -noout -subject -in "$D/root-ca.pem")" ] || fail "look-alike DN differs"
ok "chains verify; expired, wrong host, untrusted, look-alike, self-signed fail as they should"

ext=$(openssl x509 -noout -ext subjectAltName,authorityInfoAccess,crlDistributionPoints \
      -in "$D/server-ecdsa.pem")
has "DNS:gw1.example.test" "$ext" || fail "SAN"
! has "IP Address" "$ext" || fail "IP SAN present (B-11)"
has "OCSP - URI:http://127.0.0.1:$PORT" "$ext" || fail "AIA"
has "URI:http://127.0.0.1:$PORT/crl.pem" "$ext" || fail "CRL DP"
has "ASN1 OID: prime256v1" "$(openssl x509 -noout -text -in "$D/server-ecdsa.pem")" || fail "P-256"
has "(2048 bit)" "$(openssl x509 -noout -text -in "$D/server-rsa.pem")" || fail "RSA-2048"
[ "$(openssl crl -in "$D/crl.pem" -noout -text | grep -c "Serial Number")" = 1 ] || fail "CRL"
[ "$(grep -c "BEGIN CERT" "$D/server-rsa.chain.pem")" = 2 ] || fail "chain file"
ok "SAN without IP, OCSP AIA, CRL DP, key types, CRL lists the revoked leaf"

# Issue 12 item 19: as `castgate cert` makes them: random serials of at least
# 16 bytes (testssl flags short ones as low entropy), and an ECDSA leaf that
# only signs (keyEncipherment is an RSA key-transport use, RFC 5480 §3).
for c in "$D"/*.pem; do
  case $(basename "$c") in crl.pem|*.chain.pem|ca-chain.pem) continue ;; esac
  grep -q "BEGIN CERTIFICATE" "$c" || continue
  serial=$(openssl x509 -noout -serial -in "$c"); serial=${serial#serial=}
  [ ${#serial} -ge 32 ] || fail "$(basename "$c") has a ${#serial}-hex-digit serial ($serial): fewer than 16 bytes"
done
ok "every certificate has a serial of at least 16 bytes"
ku() { openssl x509 -noout -ext keyUsage -in "$D/$1.pem" | tail -n +2 | tr -d ' '; }
[ "$(ku server-ecdsa)" = "DigitalSignature" ] || fail "ECDSA leaf key usage: $(ku server-ecdsa)"
[ "$(ku server-rsa)" = "DigitalSignature,KeyEncipherment" ] || fail "RSA leaf key usage: $(ku server-rsa)"
ok "ECDSA leaf: digitalSignature only; RSA leaf: digitalSignature, keyEncipherment"

bash "$here/scripts/ocsp-responder.sh" "$D" "$PORT" > "$T/ocsp.log" 2>&1 &
RESP=$!
for _ in $(seq 100); do
  [ -n "$(ss -Hltn "sport = :$PORT")" ] && break
  sleep 0.05
done
q() {
  openssl ocsp -issuer "$D/intermediate.pem" -cert "$D/$1.pem" -url "http://127.0.0.1:$PORT" \
    -CAfile "$D/root-ca.pem" -timeout 5 2>&1
}
good=$(q server-rsa); revoked=$(q revoked-rsa)
has "server-rsa.pem: good" "$good" || fail "good: $good"
has "revoked-rsa.pem: revoked" "$revoked" || fail "revoked: $revoked"
has "Response verify OK" "$revoked" || fail "response signature"
ok "OCSP responder: good, revoked, signed by the delegated responder"
