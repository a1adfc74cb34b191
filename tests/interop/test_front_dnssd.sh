#!/usr/bin/env bash
# castgate front (issue 17 item 4): DNS-SD for the secure face against a real
# BIND9 named (B-40, B-42). The front advertises _nmos-node._tcp,
# _nmos-register._tcp and _nmos-query._tcp with api_proto=https (even when the
# configuration says http), its public name and port, IS-04's api_ver/api_auth
# and pri for the registry types, signed with TSIG; a public name not in the
# certificate stops it at start (B-42); SIGTERM withdraws the records.
set -euo pipefail
CASTGATE=${CASTGATE:-$(cd "$(dirname "$0")/../.." && pwd)/build-asan/bin/castgate}
export CASTGATE
command -v named >/dev/null || { echo "SKIP: named (bind9) not installed"; exit 77; }
source "$(dirname "$0")/dnssd_lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
dn_setup
dn_start
bash "$SRC/scripts/dev-pki.sh" --dir "$T/pki" --host localhost --ocsp-port 1 >/dev/null 2>&1
P=$T/pki
FP=$(free_port); BP=$(free_port)
conf() { # conf PUBLIC
  cat <<CONF
listen = 127.0.0.1:$FP
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
backend = 127.0.0.1:$BP
public = $1
ocsp = off
dnssd_domain = example.test
dnssd_server = 127.0.0.1:$PORT
dnssd_tsig_key = $T/tsig.key
dnssd_type = node
dnssd_type = register
dnssd_type = query
dnssd_txt = api_proto=http
dnssd_txt = api_ver=v1.3
CONF
}
conf localhost >"$T/front.conf"
"$CASTGATE" front --config "$T/front.conf" >"$T/front.out" 2>"$T/front.err" &
F=$!; PIDS+=("$F")
NODE='localhost._nmos-node._tcp.example.test'
REG='localhost._nmos-register._tcp.example.test'
QRY='localhost._nmos-query._tcp.example.test'
wait_for sh -c "dig @127.0.0.1 -p $PORT +short '$QRY' SRV | grep -q ." || { cat "$T/front.err"; fail "SRV never appeared"; }
[ "$(q "$NODE" SRV)" = "0 0 $FP localhost." ] || fail "node SRV: $(q "$NODE" SRV)"
[ "$(q "$REG" SRV)" = "0 0 $FP localhost." ] || fail "register SRV: $(q "$REG" SRV)"
ok "SRV records name the public host and the front's port"
[ "$(q "$NODE" TXT)" = '"api_proto=https" "api_ver=v1.3" "api_auth=false"' ] || fail "node TXT: $(q "$NODE" TXT)"
[ "$(q "$REG" TXT)" = '"api_proto=https" "api_ver=v1.3" "api_auth=false" "pri=100"' ] || fail "register TXT: $(q "$REG" TXT)"
q "$QRY" TXT | grep -q '"pri=100"' || fail "query TXT: $(q "$QRY" TXT)"
ok "TXT: api_proto=https whatever the configuration said, api_ver as configured, pri for registries"
q _nmos-node._tcp.example.test PTR | grep -qx 'localhost._nmos-node._tcp.example.test.' || fail "PTR"
ok "PTR for the node type"
kill -TERM "$F"; wait "$F" || true
wait_for sh -c "! dig @127.0.0.1 -p $PORT +short '$NODE' SRV | grep -q ." || fail "SRV left after SIGTERM"
ok "SIGTERM withdraws the adverts"
conf other.example.test >"$T/bad.conf"
if "$CASTGATE" front --config "$T/bad.conf" >"$T/bad.out" 2>"$T/bad.err"; then fail "a public name outside the certificate was advertised"; fi
grep -q 'DNS-SD' "$T/bad.err" || { cat "$T/bad.err"; fail "no DNS-SD refusal"; }
ok "B-42: a public name the certificate does not carry stops the front"
echo "test_front_dnssd: all passed"
