#!/usr/bin/env bash
# Secure by default (M-05): a wss listener without a credentials file is
# refused at start and by --check-config (file:line of the listen line)
# unless the file says `auth = none`, which is logged loudly at start; both
# for castgate run ([gateway]) and castgate mos serve ([endpoint]). A
# contradiction (auth = none beside credentials) and an unknown auth value
# are refused too. The shipped examples check out with credentials.
. "$(dirname "$0")/lib.sh"

P=$T/pki
make_pki "$P" "$(free_port)"
GWP=$(free_port); EPP=$(free_port); A=$(free_port)
mkdir -m 700 "$T/creds"
printf 'pw\n' | "$CASTGATE" passwd "$T/creds/users" ncs >/dev/null

gw_conf() { # gw_conf EXTRA-LINES: a gateway file with a listener on line 2
  printf '[gateway]\nlisten = 127.0.0.1:%s\ncert = %s %s\nocsp = no\n%s\n' \
    "$GWP" "$P/server-ecdsa.chain.pem" "$P/server-ecdsa.key" "$1"
  printf '[link a]\nlegacy = mos\nncs_id = N\nmos_id = D\nlegacy_dial = 127.0.0.1:0,%s\n' "$A"
}
refused() { # refused NAME EXPECTED-TEXT COMMAND...: exit 1 and the text on stderr
  local name=$1 want=$2; shift 2
  "$@" >"$T/r.out" 2>&1; local rc=$?
  check "$name (exit $rc)" bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qF '$want' '$T/r.out'" ||
    sed 's/^/    /' "$T/r.out"
}

gw_conf "" >"$T/open.conf"
refused "--check-config refuses a gateway listener without credentials at the listen line" \
  "open.conf:2: a listener needs credentials" "$CASTGATE" run --config "$T/open.conf" --check-config
refused "castgate run refuses to start it" \
  "open.conf:2: a listener needs credentials" timeout 20 "$CASTGATE" run --config "$T/open.conf"

gw_conf "auth = none" >"$T/none.conf"
"$CASTGATE" run --config "$T/none.conf" --check-config >"$T/none.check" 2>&1
check "--check-config accepts auth = none" grep -q 'is valid' "$T/none.check"
"$CASTGATE" run --config "$T/none.conf" >"$T/none.out" 2>"$T/none.log" &
GW_PID=$!; PIDS+=("$GW_PID")
for _ in $(seq 200); do grep -q '"running"' "$T/none.out" 2>/dev/null && break; sleep 0.05; done
check "auth = none: the gateway runs" grep -q '"running"' "$T/none.out"
check "auth = none: logged loudly at start" grep -q 'WARNING: auth = none' "$T/none.log"
export NODE_PATH="$SRC/tests/interop/node_modules"
node "$SRC/tests/interop/wsclient.js" \
  "wss://localhost:$GWP/mos/Communication?mosID=D&ncsID=N&channel=ro" --ca "$P/root-ca.pem" \
  --expect 0 >"$T/none.ws" 2>&1
check "auth = none: a peer without credentials is let in (101)" grep -q '"event":"open"' "$T/none.ws"
check "auth = none: the gateway stops cleanly" stop_pid "$GW_PID"

gw_conf "credentials = $T/creds/users" >"$T/creds.conf"
"$CASTGATE" run --config "$T/creds.conf" --check-config >"$T/creds.check" 2>&1
check "--check-config accepts a listener with credentials" grep -q 'is valid' "$T/creds.check"
gw_conf "credentials = $T/creds/users
auth = none" >"$T/both.conf"
refused "auth = none beside credentials is refused" "both.conf:6: auth = none and credentials" \
  "$CASTGATE" run --config "$T/both.conf" --check-config
gw_conf "auth = maybe" >"$T/maybe.conf"
refused "an unknown auth value is refused" "maybe.conf:5: auth must be basic or none" \
  "$CASTGATE" run --config "$T/maybe.conf" --check-config
gw_conf "auth = basic" >"$T/basic.conf"
refused "auth = basic without credentials is refused" "basic.conf:2: a listener needs credentials" \
  "$CASTGATE" run --config "$T/basic.conf" --check-config

ep_conf() {
  printf '[endpoint]\nrole = mos\nid = D\nlisten = 127.0.0.1:%s\ncert = %s %s\nocsp = no\nstate_dir = %s\n%s\n[peer N]\nchannels = ro\n' \
    "$EPP" "$P/server-ecdsa.chain.pem" "$P/server-ecdsa.key" "$T/s-ep" "$1"
}
ep_conf "" >"$T/ep-open.conf"
refused "castgate mos serve refuses an endpoint listener without credentials" \
  "ep-open.conf:4: a listener needs credentials" timeout 20 "$CASTGATE" mos serve --config "$T/ep-open.conf"
ep_conf "auth = none" >"$T/ep-none.conf"
"$CASTGATE" mos serve --config "$T/ep-none.conf" >"$T/ep.out" 2>"$T/ep.log" &
EP_PID=$!; PIDS+=("$EP_PID")
for _ in $(seq 200); do grep -q '"listening"' "$T/ep.out" 2>/dev/null && break; sleep 0.05; done
check "castgate mos serve with auth = none listens and says so loudly" \
  bash -c "grep -q '\"listening\"' '$T/ep.out' && grep -q 'WARNING: auth = none' '$T/ep.log'"
kill -INT "$EP_PID" 2>/dev/null; wait "$EP_PID" 2>/dev/null

# The shipped examples name credentials (the demo makes them with castgate passwd).
for f in gateway mos-device mos-device-passive; do
  check "examples/$f.conf names credentials" grep -Eq '^credentials *=' "$SRC/examples/$f.conf"
done
finish
