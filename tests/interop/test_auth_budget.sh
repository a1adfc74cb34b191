#!/usr/bin/env bash
# Issue 12 item 4: the budget of password hashes for credentials nobody has
# proved yet (auth_hash_rate, auth_hash_burst; a token bucket, whoever asks).
# Guessers from many addresses, each under its lockout (one try per address
# here), get their 401 only while the budget lasts; past it 503 with
# Retry-After and no hash. The peer whose login is remembered reconnects
# through it all without a hash and without a 503. Real clients: curl for
# the guesses (one address each, --interface), Python's ssl for the peer.
# The count of 401s is bounded by what the configured rate allows over the
# time the guesses took (measured here only to loosen the bound: nothing
# about speed is asserted); without the budget every guess is a 401 (a hash).
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip "no curl"

AUTH_DEV_EXTRA=$'auth_hash_rate = 1\nauth_hash_burst = 2' start_auth_dev
ca=$P/root-ca.pem
peer_login() {
  PYTHONPATH="$SRC/tests/interop" python3 -c '
import ssl, sys
from authclient import upgrade
port, ca, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=ca)
print(" ".join(upgrade(ctx, port, b"correct horse", "127.0.0.1") for _ in range(n)))
' "$DEV" "$ca" "$1"
}
# guess N: a wrong password of its own from 127.0.9.N; prints "STATUS RETRY-AFTER"
guess() {
  local code
  code=$(curl -s --cacert "$ca" --interface "127.0.9.$1" -m 20 -o /dev/null -D "$T/h$1" \
    -w '%{http_code}' -u "ncs.castgate.demo:guess-$1-secret" \
    -H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    "https://localhost:$DEV/mos/Communication?mosID=mos.castgate.demo&ncsID=ncs.castgate.demo&channel=ro")
  echo "$code $(tr -d '\r' <"$T/h$1" 2>/dev/null | sed -n 's/^[Rr]etry-[Aa]fter: *//p')"
}

first=$(peer_login 1)
check "the peer logs in (101; one hash, from the burst)" test "$first" = 101

N=30
t0=$(date +%s%N)
for ((i = 1; i <= N; i++)); do guess "$i"; done >"$T/guesses"
t1=$(date +%s%N)
# right after a refused guess the budget is spent: the peer reconnects 10 times
guess 200 >>"$T/guesses"
again=$(peer_login 10)

n401=$(grep -c '^401 ' "$T/guesses"); n503=$(grep -c '^503 1$' "$T/guesses")
secs=$(( (t1 - t0 + 999999999) / 1000000000 ))
allowed=$(( 1 + secs + 1 )) # the burst's second token, 1 a second, and guess 200's
check "guesses get only 401 or 503" bash -c "! grep -qv '^\(401\|503\) ' '$T/guesses'"
check "at most $allowed of $((N + 1)) guesses hashed in ${secs} s (got $n401 401s)" \
  test "$n401" -le "$allowed"
check "the rest: 503 with Retry-After ($n503)" test $((n401 + n503)) -eq $((N + 1))
check "the remembered peer: 10 reconnections, all 101" \
  test "$again" = "101 101 101 101 101 101 101 101 101 101"
check "each answered from memory, no hash" \
  bash -c "[ \"\$(grep -c \"user 'ncs.castgate.demo' authenticated (remembered)\" '$T/dev.err')\" -ge 10 ]"
check "the budget is logged once, not per guess" \
  bash -c "[ \"\$(grep -c 'password check budget spent (1 a second, burst 2' '$T/dev.err')\" = 1 ]"
check "no password in the log" bash -c "! grep -q 'secret\|horse' '$T/dev.err'"
check "no address was locked out (one try each)" bash -c "! grep -q 'locked out for' '$T/dev.err'"
check "the device is still running" kill -0 "$DEV_PID"
[ "$FAILED" -eq 0 ] || { cat "$T/guesses"; grep -i 'budget\|auth' "$T/dev.err" | tail -8; }
finish
