#!/usr/bin/env bash
# BCP-003-01 TLS behaviour seen by `openssl s_client` against `castgate serve`:
# old protocols refused (B-02), server order wins (B-03, B-04, B-05), the
# certificate follows the client's signature algorithms (B-13), OCSP staples
# good and revoked (B-12), insecure key files refused (B-13).
. "$(dirname "$0")/lib.sh"

OCSP=$(free_port); PORT=$(free_port); RPORT=$(free_port)
make_pki "$T/pki" "$OCSP"
P=$T/pki
start_ocsp "$P" "$OCSP"
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" \
  --cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key" \
  --cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key"
start_serve "$T/revoked.log" --listen "127.0.0.1:$RPORT" \
  --cert "$P/revoked-rsa.chain.pem" --key "$P/revoked-rsa.key"
for i in $(seq 50); do grep -q 'ECDSA leaf: OCSP status good' "$T/serve.log" && grep -q 'OCSP status revoked' "$T/revoked.log" && break; sleep 0.1; done

# sc PORT ARGS...: one handshake; output in $T/sc.txt
sc() {
  local port=$1; shift
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
    -CAfile "$P/root-ca.pem" -verify_hostname localhost "$@" </dev/null >"$T/sc.txt" 2>&1
}
has() { grep -q -- "$1" "$T/sc.txt"; }
negotiated() { has "Cipher is $1" || has "Cipher    : $1"; }

sc "$PORT" -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
check "B-02 TLS 1.0 refused (alert protocol version)" bash -c "grep -q 'Cipher is (NONE)' '$T/sc.txt' && grep -q 'alert protocol version' '$T/sc.txt'"
sc "$PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
check "B-02 TLS 1.1 refused (alert protocol version)" bash -c "grep -q 'Cipher is (NONE)' '$T/sc.txt' && grep -q 'alert protocol version' '$T/sc.txt'"

sc "$PORT" -tls1_3 -ciphersuites 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256'
check "B-03/B-05 TLS 1.3: server order wins (AES-128-GCM first)" negotiated TLS_AES_128_GCM_SHA256
sc "$PORT" -tls1_3 -ciphersuites 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384'
check "B-03 TLS 1.3: then AES-256-GCM before ChaCha20" negotiated TLS_AES_256_GCM_SHA384
sc "$PORT" -tls1_2 -cipher 'ECDHE-RSA-AES256-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256'
check "B-04/B-05 TLS 1.2 RSA: server order wins (ECDHE-RSA-AES128-GCM)" negotiated ECDHE-RSA-AES128-GCM-SHA256
sc "$PORT" -tls1_2 -cipher 'ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256'
check "B-04/B-05 TLS 1.2: ECDSA suites first in server order" negotiated ECDHE-ECDSA-AES128-GCM-SHA256
sc "$PORT" -tls1_2 -cipher 'DHE-RSA-AES256-SHA256'
check "B-04 TLS 1.2: DHE suites work (DH parameters present)" negotiated DHE-RSA-AES256-SHA256
sc "$PORT" -tls1_2 -cipher 'AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:ECDHE-RSA-CHACHA20-POLY1305'
# Refused by the server: s_client connected, the server answered with a
# handshake_failure alert (40), and no suite was agreed. A client that never
# connected (or got no alert) does not count as a refusal.
check "B-04 TLS 1.2: suites outside the list refused (connected, alert 40, no suite)" bash -c \
  "grep -q '^CONNECTED(' '$T/sc.txt' && grep -q 'alert handshake failure' '$T/sc.txt' && grep -q 'Cipher is (NONE)' '$T/sc.txt' && ! grep -qE 'Cipher is [A-Z]' '$T/sc.txt'"

sc "$PORT" -tls1_3 -sigalgs 'ECDSA+SHA256'
check "B-13 ECDSA-only client gets the ECDSA certificate" bash -c "grep -q 'Server public key is 256 bit' '$T/sc.txt' && grep -q 'Verify return code: 0' '$T/sc.txt'"
sc "$PORT" -tls1_3 -sigalgs 'rsa_pss_rsae_sha256:RSA+SHA256'
check "B-13 RSA-only client gets the RSA certificate" bash -c "grep -q 'Server public key is 2048 bit' '$T/sc.txt' && grep -q 'Verify return code: 0' '$T/sc.txt'"
sc "$PORT" -tls1_2 -cipher 'ECDHE-RSA-AES128-GCM-SHA256'
check "B-13 TLS 1.2 RSA suite gets the RSA certificate" has 'Server public key is 2048 bit'
check "B-10 chain verifies to the root" has 'Verify return code: 0 (ok)'

sc "$PORT" -tls1_3 -status -sigalgs 'ECDSA+SHA256'
check "B-12 ECDSA leaf: a good OCSP staple" bash -c "grep -q 'OCSP Response Status: successful' '$T/sc.txt' && grep -q 'Cert Status: good' '$T/sc.txt'"
sc "$PORT" -tls1_2 -status -cipher 'ECDHE-RSA-AES128-GCM-SHA256'
check "B-12 RSA leaf: a good OCSP staple" bash -c "grep -q 'Cert Status: good' '$T/sc.txt'"
sc "$RPORT" -status
check "B-12 revoked leaf: the staple says revoked" has 'Cert Status: revoked'

sc "$PORT" -tls1_3 -comp
check "B-06 no compression" has 'Compression: NONE'

# B-13: a private key readable by others is refused, naming the file.
cp "$P/server-ecdsa.key" "$T/loose.key"; chmod 0644 "$T/loose.key"
"$CASTGATE" serve --listen "127.0.0.1:$(free_port)" --cert "$P/server-ecdsa.chain.pem" \
  --key "$T/loose.key" >"$T/loose.out" 2>"$T/loose.err"
rc=$?
check "B-13 group/world-readable key refused at start" bash -c "[ $rc -ne 0 ] && grep -q 'loose.key' '$T/loose.err'"
finish
