#!/usr/bin/env bash
# The MOS 4.0 upgrade query (M-02) as peers send it: a 400 says exactly what
# is wrong (issue 12 item 14), and passive=True (as .NET writes booleans)
# lands on the OUT lane of a passive-outside peer while a value that is
# neither true nor false is refused (M-08, issue 20 item 5).
. "$(dirname "$0")/lib.sh"

P=$T/pki
export NODE_PATH=$SRC/tests/interop/node_modules
[ -d "$NODE_PATH/ws" ] || { echo "no node modules (scripts/deps.sh)"; exit 77; }
make_pki "$P" "$(free_port)"
DEV=$(free_port)
cat >"$T/dev.conf" <<EOF
[endpoint]
role = mos
id = DEV
listen = 127.0.0.1:$DEV
auth = none  # no login on this test listener (M-05)
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s
[peer NCS]
mode = passive-outside
channels = mom,ro
EOF
"$CASTGATE" mos serve --config "$T/dev.conf" >"$T/dev.out" 2>"$T/dev.err" &
PIDS+=($!)
wait_port "$DEV"
URL="https://localhost:$DEV/mos/Communication"
upgrade() { # upgrade QUERY: the status line and body of an upgrade request
  curl -s -m 5 --http1.1 --cacert "$P/root-ca.pem" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    -w '\n%{http_code}\n' "$URL?$1" 2>/dev/null
}
expect400() { # expect400 NAME QUERY REASON
  local got; got=$(upgrade "$2")
  echo "${2:0:60} -> $(echo "$got" | tr "\n" " " | cut -c1-160)"
  check "$1" bash -c "[[ \"\$1\" == *\"\$2\"*400 ]]" _ "$got" "$3"
}
LONG=$(printf 'x%.0s' $(seq 1 5000))
expect400 "a bad percent-escape is named" "mosID=%zz&ncsID=NCS&channel=ro" \
  "mosID has a percent-escape that is not % and two hex digits"
expect400 "a NUL is named" "mosID=DEV&ncsID=N%00CS&channel=ro" "ncsID contains a NUL character (%00)"
expect400 "a 5,000-character ID is named" "mosID=$LONG&ncsID=NCS&channel=ro" \
  "mosID is longer than 128 characters (M-24)"
expect400 "a missing parameter is named" "mosID=DEV&channel=ro" "the query has no ncsID"
expect400 "passive=maybe is refused" "mosID=DEV&ncsID=NCS&channel=ro&passive=maybe" \
  "passive must be true or false (M-08)"
# passive=True: the NCS's passive socket becomes our OUT lane (M-08)
timeout 20 node "$SRC/tests/interop/wsclient.js" \
  "wss://localhost:$DEV/mos/Communication?mosID=DEV&ncsID=NCS&channel=ro&passive=True" \
  --ca "$P/root-ca.pem" --expect 1 --timeout 3000 >"$T/ws.out" 2>&1
cat "$T/ws.out" | cut -c1-200
check "passive=True was accepted (101)" grep -q '"event":"open"' "$T/ws.out"
check "passive=True landed on the OUT lane" \
  grep -q '"peer":"NCS","channel":"ro","dir":"out","up":true' "$T/dev.out"
check "and not on the IN lane" bash -c "! grep -q '\"channel\":\"ro\",\"dir\":\"in\",\"up\":true' '$T/dev.out'"
finish
