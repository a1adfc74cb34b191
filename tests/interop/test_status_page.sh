#!/usr/bin/env bash
# The status page (issue 15, part 5; GET / on the admin listener) in headless
# Chromium (Debian package) driven over the DevTools protocol
# (tests/interop/page_watch.js): it loads with no console error (console,
# exceptions, failed loads, CSP violations), shows the link's MOS 4.0 side up,
# then down within 2 s of the far side being killed; both screenshots are kept
# in $CG_BUILD_DIR/test-output/status-page/. Without credentials: 401.
. "$(dirname "$0")/lib.sh"
need "chromium (scripts/deps.sh)" command -v chromium
need_node

P=$T/pki
make_pki "$P" "$(free_port)"
W=$(free_port); GWP=$(free_port); AP=$(free_port); A=$(free_port)
SHOTS=${CG_BUILD_DIR:-$SRC/build-asan}/test-output/status-page
mkdir -p "$SHOTS"; rm -f "$SHOTS"/*.png

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
DEV=$!; PIDS+=($DEV); wait_port "$W"

(umask 077; echo 'page-pw-123' >"$T/admin.pw")
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
[link studio-1]
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
kill -0 "$GW" 2>/dev/null || { bad "the gateway starts"; cat "$T/gw.err"; finish; exit 1; }
python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$A" --count 2 --retry-s 5 >"$T/ncs.out" 2>&1

code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/root-ca.pem" --resolve "localhost:$AP:127.0.0.1" "https://localhost:$AP/")
check "the page without credentials: 401 ($code)" test "$code" = 401
curl -s -D "$T/page.head" --cacert "$P/root-ca.pem" --resolve "localhost:$AP:127.0.0.1" \
  -u "admin:$(cat "$T/admin.pw")" "https://localhost:$AP/" >"$T/page.html"
check "the page: text/html, a CSP, no script" bash -c \
  "grep -qi '^content-type: text/html' '$T/page.head' && grep -qi '^content-security-policy: default-src .none.' '$T/page.head' && ! grep -qi '<script' '$T/page.html'"
check "the page shows the last message relayed from legacy with its messageID" grep -q 'messageID [0-9]' "$T/page.html"
check "the page shows each leaf's notAfter and days left" grep -q 'certificate gateway ECDSA [^:]*: notAfter 20[0-9-]* [0-9:]* UTC, [0-9]* day(s) left' "$T/page.html"

node "$SRC/tests/interop/page_watch.js" "https://localhost:$AP/" "admin:$(cat "$T/admin.pw")" \
  studio-1 "$DEV" "$SHOTS" >"$T/watch.out" 2>"$T/watch.err"; rc=$?
cat "$T/watch.out"; [ "$rc" = 0 ] || tail -5 "$T/watch.err"
check "Chromium sees the link's MOS 4.0 side up" grep -q '"event":"up"' "$T/watch.out"
ms=$(sed -n 's/.*"event":"down","ms":\([-0-9]*\).*/\1/p' "$T/watch.out")
echo "     the page showed it down ${ms:-?} ms after the far side was killed"
check "Chromium sees it go down within 2 s of the far side being killed (${ms:-?} ms)" \
  bash -c "[ -n '$ms' ] && [ '$ms' -ge 0 ] && [ '$ms' -le 2000 ]"
check "no console error while loading and reloading" grep -q '"event":"console","errors":\[\]' "$T/watch.out"
check "page_watch.js exit 0 (exit $rc)" test "$rc" = 0
check "screenshots kept in $SHOTS" bash -c "[ -s '$SHOTS/status-page-up.png' ] && [ -s '$SHOTS/status-page-down.png' ]"
finish
