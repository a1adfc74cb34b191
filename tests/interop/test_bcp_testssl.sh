#!/usr/bin/env bash
# BCP-003-01 as the AMWA NMOS Testing Tool judges it: testssl.sh -p -E -S -h
# against `castgate serve` on loopback, verdicts read from testssl's JSON
# (never its exit code). testssl runs offline: --ip, and inside a network
# namespace holding only loopback when unshare is available.
. "$(dirname "$0")/lib.sh"

OCSP=$(free_port); PORT=$(free_port)
make_pki "$T/pki" "$OCSP"
start_ocsp "$T/pki" "$OCSP"
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" \
  --cert "$T/pki/server-rsa.chain.pem" --key "$T/pki/server-rsa.key" \
  --cert "$T/pki/server-ecdsa.chain.pem" --key "$T/pki/server-ecdsa.key"
for i in $(seq 50); do grep -q 'RSA leaf: OCSP status good' "$T/serve.log" && grep -q 'ECDSA leaf: OCSP status good' "$T/serve.log" && break; sleep 0.1; done

TESTSSL=$(command -v testssl || command -v testssl.sh) || { echo "SKIP: testssl not installed"; exit 77; }
timeout 600 "$TESTSSL" --quiet --warnings off --color 0 --ip 127.0.0.1 \
  --add-ca "$T/pki/root-ca.pem" -p -E -S -h --jsonfile "$T/testssl.json" \
  "https://localhost:$PORT/" >"$T/testssl.txt" 2>&1
[ -s "$T/testssl.json" ] || { cat "$T/testssl.txt"; bad "testssl produced JSON"; finish; exit 1; }

# judge ID EXPR: EXPR is python over `f` (id -> list of findings) evaluated on the JSON.
# Every all() is over a list whose length is checked first (two certificates,
# at least one cipher finding): all() over nothing is true, and proves nothing.
judge() {
  python3 - "$T/testssl.json" "$2" <<'PY'
import json, sys, re
d = json.load(open(sys.argv[1]))
f = {}
for e in d:
    f.setdefault(re.sub(r' <cert#\d+>$', '', e['id']), []).append(e['finding'])
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}
# The nine AMWA checks (test_01..test_09 of the BCP-003-01 suite):
check "B-01/B-02 protocols: TLS 1.2 and 1.3 offered, nothing older" judge x \
  "f['TLS1_2'][0].startswith('offered') and f['TLS1_3'][0].startswith('offered') and all(f[p][0]=='not offered' for p in ('SSLv2','SSLv3','TLS1','TLS1_1'))"
check "B-03 TLS 1.3 SHALL suite TLS_AES_128_GCM_SHA256 offered" judge x \
  "any('TLS_AES_128_GCM_SHA256' in v for k in f if k.startswith('cipher-tls1_3') for v in f[k])"
check "B-04 TLS 1.2 SHALL suite ECDHE-RSA-AES128-GCM-SHA256 offered" judge x \
  "any('ECDHE-RSA-AES128-GCM-SHA256' in v for k in f if k.startswith('cipher-tls1_2') for v in f[k])"
check "B-04 nothing outside the BCP lists offered" judge x \
  "[k for k in f if k.startswith('cipher-tls')] and all(any(s in v for s in ['ECDHE-ECDSA-AES128-GCM-SHA256','ECDHE-ECDSA-AES256-GCM-SHA384','ECDHE-ECDSA-AES128-SHA256','ECDHE-ECDSA-AES256-SHA384','ECDHE-RSA-AES128-GCM-SHA256','ECDHE-RSA-AES256-GCM-SHA384','DHE-RSA-AES128-GCM-SHA256','DHE-RSA-AES256-GCM-SHA384','ECDHE-RSA-AES128-SHA256','ECDHE-RSA-AES256-SHA384','DHE-RSA-AES128-SHA256','DHE-RSA-AES256-SHA256','TLS_AES_128_GCM_SHA256','TLS_AES_256_GCM_SHA384','TLS_CHACHA20_POLY1305_SHA256']) for k in f if k.startswith('cipher-tls') for v in f[k])"
check "B-11 no IP address in CN or SAN" judge x \
  "len(f['cert_commonName']) == 2 and len(f['cert_subjectAltName']) == 2 and not any(re.search(r'\b\d+\.\d+\.\d+\.\d+\b', v) for k in ('cert_commonName','cert_subjectAltName') for v in f[k])"
check "B-21 HSTS max-age >= 15552000" judge x \
  "int(re.search(r'=(\d+) seconds', f['HSTS_time'][0]).group(1)) >= 15552000"
check "B-12 revocation: CRL or OCSP URL in every certificate" judge x \
  "len(f['cert_crlDistributionPoints']) == len(f['cert_ocspURL']) == 2 and all(a.startswith('http') or b.startswith('http') for a, b in zip(f['cert_crlDistributionPoints'], f['cert_ocspURL']))"
check "B-12 OCSP stapling offered for every certificate" judge x \
  "len(f['OCSP_stapling']) == 2 and all(v == 'offered' for v in f['OCSP_stapling'])"
check "B-13 certificate valid for the host name" judge x \
  "len(f['cert_trust']) == 2 and all(v.startswith('Ok') for v in f['cert_trust'])"
check "B-13 both an RSA and an ECDSA certificate offered" judge x \
  "any(v.startswith('RSA') for v in f['cert_keySize']) and any(v.startswith('EC') for v in f['cert_keySize'])"
check "B-10 complete chain of trust" judge x \
  "len(f['cert_chain_of_trust']) == 2 and all(v == 'passed.' for v in f['cert_chain_of_trust'])"
check "B-06 no TLS compression, tickets off (documented choice)" judge x \
  "f['TLS_session_ticket'][0].startswith('no')"
finish
