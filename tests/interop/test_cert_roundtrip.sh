#!/usr/bin/env bash
# castgate cert end to end (BCP-003-01 B-10..B-14): ca init -> issue both ->
# install into a store -> castgate serve --cert-store -> openssl s_client sees
# the right certificate per signature algorithm with a good staple from
# castgate cert ocsp; revoke -> after a reload the staple says revoked and
# castgate connect refuses (CG_EREVOKED); openssl verify -crl_check agrees
# with the CRL; trust add/remove drive castgate connect --ca-dir.
. "$(dirname "$0")/lib.sh"

OCSP=$(free_port); PORT=$(free_port)
CA=$T/ca; L=$T/leaf; S=$T/store
"$CASTGATE" cert ca init --dir "$CA" --name Roundtrip --ocsp-url "http://127.0.0.1:$OCSP/" \
  --crl-url "http://127.0.0.1:$OCSP/crl.pem" >/dev/null 2>"$T/init.err"
check "ca init: root, intermediate, database" bash -c "[ -s '$CA/root.pem' ] && [ -s '$CA/intermediate.pem' ] && [ -f '$CA/index.txt' ]"
check "ca init: CA keys are mode 0600" bash -c "[ \$(stat -c %a '$CA/root.key') = 600 ] && [ \$(stat -c %a '$CA/intermediate.key') = 600 ]"
"$CASTGATE" cert issue --ca "$CA" --host localhost --host mos.localhost --type both --out "$L" >"$T/issue.out" 2>&1
check "issue --type both: RSA and ECDSA leaves with chains" bash -c "[ -s '$L/server-rsa.chain.pem' ] && [ -s '$L/server-ecdsa.chain.pem' ] && [ \$(stat -c %a '$L/server-rsa.key') = 600 ]"
openssl x509 -in "$L/server-rsa.pem" -noout -ext subjectAltName,authorityInfoAccess,crlDistributionPoints -subject >"$T/x509.txt" 2>&1
check "B-11 SAN holds every name, CN the first" bash -c "grep -q 'DNS:localhost, DNS:mos.localhost' '$T/x509.txt' && grep -q 'CN *= *localhost' '$T/x509.txt'"
check "B-12 AIA OCSP and CRL distribution point recorded" bash -c "grep -q 'OCSP - URI:http://127.0.0.1:$OCSP/' '$T/x509.txt' && grep -q 'URI:http://127.0.0.1:$OCSP/crl.pem' '$T/x509.txt'"
check "openssl verify accepts both leaves" bash -c "openssl verify -CAfile '$CA/root.pem' -untrusted '$CA/intermediate.pem' '$L/server-rsa.pem' '$L/server-ecdsa.pem' >/dev/null"
check "index.txt has two valid rows (openssl ca format)" bash -c "[ \$(grep -c \$'^V\t' '$CA/index.txt') = 2 ]"

for t in rsa ecdsa; do
  "$CASTGATE" cert install --store "$S" --ca "$CA/root.pem" --host localhost "$L/server-$t.pem" "$L/server-$t.key" "$CA/intermediate.pem" >"$T/install-$t.out" 2>&1
  check "install $t into the store" bash -c "[ -s '$S/$t.chain.pem' ] && [ \$(stat -c %a '$S/$t.key') = 600 ]"
done
"$CASTGATE" cert list --store "$S" >"$T/list.out" 2>&1
check "cert list shows both" bash -c "grep -q 'RSA-2048' '$T/list.out' && grep -q 'ECDSA prime256v1' '$T/list.out'"

"$CASTGATE" cert ocsp --ca "$CA" --listen "127.0.0.1:$OCSP" >"$T/ocsp.out" 2>"$T/ocsp.err" &
PIDS+=($!)
wait_port "$OCSP"
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --cert-store "$S"
for i in $(seq 100); do [ "$(grep -c 'OCSP status good' "$T/serve.log")" -ge 2 ] && break; sleep 0.1; done

sc() {
  timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost \
    -CAfile "$CA/root.pem" -verify_hostname localhost -status "$@" </dev/null >"$T/sc.txt" 2>&1
}
has() { grep -q -- "$1" "$T/sc.txt"; }
sc -tls1_3 -sigalgs 'ECDSA+SHA256'
check "B-13 ECDSA-only client gets the ECDSA leaf, verified with the root" bash -c "grep -q 'Server public key is 256 bit' '$T/sc.txt' && grep -q 'Verify return code: 0 (ok)' '$T/sc.txt'"
check "B-12 ECDSA leaf: good staple from castgate cert ocsp" bash -c "grep -q 'OCSP Response Status: successful' '$T/sc.txt' && grep -q 'Cert Status: good' '$T/sc.txt'"
sc -tls1_3 -sigalgs 'rsa_pss_rsae_sha256:RSA+SHA256'
check "B-13 RSA-only client gets the RSA leaf, verified with the root" bash -c "grep -q 'Server public key is 2048 bit' '$T/sc.txt' && grep -q 'Verify return code: 0 (ok)' '$T/sc.txt'"
check "B-12 RSA leaf: good staple" has 'Cert Status: good'

conn() { timeout 20 "$CASTGATE" connect "wss://localhost:$PORT/mos/Communication" "$@" >"$T/conn.out" 2>"$T/conn.err"; }
conn --ca "$CA/root.pem"
check "castgate connect accepts the good server" grep -q '"code":1000' "$T/conn.out"

# B-14: the trust store drives the client; removing the root stops it.
"$CASTGATE" trust add --store "$T/trust" "$CA/root.pem" >/dev/null 2>&1
check "trust add makes a hashed directory" bash -c "ls '$T/trust' | grep -qE '^[0-9a-f]{8}\.0$'"
conn --ca-dir "$T/trust"
check "castgate connect --ca-dir trusts the added root" grep -q '"code":1000' "$T/conn.out"
"$CASTGATE" trust list --store "$T/trust" >"$T/tl.out" 2>&1
check "trust list names the root" grep -q 'Roundtrip Root CA' "$T/tl.out"
"$CASTGATE" trust remove --store "$T/trust" "$CA/root.pem" >/dev/null 2>&1
conn --ca-dir "$T/trust"
check "B-14 after trust remove the server is refused" grep -q 'CG_EUNTRUSTED' "$T/conn.out"

# B-12: revoke both leaves; a reload fetches fresh staples.
"$CASTGATE" cert revoke --ca "$CA" "$L/server-ecdsa.pem" >/dev/null 2>&1
SERIAL=$(openssl x509 -in "$L/server-rsa.pem" -noout -serial | cut -d= -f2)
"$CASTGATE" cert revoke --ca "$CA" "$SERIAL" >/dev/null 2>&1
check "revoke by file and by serial: two R rows" bash -c "[ \$(grep -c \$'^R\t' '$CA/index.txt') = 2 ]"
kill -HUP "$SERVE_PID"
for i in $(seq 100); do [ "$(grep -c 'REVOKED per OCSP' "$T/serve.log")" -ge 2 ] && break; sleep 0.1; done
sc -tls1_3 -sigalgs 'ECDSA+SHA256'
check "B-12 after revoke + reload the ECDSA staple says revoked" has 'Cert Status: revoked'
sc -tls1_3 -sigalgs 'rsa_pss_rsae_sha256:RSA+SHA256'
check "B-12 the RSA staple says revoked" has 'Cert Status: revoked'
conn --ca "$CA/root.pem"
check "B-14 castgate connect refuses the revoked server (CG_EREVOKED)" grep -q 'CG_EREVOKED' "$T/conn.out"

"$CASTGATE" cert crl --ca "$CA" >/dev/null 2>&1
"$CASTGATE" cert issue --ca "$CA" --host fresh.localhost --type ecdsa --out "$T/fresh" >/dev/null 2>&1
vcrl() { openssl verify -crl_check -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" -CRLfile "$CA/crl.pem" "$1" >"$T/v.txt" 2>&1; }
curl -s -o "$T/crl.der" -w '%{http_code} %{content_type}\n' "http://127.0.0.1:$OCSP/crl.pem" >"$T/crl.http"
check "B-12 the CRL distribution point URL serves the CRL (DER, application/pkix-crl)" bash -c "grep -q '^200 application/pkix-crl' '$T/crl.http' && openssl crl -inform DER -in '$T/crl.der' -noout -text | grep -q 'Serial Number: $SERIAL'"
vcrl "$L/server-rsa.pem"
check "openssl verify -crl_check: the revoked leaf is revoked per the CRL" grep -q 'certificate revoked' "$T/v.txt"
vcrl "$T/fresh/server-ecdsa.pem"
check "openssl verify -crl_check: an unrevoked leaf passes" grep -q ': OK' "$T/v.txt"
openssl ocsp -issuer "$CA/intermediate.pem" -cert "$T/fresh/server-ecdsa.pem" -cert "$L/server-rsa.pem" \
  -url "http://127.0.0.1:$OCSP/" -CAfile "$CA/root.pem" >"$T/oc.txt" 2>&1
check "openssl ocsp against castgate cert ocsp: good and revoked, verified" bash -c "grep -q 'Response verify OK' '$T/oc.txt' && grep -q 'server-ecdsa.pem: good' '$T/oc.txt' && grep -q 'server-rsa.pem: revoked' '$T/oc.txt'"
openssl ocsp -index "$CA/index.txt" -CA "$CA/intermediate.pem" -rsigner "$CA/intermediate.pem" -rkey "$CA/intermediate.key" \
  -issuer "$CA/intermediate.pem" -cert "$L/server-rsa.pem" -cert "$T/fresh/server-ecdsa.pem" -no_nonce -respout "$T/oi.der" >/dev/null 2>&1
openssl ocsp -respin "$T/oi.der" -CAfile "$CA/root.pem" -issuer "$CA/intermediate.pem" \
  -cert "$L/server-rsa.pem" -cert "$T/fresh/server-ecdsa.pem" >"$T/oi.txt" 2>&1
check "openssl ocsp -index reads castgate's database the same way" bash -c "grep -q 'server-rsa.pem: revoked' '$T/oi.txt' && grep -q 'server-ecdsa.pem: good' '$T/oi.txt'"

# A delegated OCSP signer (RFC 6960 4.2.2.2) answering for the same CA.
DOCSP=$(free_port)
"$CASTGATE" cert ocsp-signer --ca "$CA" --out "$T/signer" >/dev/null 2>&1
"$CASTGATE" cert ocsp --ca "$CA" --listen "127.0.0.1:$DOCSP" --signer "$T/signer/ocsp-signer.pem" \
  --signer-key "$T/signer/ocsp-signer.key" >/dev/null 2>"$T/docsp.err" &
PIDS+=($!)
wait_port "$DOCSP"
openssl ocsp -issuer "$CA/intermediate.pem" -cert "$T/fresh/server-ecdsa.pem" -cert "$L/server-rsa.pem" \
  -url "http://127.0.0.1:$DOCSP/" -CAfile "$CA/root.pem" -verify_other "$CA/intermediate.pem" >"$T/od.txt" 2>&1
check "delegated OCSP signer: openssl ocsp verifies its answers" bash -c "grep -q 'Response verify OK' '$T/od.txt' && grep -q 'server-ecdsa.pem: good' '$T/od.txt' && grep -q 'server-rsa.pem: revoked' '$T/od.txt'"
check "delegated OCSP signer named in the response" bash -c "openssl ocsp -issuer '$CA/intermediate.pem' -cert '$L/server-rsa.pem' -url 'http://127.0.0.1:$DOCSP/' -noverify -resp_text 2>/dev/null | grep -q 'Responder Id: CN = Roundtrip OCSP Signer'"

"$CASTGATE" cert --help >"$T/help.txt"
check "cert --help documents every command" bash -c "for c in 'ca init' issue revoke crl ocsp install list; do grep -q \"  \$c\" '$T/help.txt' || exit 1; done"
"$CASTGATE" trust --help >"$T/help.txt"
check "trust --help documents add/remove/list/pin" bash -c "for c in add remove list pin; do grep -q \"  \$c \" '$T/help.txt' || exit 1; done"

stop_pid "$SERVE_PID"
check "castgate serve exits cleanly (no leaks)" test $? -eq 0
finish
