#!/usr/bin/env bash
# Issue 12 item 4: the budget of password hashes for credentials nobody has
# proved yet (auth_hash_rate, auth_hash_burst; a token bucket, whoever asks).
# Guessers one after another (one address each, under its lockout) each wait
# their turn in line and get their 401 as tokens come: no more hashes than
# the burst and the rate allow. 30 guessers at once: the tokens go to the
# first, the next auth_hash_rate x 5 wait in line and get their 401 as
# tokens come, the rest get 503 with Retry-After at once, without a hash. Meanwhile the peer whose login is remembered
# reconnects without a hash and without waiting. Real clients: curl for the
# guesses (--interface), Python's ssl for the peer. The count of 401s is
# bounded by what the configured rate allows over the time the guesses took
# (measured only to loosen the bound: nothing about speed is asserted);
# without the budget every guess is a 401 (a hash).
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

# One guesser after another (6 addresses): each waits its turn in line and
# gets its 401, so the hashes come no faster than the budget.
ta=$(date +%s%N)
for ((i = 101; i <= 106; i++)); do guess "$i"; done >"$T/sequential"
tb=$(date +%s%N)
seq401=$(grep -c '^401 ' "$T/sequential")
secs=$(( (tb - ta + 999999999) / 1000000000 ))
check "one after another: each guess waited for its turn and got 401" test "$seq401" = 6
check "one after another: 6 hashes took ${secs} s, at most 2 + 1 a second" \
  test "$seq401" -le $(( 2 + secs ))

# 30 guessers at once: the line holds 5 (1 a second x 5 s), the rest 503.
N=30
t0=$(date +%s%N)
guessers=()
for ((i = 1; i <= N; i++)); do guess "$i" >"$T/g$i" & guessers+=($!); done
sleep 0.5 # not a timing assertion: the guesses are in (or refused) before the peer comes back
again=$(peer_login 10)
wait "${guessers[@]}"
t1=$(date +%s%N)
cat "$T"/g[0-9]* >"$T/guesses"

n401=$(grep -c '^401 ' "$T/guesses"); n503=$(grep -c '^503 1$' "$T/guesses")
secs=$(( (t1 - t0 + 999999999) / 1000000000 ))
allowed=$(( 2 + secs )) # a token bucket: at most the burst + the rate x the time
check "guesses get only 401 or 503" bash -c "! grep -qv '^\(401\|503\) ' '$T/guesses'"
check "at most $allowed of $N guesses hashed in ${secs} s (got $n401 401s)" \
  test "$n401" -le "$allowed"
check "held guesses got their verdict as tokens came (401s: $n401)" test "$n401" -ge 2
check "past the line: 503 with Retry-After ($n503)" test "$n503" -ge 1
check "every guess got one or the other" test $((n401 + n503)) -eq "$N"
check "the remembered peer: 10 reconnections meanwhile, all 101" \
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
