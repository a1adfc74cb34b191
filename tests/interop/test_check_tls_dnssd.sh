#!/usr/bin/env bash
# `castgate check tls --dnssd INSTANCE` (issue 14; B-40, B-42, B-32): a private
# BIND9 named serves SRV records for three instances of castgate serve's
# endpoint: one whose target ("localhost.", trailing dot) is in both
# certificates, one whose target is another name, and one that does not exist.
# The whole set of failing IDs is compared, as in test_check_tls.sh.
. "$(dirname "$0")/lib.sh"

command -v named >/dev/null || { echo "named not installed (scripts/deps.sh)"; exit 77; }

OCSP=$(free_port); DNS=$(free_port)
make_pki "$T/pki" "$OCSP"
P=$T/pki
start_ocsp "$P" "$OCSP" || { bad "OCSP responder started (port $OCSP)"; finish; exit 1; }
SP=$(free_port)
start_serve "$T/serve.log" --listen "127.0.0.1:$SP" \
  --cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key" \
  --cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key"

mkdir -p "$T/dns"
cat >"$T/dns/named.conf" <<CONF
options {
  directory "$T/dns"; pid-file "$T/dns/named.pid"; session-keyfile "$T/dns/session.key";
  managed-keys-directory "$T/dns"; listen-on port $DNS { 127.0.0.1; }; listen-on-v6 { none; };
  recursion no; dnssec-validation no; allow-query { any; }; notify no;
};
controls { };
zone "example.test" { type primary; file "$T/dns/example.test.db"; };
CONF
cat >"$T/dns/example.test.db" <<ZONE
\$TTL 300
@    IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60
@    IN NS  ns.example.test.
ns   IN A   127.0.0.1
good._mos._tcp   IN SRV 0 0 $SP localhost.
wrong._mos._tcp  IN SRV 0 0 $SP gw.example.test.
other._mos._tcp  IN SRV 0 0 1 localhost.
ZONE
named -g -c "$T/dns/named.conf" -p "$DNS" >"$T/dns/named.log" 2>&1 &
PIDS+=($!)
for i in $(seq 100); do
  dig @127.0.0.1 -p "$DNS" +short +time=1 +tries=1 example.test SOA 2>/dev/null | grep -q ns.example.test && break
  sleep 0.1
done
for i in $(seq 50); do grep -q 'ECDSA leaf: OCSP status good' "$T/serve.log" && break; sleep 0.1; done
sleep 0.3

fails_of() { grep -o '"id":"B-[0-9]*","verdict":"fail"' "$1" | cut -d'"' -f4 | sort -u | tr '\n' ' ' | sed 's/ $//'; }
# expect NAME "IDS" INSTANCE: exact set of failing IDs with --dnssd INSTANCE.
expect() {
  local name=$1 want=$2 inst=$3
  "$CASTGATE" check tls "https://localhost:$SP/status" --ca "$P/root-ca.pem" --json \
    --dnssd "$inst" --dns-server "127.0.0.1:$DNS" >"$T/$name.json" 2>"$T/$name.err"
  local rc=$? got
  got=$(fails_of "$T/$name.json")
  local want_rc=1; [ -z "$want" ] && want_rc=0
  if [ "$got" = "$want" ] && [ "$rc" = "$want_rc" ]; then
    ok "$name: failing IDs {${want}} (exit $rc)"
  else
    bad "$name" "want {${want}} exit $want_rc, got {${got}} exit $rc"
    grep -o '{"id":"B-4[0-9]"[^}]*}' "$T/$name.json"
    cat "$T/$name.err"
  fi
}
expect "SRV target in both certificates (trailing dot, B-32)" "" good._mos._tcp.example.test
check "both certificates named in the findings" \
  bash -c "[ \$(grep -o '\"id\":\"B-42\",\"verdict\":\"pass\"' '$T/SRV target in both certificates (trailing dot, B-32).json' | wc -l) -eq 2 ]"
expect "SRV target not in the certificates" "B-42" wrong._mos._tcp.example.test
expect "no such instance" "B-40" missing._mos._tcp.example.test
expect "SRV on another port (a warning only)" "" other._mos._tcp.example.test
check "another port is a B-40 warning" grep -q '"id":"B-40","verdict":"warn"' "$T/SRV on another port (a warning only).json"
"$CASTGATE" check tls "https://localhost:$SP/status" --dnssd x._mos._tcp.example.test \
  --dns-server 'not-an-ip' >/dev/null 2>"$T/bad.err"
check "a malformed --dns-server is a usage error (exit 2)" test $? -eq 2
finish
