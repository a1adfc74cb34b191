#!/usr/bin/env bash
# A burst of authenticated upgrades with the same credentials (M-05): 1,000
# wss connections to castgate serve --credentials, 64 at a time (what
# bench/scale.sh does with 10,000; a device reconnecting all its lanes after
# a network blip), all with one user's Basic header, must all open. While the
# first hash of that header runs (yescrypt from castgate passwd, on the
# low-priority threads), every other upgrade with it waits for that one
# verdict: none may be refused 503 "credentials not checked: try again".
# The full benchmark 2026-12-07T0713 lost 6 and 5 of 10,000 that way (8
# waiters per hash, 2 hashes: the 17th upgrade before the first verdict got
# 503). Wrong credentials in the same burst are still 401 for each.
. "$(dirname "$0")/lib.sh"
need_node

N=1000 C=64
PORT=$(free_port); P=$T/pki
make_pki "$P" "$(free_port)"
mkdir -m 700 "$T/creds"
F=$T/creds/users
printf 'lane-pw\n' | "$CASTGATE" passwd "$F" device
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((N + 200)) ] || { echo "SKIP: open-file limit $(ulimit -n) < $((N + 200))"; exit 77; }
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --no-ocsp --path /ws \
  --cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key" \
  --max-connections $((N * 2)) --credentials "$F" ||
  { cat "$T/serve.log"; exit 1; }
export NODE_PATH="$SRC/tests/interop/node_modules"
U="wss://localhost:$PORT/ws"
burst() { node "$SRC/tests/interop/auth_burst.js" "$U" "$P/root-ca.pem" "$@"; }

burst device:lane-pw "$N" "$C" >"$T/burst.json" 2>"$T/burst.err"
cat "$T/burst.json"
check "all $N upgrades with the same credentials, $C at a time, open (101)" \
  grep -q "\"opened\":$N," "$T/burst.json"
check "none refused (no 503 while the first hash runs)" grep -q '"refused":{}' "$T/burst.json"
n503=$(grep -c 'rejected 503' "$T/serve.log")
check "the server logged no 503 ($n503)" test "$n503" = 0
check "no 'password checks in flight' line" bash -c "! grep -q 'password checks in flight' '$T/serve.log'"
hashed=$(grep -c "user 'device' authenticated\$" "$T/serve.log")
remembered=$(grep -c "user 'device' authenticated (remembered)" "$T/serve.log")
echo "# verdicts from a hash: $hashed, remembered: $remembered"
check "every upgrade has a verdict in the log ($((hashed + remembered)))" test $((hashed + remembered)) = "$N"

# Wrong credentials, many at once: one hash, a 401 for each (and the address
# is then locked out: 429), never a 101.
burst device:wrong-pw 40 "$C" >"$T/wrong.json" 2>"$T/wrong.err"
cat "$T/wrong.json"
check "wrong credentials in a burst: none opens" grep -q '"opened":0,' "$T/wrong.json"
check "wrong credentials in a burst: refused 401 (no 503)" \
  bash -c "grep -q '\"401\":' '$T/wrong.json' && ! grep -q '\"503\"' '$T/wrong.json'"

check "castgate serve exits cleanly" stop_pid "$SERVE_PID"
finish
