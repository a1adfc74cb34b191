#!/usr/bin/env bash
# The [pair] section in the castgate program (issue 18, docs/redundancy.md
# "Configuration"): --check-config accepts one file for both machines but
# for node and says which node it is; it reads the files each node's part
# names (node 0's CA and password file, node 1's credentials) and names a
# missing one; a broken [pair] rule is refused with file:line; castgate run
# starts node 1 alone as a standby (its pair listener open, its link held:
# the legacy gear not dialled) and makes it active after takeover_after_ms.
. "$(dirname "$0")/lib.sh"

P=$T/pki
make_pki "$P" "$(free_port)"
PP=$(free_port); A=$(free_port)
mkdir -m 700 "$T/private" "$T/state-0" "$T/state-1"
printf 'pairpw\n' | "$CASTGATE" passwd "$T/private/pair.htpasswd" pair >/dev/null
printf 'pairpw\n' >"$T/private/pair.pw"
chmod 600 "$T/private/pair.pw"

conf() { # conf NODE [MORE-PAIR-LINES]: [pair] starts on line 11
  printf '[gateway]\nstate_dir = %s\njournal = yes\ncert = %s %s\nocsp = no\n' \
    "$T/state-$1" "$P/server-ecdsa.chain.pem" "$P/server-ecdsa.key"
  printf '[link a]\nlegacy = mos\nncs_id = N\nmos_id = D\nlegacy_dial = 127.0.0.1:0,%s\n' "$A"
  printf '[pair]\nnode = %s\nlisten = 127.0.0.1:%s\ncredentials = %s\n' \
    "$1" "$PP" "$T/private/pair.htpasswd"
  printf 'peer = wss://localhost:%s/castgate/pair\nca = %s\nuser = pair\npassword_file = %s\n%s\n' \
    "$PP" "$P/root-ca.pem" "$T/private/pair.pw" "${2:-}"
}
refused() { # refused NAME EXPECTED-TEXT CONF-FILE: --check-config exits 1 with the text
  local name=$1 want=$2 file=$3
  "$CASTGATE" run --config "$file" --check-config >"$T/r.out" 2>&1; local rc=$?
  check "$name (exit $rc)" bash -c "[ $rc = 1 ] && grep -qF -- '$want' '$T/r.out'" ||
    sed 's/^/    /' "$T/r.out"
}

for n in 0 1; do
  conf $n >"$T/n$n.conf"
  "$CASTGATE" run --config "$T/n$n.conf" --check-config >"$T/n$n.check" 2>&1; rc=$?
  check "node $n: --check-config accepts the file (exit $rc)" test "$rc" = 0 ||
    sed 's/^/    /' "$T/n$n.check"
  check "node $n: --check-config says which node" grep -q "is valid: 1 link(s), pair node $n" "$T/n$n.check"
done

conf 0 "password_file = $T/private/none" >"$T/nopw.conf"
refused "node 0: a missing password_file is named" "[pair] password_file $T/private/none: no password" "$T/nopw.conf"
conf 0 "ca = $T/none.pem" >"$T/noca.conf"
refused "node 0: a CA file that cannot be read stops it" "[pair] node 0 cannot set up its connection to node 1" "$T/noca.conf"
conf 1 "password_file = $T/private/none" >"$T/n1pw.conf"
"$CASTGATE" run --config "$T/n1pw.conf" --check-config >"$T/n1pw.check" 2>&1; rc=$?
check "node 1 does not read node 0's password_file (exit $rc)" test "$rc" = 0
conf 1 "credentials = $T/private/none" >"$T/nocred.conf"
refused "node 1: a missing credentials file is named" "[pair] credentials $T/private/none" "$T/nocred.conf"
conf 0 "heartbeat_ms = 600" >"$T/timing.conf"
refused "a [pair] rule names the file and the [pair] line" \
  "timing.conf:11: [pair] takeover_after_ms must be more than 2 x heartbeat_ms" "$T/timing.conf"
conf 0 "node = 3" >"$T/node.conf"
refused "a bad node names its line" "node.conf:19: node must be 0 or 1: 3" "$T/node.conf"

# Node 1 alone: a standby first (the pair listener open, the link held), active
# once no active was heard for takeover_after_ms (1000 by default).
printf 'takeover_after_ms = 3000\n' >>"$T/n1.conf"
python3 - "$A" >"$T/gear.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept()
    print("dialled at", time.time(), flush=True)
PY
PIDS+=($!); wait_port "$A"
"$CASTGATE" run --config "$T/n1.conf" >"$T/run.out" 2>"$T/run.log" &
GW=$!; PIDS+=("$GW")
for _ in $(seq 200); do grep -q '"running"' "$T/run.out" 2>/dev/null && break; sleep 0.05; done
check "castgate run starts with [pair], node 1 a standby" grep -q '"running".*"role":"standby"' "$T/run.out"
check "its pair listener is open" wait_port "$PP" 10
sleep 1
check "the standby dialled nothing (its link is held)" test ! -s "$T/gear.out"
for _ in $(seq 400); do grep -q '"what":"active"' "$T/run.out" 2>/dev/null && break; sleep 0.05; done
check "alone, it becomes active (peer-silent)" grep -q '"what":"active","epoch":1,"why":"peer-silent"' "$T/run.out"
for _ in $(seq 200); do [ -s "$T/gear.out" ] && break; sleep 0.05; done
check "and then dials the legacy gear" test -s "$T/gear.out"
check "the epoch is on disk" grep -qx 1 "$T/state-1/pair.epoch"
check "it stops cleanly" stop_pid "$GW"
finish
