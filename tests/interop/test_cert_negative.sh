#!/usr/bin/env bash
# castgate cert negative matrix: every refusal names its problem (B-11, B-13).
. "$(dirname "$0")/lib.sh"

CA=$T/ca; L=$T/leaf; S=$T/store
"$CASTGATE" cert ca init --dir "$CA" >/dev/null 2>&1
"$CASTGATE" cert issue --ca "$CA" --host localhost --type both --out "$L" >/dev/null 2>&1

# refused NAME PATTERN COMMAND...: the command fails and its output matches PATTERN.
refused() {
  local n=$1 pat=$2; shift 2
  if "$@" >"$T/out.txt" 2>&1; then bad "$n" "accepted"; return; fi
  if grep -qiE -- "$pat" "$T/out.txt"; then ok "$n"; else bad "$n" "$(tail -2 "$T/out.txt" | tr '\n' ' ')"; fi
}
install() { "$CASTGATE" cert install --store "$S" --ca "$CA/root.pem" "$@"; }

refused "B-11 wildcard refused, saying why" 'wildcard certificates should not be used' \
  "$CASTGATE" cert issue --ca "$CA" --host '*.example.com' --type rsa --out "$T/w"
refused "B-11 IP SAN refused, saying why" 'IP addresses should not be used' \
  "$CASTGATE" cert issue --ca "$CA" --host localhost --host 192.0.2.7 --type ecdsa --out "$T/ip"
"$CASTGATE" cert issue --ca "$CA" --host '*.example.com' --allow-wildcard --type ecdsa --out "$T/w2" >/dev/null 2>&1
check "--allow-wildcard issues it anyway" bash -c "openssl x509 -in '$T/w2/server-ecdsa.pem' -noout -ext subjectAltName | grep -q 'DNS:\*.example.com'"
"$CASTGATE" cert issue --ca "$CA" --host 192.0.2.7 --allow-ip --type ecdsa --out "$T/ip2" >/dev/null 2>&1
check "--allow-ip issues an IP SAN" bash -c "openssl x509 -in '$T/ip2/server-ecdsa.pem' -noout -ext subjectAltName | grep -q 'IP Address:192.0.2.7'"
refused "malformed host name refused" 'not a valid DNS name' \
  "$CASTGATE" cert issue --ca "$CA" --host 'bad_name!' --type rsa --out "$T/bad"

refused "B-13 mismatched key refused" 'does not match' \
  install "$L/server-rsa.pem" "$L/server-ecdsa.key" "$CA/intermediate.pem"
"$CASTGATE" cert issue --ca "$CA" --host localhost --type ecdsa --not-before-days -30 --days 10 --out "$T/old" >/dev/null 2>&1
refused "expired certificate refused" 'has expired' \
  install "$T/old/server-ecdsa.pem" "$T/old/server-ecdsa.key" "$CA/intermediate.pem"
"$CASTGATE" cert issue --ca "$CA" --host localhost --type ecdsa --not-before-days 5 --out "$T/future" >/dev/null 2>&1
refused "not-yet-valid certificate refused" 'not yet valid' \
  install "$T/future/server-ecdsa.pem" "$T/future/server-ecdsa.key" "$CA/intermediate.pem"
refused "incomplete chain refused" 'incomplete chain' \
  install "$L/server-ecdsa.pem" "$L/server-ecdsa.key"
cp "$L/server-ecdsa.key" "$T/loose.key"; chmod 0644 "$T/loose.key"
refused "B-13 world-readable key refused" 'loose.key is readable or writable by group/others' \
  install "$L/server-ecdsa.pem" "$T/loose.key" "$CA/intermediate.pem"
refused "host not in the SAN refused" "does not name host 'other.example'" \
  install --host other.example "$L/server-ecdsa.pem" "$L/server-ecdsa.key" "$CA/intermediate.pem"
"$CASTGATE" cert ca init --dir "$T/other" >/dev/null 2>&1
refused "chain to an untrusted root refused" 'chain does not verify' \
  "$CASTGATE" cert install --store "$S" --ca "$T/other/root.pem" "$L/server-ecdsa.pem" "$L/server-ecdsa.key" "$CA/intermediate.pem"
check "nothing was installed by the refusals" bash -c "[ ! -e '$S/ecdsa.chain.pem' ] && [ ! -e '$S/rsa.chain.pem' ]"

echo 'correct horse' >"$T/pass"; echo 'wrong horse' >"$T/wrong"
"$CASTGATE" cert ca init --dir "$T/enc" --key rsa --passphrase-file "$T/pass" >/dev/null 2>&1
check "encrypted CA keys are PKCS#8 encrypted, mode 0600" bash -c "grep -q 'BEGIN ENCRYPTED PRIVATE KEY' '$T/enc/intermediate.key' && [ \$(stat -c %a '$T/enc/intermediate.key') = 600 ]"
check "RSA CA is RSA-3072" bash -c "openssl x509 -in '$T/enc/root.pem' -noout -text | grep -q 'Public-Key: (3072 bit)'"
refused "wrong passphrase refused" 'wrong passphrase' \
  "$CASTGATE" cert issue --ca "$T/enc" --passphrase-file "$T/wrong" --host localhost --type ecdsa --out "$T/e1"
refused "missing passphrase refused" 'no passphrase given' \
  "$CASTGATE" cert issue --ca "$T/enc" --host localhost --type ecdsa --out "$T/e2"
"$CASTGATE" cert issue --ca "$T/enc" --passphrase-file "$T/pass" --host localhost --type rsa --out "$T/e3" >/dev/null 2>&1
check "the right passphrase issues" test -s "$T/e3/server-rsa.chain.pem"
refused "ca init refuses to overwrite a CA" 'holds a CA already' "$CASTGATE" cert ca init --dir "$CA"
refused "revoking an unknown serial refused" 'was not issued by this CA' "$CASTGATE" cert revoke --ca "$CA" 0x1234
refused "OCSP/CRL URLs must be http" 'must be http' "$CASTGATE" cert ca init --dir "$T/u" --ocsp-url https://x/
refused "trust add refuses a leaf" 'not a CA certificate' "$CASTGATE" trust add --store "$T/tr" "$L/server-rsa.pem"
refused "trust pin refuses a malformed fingerprint" '64 hex digits' "$CASTGATE" trust pin --store "$T/tr" peer.example 1234
FP=$("$CASTGATE" cert fingerprint "$L/server-rsa.pem")
"$CASTGATE" trust pin --store "$T/tr" peer.example "$FP" >/dev/null 2>&1
"$CASTGATE" trust pin --store "$T/tr" other.example "$FP" >/dev/null 2>&1
check "M-06 trust pin-get returns the pin" bash -c "[ \"\$('$CASTGATE' trust pin-get --store '$T/tr' peer.example)\" = '$(echo "$FP" | tr -d :)' ]"
# The pin in use: castgate connect --pin with the stored pin reaches a server
# holding that certificate (signed by a CA the client does not trust); the
# other leaf's pin is refused by the same server.
PINPORT=$(free_port)
start_serve "$T/pinserve.log" --listen "127.0.0.1:$PINPORT" --no-ocsp --cert "$L/server-rsa.chain.pem" --key "$L/server-rsa.key"
PIN=$("$CASTGATE" trust pin-get --store "$T/tr" peer.example)
OTHER=$("$CASTGATE" cert fingerprint "$L/server-ecdsa.pem" | tr -d :)
check "M-06 the stored pin is usable: castgate connect --pin reaches the pinned server" bash -c \
  "timeout 20 '$CASTGATE' connect 'wss://localhost:$PINPORT/mos/Communication' --pin '$PIN' --timeout-ms 5000 >'$T/pin.out' 2>&1"
refused "M-06 ... and another certificate's pin is refused by it" 'certificate|pin' \
  timeout 20 "$CASTGATE" connect "wss://localhost:$PINPORT/mos/Communication" --pin "$OTHER" --timeout-ms 5000
finish
