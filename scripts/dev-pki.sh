#!/usr/bin/env bash
# Development PKI for castgate (BCP-003-01 B-10..B-14): a root CA, an intermediate
# that answers OCSP (openssl ocsp, see scripts/ocsp-responder.sh) and publishes a
# CRL, RSA-2048 and ECDSA P-256 server leaves for one host name, a revoked leaf,
# and a negative set (expired, wrong host, untrusted root, look-alike root,
# self-signed) for tests. Keys are mode 0600.
#
#   scripts/dev-pki.sh [--dir DIR] [--host NAME] [--ocsp-port PORT]
#
# Defaults: demo/pki, localhost, 8888. Does nothing when DIR is already complete.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
DIR="$here/demo/pki"
HOST=localhost
PORT=8888
while (($#)); do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --host) HOST=$2; shift 2 ;;
    --ocsp-port) PORT=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "dev-pki: unknown argument $1" >&2; exit 2 ;;
  esac
done

OUTPUTS=(root-ca.pem root-ca.key intermediate.pem intermediate.key ca-chain.pem
  server-rsa.pem server-rsa.key server-rsa.chain.pem
  server-ecdsa.pem server-ecdsa.key server-ecdsa.chain.pem
  revoked-rsa.pem revoked-rsa.key revoked-rsa.chain.pem
  expired-rsa.pem expired-rsa.key expired-rsa.chain.pem
  wronghost-rsa.pem wronghost-rsa.key wronghost-rsa.chain.pem
  untrusted-root.pem untrusted-root.key untrusted-leaf.pem untrusted-leaf.key untrusted-leaf.chain.pem
  lookalike-root.pem lookalike-root.key lookalike-leaf.pem lookalike-leaf.key lookalike-leaf.chain.pem
  selfsigned.pem selfsigned.key ocsp-signer.pem ocsp-signer.key index.txt crl.pem)

complete() {
  local f
  for f in "${OUTPUTS[@]}"; do [ -s "$DIR/$f" ] || return 1; done
}
if complete; then
  echo "dev-pki: $DIR is complete, nothing to do"
  exit 0
fi

command -v openssl >/dev/null || { echo "dev-pki: openssl not found" >&2; exit 1; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
cd "$DIR"
umask 022
rm -rf newcerts && mkdir newcerts
: > index.txt
echo 1000 > serial
echo 1000 > crlnumber
echo "unique_subject = no" > index.txt.attr

# openssl ca configuration: the intermediate signs everything below it, and
# index.txt is what `openssl ocsp -index` answers from.
cat > ca.cnf <<CNF
[ ca ]
default_ca = inter
[ inter ]
dir = $DIR
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/intermediate.pem
private_key = \$dir/intermediate.key
default_md = sha256
default_days = 825
default_crl_days = 30
policy = any
copy_extensions = none
unique_subject = no
[ any ]
commonName = supplied
organizationName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_inter ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:\${ENV::CG_SAN}
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$PORT
crlDistributionPoints = URI:http://127.0.0.1:$PORT/crl.pem
[ v3_leaf_ec ]
# ECDSA signs only: keyEncipherment is RSA key transport (RFC 5480 §3)
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:\${ENV::CG_SAN}
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$PORT
crlDistributionPoints = URI:http://127.0.0.1:$PORT/crl.pem
[ v3_ocsp ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, OCSPSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
noCheck = ignored
CNF
export CG_SAN="$HOST"

newkey() { # newkey FILE rsa|ec
  (umask 077
   if [ "$2" = ec ]; then
     openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
   else
     openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
   fi)
}

# serial: 16 random bytes in hex, the top bit clear (a positive INTEGER
# without a padding byte), as `castgate cert` makes them: testssl flags short
# serials as low entropy.
serial() { printf '0x%x%s' $((RANDOM % 4 + 4)) "$(openssl rand -hex 16 | cut -c2-)"; }

# selfroot NAME SUBJECT: a self-signed root CA.
selfroot() {
  newkey "$1.key" rsa
  openssl req -config ca.cnf -new -x509 -key "$1.key" -subj "$2" -days 3650 -sha256 \
    -set_serial "$(serial)" -extensions v3_root -out "$1.pem"
}

# issue NAME KEYTYPE CN [extra openssl ca args]: a leaf signed by the intermediate.
issue() {
  local name=$1 kt=$2 cn=$3; shift 3
  newkey "$name.key" "$kt"
  openssl req -config ca.cnf -new -key "$name.key" -subj "/O=castgate dev/CN=$cn" -out "$name.csr"
  local ext=${EXT:-v3_leaf}
  [ "$kt" = ec ] && [ "$ext" = v3_leaf ] && ext=v3_leaf_ec
  # -rand_serial: a random 159-bit serial (recorded in index.txt for OCSP)
  openssl ca -config ca.cnf -batch -notext -rand_serial -extensions "$ext" -in "$name.csr" \
    -out "$name.pem" "$@" 2>/dev/null
  cat "$name.pem" intermediate.pem > "$name.chain.pem"
  rm -f "$name.csr"
}

# signwith NAME CA CN: a leaf signed directly by another root (no database).
signwith() {
  local name=$1 ca=$2 cn=$3
  newkey "$name.key" rsa
  openssl req -config ca.cnf -new -key "$name.key" -subj "/O=castgate dev/CN=$cn" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -set_serial "$(serial)" \
    -days 825 -sha256 -extfile ca.cnf -extensions v3_leaf -out "$name.pem" 2>/dev/null
  cat "$name.pem" "$ca.pem" > "$name.chain.pem"
  rm -f "$name.csr"
}

ROOT_SUBJ="/O=castgate dev/CN=castgate dev root CA"
selfroot root-ca "$ROOT_SUBJ"

newkey intermediate.key rsa
openssl req -config ca.cnf -new -key intermediate.key \
  -subj "/O=castgate dev/CN=castgate dev intermediate CA" -out intermediate.csr
openssl x509 -req -in intermediate.csr -CA root-ca.pem -CAkey root-ca.key -set_serial "$(serial)" \
  -days 1825 -sha256 -extfile ca.cnf -extensions v3_inter -out intermediate.pem 2>/dev/null
rm -f intermediate.csr
cat intermediate.pem root-ca.pem > ca-chain.pem

EXT=v3_ocsp issue ocsp-signer rsa "castgate dev OCSP responder"
issue server-rsa rsa "$HOST"
issue server-ecdsa ec "$HOST"
issue revoked-rsa rsa "$HOST"
openssl ca -config ca.cnf -batch -revoke revoked-rsa.pem -crl_reason keyCompromise 2>/dev/null
issue expired-rsa rsa "$HOST" -startdate 20190101000000Z -enddate 20200101000000Z
CG_SAN=other.example issue wronghost-rsa rsa other.example
openssl ca -config ca.cnf -batch -gencrl -out crl.pem 2>/dev/null

selfroot untrusted-root "/O=somebody else/CN=untrusted root CA"
signwith untrusted-leaf untrusted-root "$HOST"
# Same subject DN as the real root, different key: must never verify.
selfroot lookalike-root "$ROOT_SUBJ"
signwith lookalike-leaf lookalike-root "$HOST"

newkey selfsigned.key rsa
openssl req -config ca.cnf -new -x509 -key selfsigned.key -subj "/O=castgate dev/CN=$HOST" \
  -set_serial "$(serial)" -days 825 -sha256 -addext "subjectAltName=DNS:$HOST" -addext "basicConstraints=critical,CA:false" \
  -addext "extendedKeyUsage=serverAuth" -out selfsigned.pem

chmod 600 ./*.key
complete || { echo "dev-pki: incomplete output in $DIR" >&2; exit 1; }
cat <<SUM
dev-pki: made $DIR
  trust root:  root-ca.pem (intermediate.pem signs the leaves; ca-chain.pem = both)
  server:      server-rsa.chain.pem + server-rsa.key, server-ecdsa.chain.pem + server-ecdsa.key (DNS:$HOST)
  revocation:  OCSP http://127.0.0.1:$PORT (scripts/ocsp-responder.sh $DIR $PORT), CRL crl.pem
  negative:    revoked-rsa, expired-rsa, wronghost-rsa (other.example), untrusted-leaf,
               lookalike-leaf (root with the real root's DN), selfsigned
SUM
