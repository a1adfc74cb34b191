#!/usr/bin/env bash
# make demo (scripts/demo.sh, issue 15 part 6): it prints the gateway's status
# page URL and the credentials for it, and those credentials open the page
# (HTML with the demo link) and /metrics. The demo uses its fixed ports
# (8443, 8888, 10540-10542, 8444, 9410): exit 77 when one is taken (a demo
# already running). Writes demo/ in the source tree (as make demo does).
. "$(dirname "$0")/lib.sh"
for p in 8443 8444 8888 10540 10541 10542 9410; do
  need "port $p free (is a demo running?)" bash -c "! ss -Hltn 'sport = :$p' | grep -q ."
done
need "curl" command -v curl

setsid env CASTGATE="$CASTGATE" bash "$SRC/scripts/demo.sh" >"$T/demo.out" 2>&1 &
DEMO=$!; PIDS+=($DEMO)
for _ in $(seq 1200); do grep -q 'password' "$T/demo.out" && grep -q '/metrics' "$T/demo.out" && break; sleep 0.1; done
check "make demo prints the status page URL" grep -q '^  https://localhost:9410/ .*user admin *password ' "$T/demo.out"
check "and the metrics URL" grep -q '^  https://localhost:9410/metrics' "$T/demo.out"
pw=$(sed -n 's|^  https://localhost:9410/ .*password \([^ ]*\).*|\1|p' "$T/demo.out")
CA=$SRC/demo/pki/root-ca.pem
code=$(curl -s -o "$T/page.html" -w '%{http_code}' --cacert "$CA" -u "admin:$pw" https://localhost:9410/)
check "the printed credentials open the page (HTTP $code)" test "$code" = 200
check "the page lists the demo link" grep -q 'data-link="demo"' "$T/page.html"
code=$(curl -s -o "$T/m.txt" -w '%{http_code}' --cacert "$CA" -u "admin:$pw" https://localhost:9410/metrics)
check "and /metrics (HTTP $code)" bash -c "[ $code = 200 ] && grep -qE '^castgate_messages_relayed_total\{link=\"demo\",from=\"legacy\"\} [0-9]+$' '$T/m.txt'"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u "admin:wrong" https://localhost:9410/)
check "a wrong password does not (HTTP $code)" test "$code" = 401
kill -INT -- "-$DEMO" 2>/dev/null
for _ in $(seq 100); do kill -0 "$DEMO" 2>/dev/null || break; sleep 0.1; done
[ "${FAILED:-0}" = 0 ] || tail -30 "$T/demo.out"
finish
