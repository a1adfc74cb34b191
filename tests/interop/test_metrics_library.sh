#!/usr/bin/env bash
# The library's counters on the admin listener's /metrics (issue 15 item 4;
# docs/metrics.md): each new family moves with real traffic, and
# `promtool check metrics` stays clean.
#  - wrong passwords at the gateway's wss listener (M-05): auth failures, a
#    lockout, a refusal while locked out, handshake failures http_401/429;
#  - plain text on the TLS port (B-20) and a TLS 1.1 ClientHello (B-01):
#    handshake failures not_tls and tls_version;
#  - a link whose dials are refused with 401 by its far side: dial failures;
#  - a removed-in-4.0 message under removed_in_4 = reject (M-12): a NACK by
#    reason and channel; journal bytes and the fsync histogram (fsync = always);
#  - each leaf's notAfter equals `openssl x509 -enddate`, and after a reload
#    with another certificate, the new one's; the OCSP staple's age matches
#    the producedAt `openssl s_client -status` shows.
. "$(dirname "$0")/lib.sh"
need "curl" command -v curl
need "promtool (the prometheus package)" command -v promtool
need_node
export NODE_PATH="$SRC/tests/interop/node_modules"

OCSP=$(free_port)
P=$T/pki
make_pki "$P" "$OCSP"
start_ocsp "$P" "$OCSP"
W=$(free_port); W2=$(free_port); GWP=$(free_port); AP=$(free_port); RO=$(free_port); RO2=$(free_port)
cp "$P/server-ecdsa.chain.pem" "$T/gw.chain.pem"; cp "$P/server-ecdsa.key" "$T/gw.key"
chmod 600 "$T/gw.key"

# the far side of link "good": no login; of link "bad": a login the gateway gets wrong
cat >"$T/dev.conf" <<EOF2
[endpoint]
role = mos
id = DEV
listen = 127.0.0.1:$W
auth = none
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s-dev
[peer NCS]
channels = ro
EOF2
printf 'right-pw\n' | "$CASTGATE" passwd "$T/dev2.htpasswd" NCS2 >/dev/null 2>&1
cat >"$T/dev2.conf" <<EOF2
[endpoint]
role = mos
id = DEV2
listen = 127.0.0.1:$W2
credentials = $T/dev2.htpasswd
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s-dev2
[peer NCS2]
channels = ro
EOF2
"$CASTGATE" mos serve --config "$T/dev.conf" >"$T/dev.out" 2>"$T/dev.err" &
PIDS+=($!)
"$CASTGATE" mos serve --config "$T/dev2.conf" >"$T/dev2.out" 2>"$T/dev2.err" &
PIDS+=($!); wait_port "$W"; wait_port "$W2"

(umask 077; echo 'sekret-admin-pw' >"$T/admin.pw"; echo 'wrong-pw' >"$T/wrong.pw")
"$CASTGATE" passwd "$T/admin.htpasswd" admin <"$T/admin.pw" >/dev/null
printf 'far-side-pw\n' | "$CASTGATE" passwd "$T/gw.htpasswd" DEV >/dev/null 2>&1
cat >"$T/gw.conf" <<EOF2
[gateway]
listen = 127.0.0.1:$GWP
credentials = $T/gw.htpasswd
cert = $T/gw.chain.pem $T/gw.key
ocsp = yes
state_dir = $T/s-gw
journal = yes
fsync = always
admin_listen = 127.0.0.1:$AP
admin_credentials = $T/admin.htpasswd
[link good]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:0,$RO
channels = ro
removed_in_4 = reject
url = wss://localhost:$W/mos/Communication
ca = $P/root-ca.pem
[link bad]
legacy = ncs
ncs_id = NCS2
mos_id = DEV2
legacy_listen = 127.0.0.1:0,$RO2
channels = ro
path = /mos/bad
url = wss://localhost:$W2/mos/Communication
ca = $P/root-ca.pem
user = NCS2
password_file = $T/wrong.pw
EOF2
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!; PIDS+=($GW)
wait_port "$AP"; wait_port "$RO"
kill -0 "$GW" 2>/dev/null || { bad "the gateway starts"; cat "$T/gw.err"; finish; exit 1; }

metrics() { curl -s --cacert "$P/root-ca.pem" --resolve "localhost:$AP:127.0.0.1" \
              -u "admin:$(cat "$T/admin.pw")" "https://localhost:$AP/metrics" >"$T/m.txt"; }
# value NAME{LABELS}: the sample's value ("" when absent)
value() { metrics; awk -v s="$1" 'index($0, s " ") == 1 { print $2 }' "$T/m.txt"; }
wait_value() { # wait_value SERIES TEST: until the value passes the test (10 s)
  local v
  for _ in $(seq 100); do v=$(value "$1"); [ -n "$v" ] && eval "$2" && return 0; sleep 0.1; done
  echo "    $1 = '$v'"; return 1
}

# ---- auth: 5 wrong passwords lock the address out; the 6th try is refused (M-05) ----
U="wss://localhost:$GWP/mos/Communication?mosID=DEV&ncsID=NCS&channel=ro"
node "$SRC/tests/interop/auth_guess.js" "$U" --ca "$P/root-ca.pem" --local-address 127.0.0.2 \
  --user DEV --count 6 >"$T/guess.json" 2>"$T/guess.err"
# locked out, the 6th connection is closed at accept, before TLS (a connection
# error to the guesser; test_auth_lockout_accept.sh), counted as a 429 would be
check "the guesser got 5 x 401, then its 6th connection closed ($(cat "$T/guess.json"))" \
  bash -c "grep -q '\"statuses\":{\"401\":5}' '$T/guess.json' && grep -q '\"errors\":1' '$T/guess.json'"
check "castgate_auth_failures_total{listener=\"gateway\"} is 5" \
  wait_value 'castgate_auth_failures_total{listener="gateway"}' '[ "$v" = 5 ]'
check "castgate_auth_lockouts_total{listener=\"gateway\"} is 1" \
  test "$(value 'castgate_auth_lockouts_total{listener="gateway"}')" = 1
check "castgate_auth_locked_refusals_total{listener=\"gateway\"} is 1" \
  test "$(value 'castgate_auth_locked_refusals_total{listener="gateway"}')" = 1
check "handshake failures http_401 on the gateway listener: 5" \
  test "$(value 'castgate_wss_handshake_failures_total{listener="gateway",reason="http_401"}')" = 5
check "handshake failures http_429 (locked out) on the gateway listener: 1" \
  test "$(value 'castgate_wss_handshake_failures_total{listener="gateway",reason="http_429"}')" = 1

# the admin listener's own: a wrong password
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/root-ca.pem" \
  --resolve "localhost:$AP:127.0.0.1" -u admin:nope "https://localhost:$AP/metrics")
check "admin: a wrong password gets 401 ($code)" test "$code" = 401
check "castgate_auth_failures_total{listener=\"admin\"} is 1" \
  test "$(value 'castgate_auth_failures_total{listener="admin"}')" = 1
check "handshake failures http_401 on the admin listener: 1" \
  test "$(value 'castgate_wss_handshake_failures_total{listener="admin",reason="http_401"}')" = 1

# ---- TLS: plain text (B-20) and TLS 1.1 (B-01) ----
curl -s -m 5 -o /dev/null "http://127.0.0.1:$GWP/mos/Communication"
check "plain HTTP on the TLS port: not_tls 1" \
  wait_value 'castgate_wss_handshake_failures_total{listener="gateway",reason="not_tls"}' '[ "$v" = 1 ]'
openssl s_client -connect "127.0.0.1:$GWP" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
  </dev/null >"$T/tls11.out" 2>&1
check "a TLS 1.1 ClientHello: tls_version 1" \
  wait_value 'castgate_wss_handshake_failures_total{listener="gateway",reason="tls_version"}' '[ "$v" = 1 ]'

# ---- the dialer: link "bad" is refused with 401 by its far side ----
check "castgate_wss_dial_failures_total{link=\"bad\",reason=\"http_401\"} counts the refusals" \
  wait_value 'castgate_wss_dial_failures_total{link="bad",reason="http_401"}' '[ "$v" -ge 1 ]'
check "link good's dials succeed: its dial count is above 0 and it has no failure" \
  bash -c "[ \"\$(awk '/^castgate_wss_dials_total\\{link=\"good\"\\}/ {print \$2}' '$T/m.txt')\" -ge 1 ] &&
           ! grep -E '^castgate_wss_dial_failures_total\\{link=\"good\",.*\\} [1-9]' '$T/m.txt'"

# ---- NACKs (M-12) and the journal (M-22) ----
for _ in $(seq 200); do grep -q '"link":"good".*"mos4":"up"' "$T/gw.out" && break; sleep 0.05; done
python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$RO" --count 3 --retry-s 2 >"$T/ncs.out"
check "the NCS's 3 requests are answered through link good" grep -q '"acked": 3' "$T/ncs.out"
python3 - "$RO" >"$T/removed.out" <<'PY'
import socket, sys
E = lambda s: s.encode("utf-16-be")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(10)
s.sendall(E("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>99</messageID>"
            "<roStoryDelete><roID>A</roID><storyID>S1</storyID></roStoryDelete></mos>"))
data = b""
while E("</mos>") not in data:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
print(data.decode("utf-16-be", "replace"))
PY
check "roStoryDelete is NACKed (M-12, reject)" grep -q 'was removed in MOS 4.0' "$T/removed.out"
check "castgate_nacks_total{link=good,channel=ro,from=legacy,reason=removed_in_4} is 1" \
  wait_value 'castgate_nacks_total{link="good",channel="ro",from="legacy",reason="removed_in_4"}' '[ "$v" = 1 ]'
jb=$(value 'castgate_journal_bytes_total{link="good",side="legacy"}')
jr=$(value 'castgate_journal_records_total{link="good",side="legacy"}')
jc=$(value 'castgate_journal_fsync_seconds_count{link="good",side="legacy"}')
jinf=$(value 'castgate_journal_fsync_seconds_bucket{link="good",side="legacy",le="+Inf"}')
check "journal bytes of link good's legacy side moved ($jb bytes, $jr records)" \
  bash -c "[ '${jb:-0}' -gt 0 ] && [ '${jr:-0}' -ge 3 ]"
check "the fsync histogram has one observation per record ($jc, +Inf bucket $jinf)" \
  bash -c "[ '${jc:-x}' = '${jr:-y}' ] && [ '${jinf:-x}' = '${jc:-y}' ]"

# ---- certificates: notAfter per leaf, the OCSP staple's age, a reload ----
epoch_of_enddate() { date -u -d "$(openssl x509 -noout -enddate -in "$1" | cut -d= -f2)" +%s; }
cn_of() { openssl x509 -noout -subject -nameopt multiline -in "$1" | awk -F' = ' '/commonName/ {print $2}'; }
want=$(epoch_of_enddate "$P/server-ecdsa.chain.pem"); cn=$(cn_of "$P/server-ecdsa.chain.pem")
got=$(value "castgate_certificate_not_after_timestamp_seconds{listener=\"gateway\",key_type=\"ECDSA\",cn=\"$cn\"}")
check "the ECDSA leaf's notAfter is what openssl x509 -enddate says ($got = $want)" test "$got" = "$want"
check "the admin listener's leaf too" \
  test "$(value "castgate_certificate_not_after_timestamp_seconds{listener=\"admin\",key_type=\"ECDSA\",cn=\"$cn\"}")" = "$want"
S="castgate_ocsp_staple_age_seconds{listener=\"gateway\",key_type=\"ECDSA\",cn=\"$cn\"}"
check "an OCSP staple's age appears (B-12)" wait_value "$S" '[ "$v" -ge 0 ]'
openssl s_client -connect "127.0.0.1:$GWP" -servername localhost -status -CAfile "$P/root-ca.pem" \
  </dev/null >"$T/status.out" 2>&1
produced=$(date -u -d "$(sed -n 's/^ *Produced At: //p' "$T/status.out" | head -1)" +%s 2>/dev/null)
age=$(value "$S"); now=$(date +%s)
check "the staple's age is now - producedAt from openssl s_client -status ($age vs $((now - ${produced:-0})))" \
  bash -c "[ -n '$produced' ] && d=\$(( $now - $produced - $age )); [ \${d#-} -le 2 ]"
cp "$P/server-rsa.chain.pem" "$T/gw.chain.pem"; cp "$P/server-rsa.key" "$T/gw.key"
kill -HUP "$GW"
want=$(epoch_of_enddate "$P/server-rsa.chain.pem"); cn=$(cn_of "$P/server-rsa.chain.pem")
check "after a reload with the RSA certificate: its notAfter" \
  wait_value "castgate_certificate_not_after_timestamp_seconds{listener=\"gateway\",key_type=\"RSA\",cn=\"$cn\"}" "[ \"\$v\" = $want ]"
check "and the ECDSA leaf is gone from the gateway listener" \
  bash -c "! grep -q '^castgate_certificate_not_after_timestamp_seconds{listener=\"gateway\",key_type=\"ECDSA\"' '$T/m.txt'"
check "the admin listener serves the reloaded certificate too" \
  test "$(value "castgate_certificate_not_after_timestamp_seconds{listener=\"admin\",key_type=\"RSA\",cn=\"$cn\"}")" = "$want"

# ---- the whole text ----
metrics
promtool check metrics <"$T/m.txt" >"$T/promtool.out" 2>&1; rc=$?
check "promtool check metrics: exit 0 and nothing to say (exit $rc)" bash -c "[ $rc = 0 ] && [ ! -s '$T/promtool.out' ]"
cat "$T/promtool.out"
kill -TERM "$GW"; wait "$GW"; rc=$?
check "the gateway exits 0 after SIGTERM (exit $rc)" test "$rc" = 0
finish
