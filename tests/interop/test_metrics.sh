#!/usr/bin/env bash
# The gateway's admin listener (issue 15, part 4; tools/admin.c,
# tools/metrics.c): GET /metrics over TLS with Basic credentials, 401
# without them; the counters follow real traffic (an NCS over MOS 2.x TCP
# through the gateway to a MOS 4.0 device); `promtool check metrics` finds
# nothing to say; a real Prometheus (Debian package) scrapes it (up == 1 and
# the relayed counter in its API).
. "$(dirname "$0")/lib.sh"
need "curl" command -v curl
need "promtool and prometheus (the prometheus package)" command -v promtool
need "prometheus" command -v prometheus

P=$T/pki
make_pki "$P" "$(free_port)"
W=$(free_port); GWP=$(free_port); AP=$(free_port); A=$(free_port); PP=$(free_port)

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
"$CASTGATE" mos serve --config "$T/dev.conf" >"$T/dev.out" 2>"$T/dev.err" &
PIDS+=($!); wait_port "$W"

(umask 077; echo 'sekret-admin-pw' >"$T/admin.pw")
"$CASTGATE" passwd "$T/admin.htpasswd" admin <"$T/admin.pw" >/dev/null
cat >"$T/gw.conf" <<EOF2
[gateway]
listen = 127.0.0.1:$GWP
auth = none                 # the far side does not originate in this test
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s-gw
admin_listen = 127.0.0.1:$AP
admin_credentials = $T/admin.htpasswd
[link studio"1]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:0,$A
channels = ro
url = wss://localhost:$W/mos/Communication
ca = $P/root-ca.pem
EOF2
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!; PIDS+=($GW)
wait_port "$AP"
kill -0 "$GW" 2>/dev/null || { bad "the gateway starts"; cat "$T/gw.err"; finish; exit 1; }; wait_port "$A"
check "the running event names the admin port" grep -q "\"admin_port\":$AP" "$T/gw.out"

get() { curl -s --cacert "$P/root-ca.pem" --resolve "localhost:$AP:127.0.0.1" "$@"; }
code=$(get -o /dev/null -w '%{http_code}' "https://localhost:$AP/metrics")
check "no credentials: 401 ($code)" test "$code" = 401
check "with WWW-Authenticate: Basic" bash -c "curl -s -D - -o /dev/null --cacert '$P/root-ca.pem' --resolve 'localhost:$AP:127.0.0.1' https://localhost:$AP/metrics | grep -qi '^www-authenticate: Basic'"
code=$(get -o /dev/null -w '%{http_code}' -u admin:wrong "https://localhost:$AP/metrics")
check "wrong password: 401 ($code)" test "$code" = 401
code=$(get -o /dev/null -w '%{http_code}' -X DELETE -u "admin:$(cat "$T/admin.pw")" "https://localhost:$AP/metrics")
check "DELETE /metrics: 405 (B-22) ($code)" test "$code" = 405

for _ in $(seq 200); do grep -q '"mos4":"up"' "$T/gw.out" && break; sleep 0.05; done
python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$A" --count 5 --retry-s 2 >"$T/ncs.out"
check "the NCS's 5 requests are answered through the gateway" grep -q '"acked": 5' "$T/ncs.out"

get -u "admin:$(cat "$T/admin.pw")" -D "$T/m.head" "https://localhost:$AP/metrics" >"$T/m.txt"
check "200 with the Prometheus content type" grep -qi '^content-type: text/plain; version=0.0.4' "$T/m.head"
check "HSTS on the admin listener (B-21)" grep -qi '^strict-transport-security: max-age=' "$T/m.head"
check "castgate_messages_relayed_total counts the 5 from legacy" \
  grep -q '^castgate_messages_relayed_total{link="studio\\"1",from="legacy"} 5$' "$T/m.txt"
check "castgate_link_up: the MOS 4.0 side is up" grep -q '^castgate_link_up{link="studio\\"1",side="mos4"} 1$' "$T/m.txt"
check "castgate_certificate_remaining_seconds for the listener's chain" \
  grep -qE '^castgate_certificate_remaining_seconds\{chain=".*/server-ecdsa.chain.pem"\} [0-9]+$' "$T/m.txt"
check "castgate_requests_in_flight is 0 after the answers" grep -q '^castgate_requests_in_flight 0$' "$T/m.txt"
# fsync = interval (the default): the state directories' syncfs runs on the thread pool
for _ in $(seq 50); do
  get -u "admin:$(cat "$T/admin.pw")" "https://localhost:$AP/metrics" >"$T/m2.txt"
  grep -qE '^castgate_state_syncfs_seconds_count [1-9]' "$T/m2.txt" && break; sleep 0.1
done
check "castgate_state_syncfs_seconds counts the syncfs calls ($(grep '^castgate_state_syncfs_seconds_count' "$T/m2.txt"))" \
  grep -qE '^castgate_state_syncfs_seconds_count [1-9]' "$T/m2.txt"
promtool check metrics <"$T/m.txt" >"$T/promtool.out" 2>&1; rc=$?
check "promtool check metrics: exit 0 and nothing to say (exit $rc)" bash -c "[ $rc = 0 ] && [ ! -s '$T/promtool.out' ]"
cat "$T/promtool.out"

# ---- a real Prometheus scrapes it ----
cat >"$T/prom.yml" <<EOF2
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: castgate
    scheme: https
    basic_auth:
      username: admin
      password_file: $T/admin.pw
    tls_config:
      ca_file: $P/root-ca.pem
      server_name: localhost
    static_configs:
      - targets: ['127.0.0.1:$AP']
EOF2
chmod 0644 "$T/admin.pw"
prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/tsdb" \
  --web.listen-address="127.0.0.1:$PP" >"$T/prom.log" 2>&1 &
PIDS+=($!); wait_port "$PP" 30
q() { curl -s "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$1"; }
ok_up=0
for _ in $(seq 120); do
  q 'up{job="castgate"}' | grep -q '"value":\[[0-9.]*,"1"\]' && { ok_up=1; break; }
  sleep 0.25
done
check "Prometheus scrapes the admin listener: up == 1" test "$ok_up" = 1
[ "$ok_up" = 1 ] || { q 'up'; tail -5 "$T/prom.log"; }
check "Prometheus has castgate_messages_relayed_total = 5" bash -c \
  "curl -s 'http://127.0.0.1:$PP/api/v1/query' --data-urlencode 'query=castgate_messages_relayed_total{from=\"legacy\"}' | grep -q '\"5\"\]'"
kill -TERM "$GW"; wait "$GW"; rc=$?
check "the gateway exits 0 after SIGTERM (exit $rc)" test "$rc" = 0
finish
