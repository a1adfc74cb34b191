#!/usr/bin/env bash
# DNS-SD registration against a real BIND9 named (BCP-003-01 B-40, B-42):
# register with TSIG, records visible to dig, stale-self re-registration,
# conflict refusal, survive a named restart that lost the zone, withdraw on
# SIGTERM, wrong TSIG key, host not in certificate, unsafe key file, zone text.
set -euo pipefail
source "$(dirname "$0")/dnssd_lib.sh"
dn_setup
dn_start

SRV_A='Studio\032A._mos._tcp.example.test'
common=(--server "127.0.0.1:$PORT" --domain example.test --type _mos._tcp --tsig-key "$T/tsig.key")
txt_a=(--txt api_proto=wss --txt path=/mos/Communication --txt mosID=gw1.example.test
       --txt channels=mom,ro,aux --txt passive=no)

# 1. register in the foreground, refreshing every second
"$CASTGATE" dnssd register "${common[@]}" --instance "Studio A" --host gw1.example.test \
  --port 443 "${txt_a[@]}" --subtype _device --ttl 30 --refresh 1 > "$T/a.out" 2> "$T/a.err" &
A=$!; PIDS+=("$A")
wait_for sh -c "dig @127.0.0.1 -p $PORT +short '$SRV_A' SRV | grep -q ." || fail "SRV never appeared"
[ "$(q "$SRV_A" SRV)" = "0 0 443 gw1.example.test." ] || fail "SRV: $(q "$SRV_A" SRV)"
q _mos._tcp.example.test PTR | grep -qx 'Studio\\032A._mos._tcp.example.test.' || fail "PTR"
q _device._sub._mos._tcp.example.test PTR | grep -q 'Studio' || fail "subtype PTR"
q _services._dns-sd._udp.example.test PTR | grep -qx '_mos._tcp.example.test.' || fail "enumeration PTR"
[ "$(q "$SRV_A" TXT)" = '"api_proto=wss" "path=/mos/Communication" "mosID=gw1.example.test" "channels=mom,ro,aux" "passive=no"' ] \
  || fail "TXT: $(q "$SRV_A" TXT)"
[ "$(dig @127.0.0.1 -p "$PORT" +noall +answer "$SRV_A" SRV | awk '{print $2}')" -le 30 ] || fail "TTL"
grep -q "registered 'Studio A'" "$T/a.err" || fail "no registered log line"
ok "register: PTR, subtype PTR, enumeration PTR, SRV, TXT with TSIG"

# 1b. refreshes (every second here) reach the server but change nothing: the
# zone's serial stays, so secondaries see no transfer
serial() { q example.test SOA | awk '{print $3}'; }
s1=$(serial); n1=$(grep -c "updating zone" "$T/named.log")
sleep 2.5
s2=$(serial); n2=$(grep -c "updating zone" "$T/named.log")
[ "$n2" -gt "$n1" ] || fail "no refresh UPDATE reached named"
[ "$s1" = "$s2" ] || fail "a refresh changed the zone serial ($s1 -> $s2)"
ok "refresh UPDATEs arrive and leave the zone serial alone ($s1)"

# 2. the same instance again (same SRV: a previous run's records) is accepted
"$CASTGATE" dnssd register "${common[@]}" --instance "Studio A" --host gw1.example.test \
  --port 443 "${txt_a[@]}" --once 2> "$T/again.err" || { cat "$T/again.err"; fail "re-register of own records"; }
ok "re-registering our own records (stale from a previous run) works"

# 3. another service claiming the same name is refused, records untouched
if "$CASTGATE" dnssd register "${common[@]}" --instance "Studio A" --host gw2.example.test \
  --port 9999 --once 2> "$T/conflict.err"; then fail "conflicting registration succeeded"; fi
grep -q "held by another service" "$T/conflict.err" || { cat "$T/conflict.err"; fail "no conflict message"; }
[ "$(q "$SRV_A" SRV)" = "0 0 443 gw1.example.test." ] || fail "conflict clobbered the SRV"
ok "a different service with the same instance name is refused (prerequisites)"

# 4. named restarts with a fresh zone (records lost): castgate puts them back
dn_stop
dn_zone
sleep 1.5
mark=$(wc -l < "$T/named.log")
dn_start
wait_for sh -c "dig @127.0.0.1 -p $PORT +short '$SRV_A' SRV | grep -q 443" || { cat "$T/a.err"; fail "not re-registered after restart"; }
q _mos._tcp.example.test PTR | grep -q Studio || fail "PTR not back after restart"
# The fresh zone had no records: castgate's REPLACE met NXRRSET, then it added them anew.
tail -n +"$mark" "$T/named.log" | grep -q "adding an RR at 'Studio.032A._mos._tcp.example.test' SRV" \
  || fail "named did not log the re-registration"
grep -q "failed: the server is unreachable\|failed: no answer" "$T/a.err" || fail "outage not logged"
ok "named restart survived: records re-registered"

# 5. SIGTERM withdraws
kill -TERM "$A"
wait "$A" || fail "register exited with $? on SIGTERM"
[ -z "$(q "$SRV_A" SRV)" ] || fail "SRV still there after SIGTERM"
[ -z "$(q "$SRV_A" TXT)" ] || fail "TXT still there after SIGTERM"
q _mos._tcp.example.test PTR | grep -q Studio && fail "PTR still there after SIGTERM"
grep -q "withdrew 'Studio A'" "$T/a.err" || fail "no withdraw log line"
ok "SIGTERM withdraws PTR, SRV and TXT"

# 6. wrong TSIG key: clear error, no records
if "$CASTGATE" dnssd register --server "127.0.0.1:$PORT" --domain example.test --type _mos._tcp \
  --tsig-key "$T/wrong.key" --instance Wrong --host gw1.example.test --port 443 --once 2> "$T/wrong.err"; then
  fail "wrong key accepted"
fi
grep -q "BADSIG" "$T/wrong.err" || { cat "$T/wrong.err"; fail "no BADSIG message"; }
[ -z "$(q Wrong._mos._tcp.example.test SRV)" ] || fail "records with a wrong key"
ok "wrong TSIG key: $(grep -o 'BADSIG[^;]*' "$T/wrong.err" | head -1)"

# 6b. no key at all: the zone's update-policy refuses
if "$CASTGATE" dnssd register --server "127.0.0.1:$PORT" --domain example.test --type _mos._tcp \
  --instance Nokey --host gw1.example.test --port 443 --once 2> "$T/nokey.err"; then fail "unsigned accepted"; fi
grep -q "REFUSED" "$T/nokey.err" || { cat "$T/nokey.err"; fail "no REFUSED message"; }
ok "unsigned update: REFUSED logged"

# 7. B-42: the host must be in the certificate (trailing dot tolerated)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=gw1.example.test" -addext "subjectAltName=DNS:gw1.example.test,DNS:mos.example.test" \
  -keyout "$T/cert.key" -out "$T/cert.pem" 2>/dev/null
if "$CASTGATE" dnssd register "${common[@]}" --instance Certless --host gw2.example.test --port 443 \
  --cert "$T/cert.pem" --once 2> "$T/cert.err"; then fail "host not in certificate accepted"; fi
grep -q "not a name in the certificate" "$T/cert.err" || { cat "$T/cert.err"; fail "no certificate message"; }
[ -z "$(q Certless._mos._tcp.example.test SRV)" ] || fail "records despite the certificate check"
"$CASTGATE" dnssd register "${common[@]}" --instance Certful --host mos.example.test. --port 443 \
  --cert "$T/cert.pem" --once 2> "$T/cert2.err" || { cat "$T/cert2.err"; fail "SAN host refused"; }
[ "$(q Certful._mos._tcp.example.test SRV)" = "0 0 443 mos.example.test." ] || fail "Certful SRV"
ok "host not in certificate refused; a SAN name with trailing dot accepted"

# 8. a key file readable by others is refused
chmod 644 "$T/tsig.key"
if "$CASTGATE" dnssd register "${common[@]}" --instance Leaky --host gw1.example.test --port 443 \
  --once 2> "$T/perm.err"; then fail "world-readable key accepted"; fi
grep -q "chmod 600" "$T/perm.err" || { cat "$T/perm.err"; fail "no permission message"; }
chmod 600 "$T/tsig.key"
ok "world-readable key file refused"

# 9. B-41 decision: with a DNS server configured, named interfaces get no multicast
"$CASTGATE" dnssd register "${common[@]}" --instance Uni --host gw1.example.test --port 443 \
  --mdns-interface lo --once 2> "$T/uni.err" || { cat "$T/uni.err"; fail "unicast with interface"; }
grep -q "multicast DNS is not used" "$T/uni.err" || fail "no B-41 decision line"
ok "DNS server configured: multicast not used"

# 9b. no --server: the zone's primary is found by SOA through --resolver (RFC 2136 §4);
# the domain is inside the zone, so the UPDATE names zone example.test.
"$CASTGATE" dnssd register --resolver "127.0.0.1:$PORT" --domain studio.example.test \
  --type _mos._tcp --tsig-key "$T/tsig.key" --instance Found --host gw1.example.test --port 444 \
  --once 2> "$T/soa.err" || { cat "$T/soa.err"; fail "registration via SOA primary"; }
grep -q "zone example.test.: primary ns.example.test. at 127.0.0.1:$PORT" "$T/soa.err" \
  || { cat "$T/soa.err"; fail "no primary log line"; }
[ "$(q Found._mos._tcp.studio.example.test SRV)" = "0 0 444 gw1.example.test." ] || fail "SOA-path SRV"
ok "primary found by SOA query through the resolver; records in the enclosing zone"

# 10. static zone text
"$CASTGATE" dnssd zone --domain example.test --type _mos._tcp --instance "Studio A" \
  --host gw1.example.test --port 443 "${txt_a[@]}" > "$T/zone.txt"
grep -q '^_mos._tcp.example.test.[[:space:]]*120[[:space:]]*IN[[:space:]]*PTR[[:space:]]*Studio\\032A._mos._tcp.example.test.' "$T/zone.txt" || { cat "$T/zone.txt"; fail "zone PTR"; }
grep -q 'SRV[[:space:]]*0 0 443 gw1.example.test.' "$T/zone.txt" || fail "zone SRV"
grep -q 'TXT[[:space:]]*"api_proto=wss" "path=/mos/Communication"' "$T/zone.txt" || fail "zone TXT"
"$CASTGATE" dnssd --help | grep -q "usage: castgate dnssd" || fail "dnssd --help"
ok "zone text and --help"
echo "PASS"
