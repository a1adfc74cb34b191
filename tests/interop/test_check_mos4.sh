#!/usr/bin/env bash
# castgate check mos4 (issue 14): against castgate's own MOS device and NCS
# endpoints (standard and passive mode) nothing fails; against broken peers
# (tests/interop/broken_mos4.js, npm ws) exactly the broken rule's M-xx ID
# fails, nothing else.
. "$(dirname "$0")/lib.sh"

P=$T/pki
make_pki "$P" "$(free_port)"
printf 'correct horse\n' >"$T/pw"; chmod 600 "$T/pw"
printf 'correct horse\n' | "$CASTGATE" passwd "$T/htpasswd" ncs.castgate.demo >/dev/null 2>&1
printf 'correct horse\n' | "$CASTGATE" passwd "$T/htpasswd" mos.castgate.demo >/dev/null 2>&1
export NODE_PATH="$SRC/tests/interop/node_modules"
[ -d "$NODE_PATH/ws" ] || { echo "no node_modules (run scripts/deps.sh)"; exit 77; }

# conf NAME ROLE ID PEER MODE PORT: a listening endpoint configuration in $T/NAME.conf
conf() {
  local name=$1 role=$2 id=$3 peer=$4 mode=$5 port=$6
  cat >"$T/$name.conf" <<CONF
[endpoint]
role = $role
id = $id
state_dir = $T/state-$name
ack_timeout_ms = 1000
ocsp = no
listen = 127.0.0.1:$port
cert = $P/server-rsa.chain.pem $P/server-rsa.key
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
credentials = $T/htpasswd
[peer $peer]
mode = $mode
channels = mom,ro,aux
CONF
}

serve() { # serve NAME
  "$CASTGATE" mos serve --config "$T/$1.conf" >"$T/$1.out" 2>"$T/$1.err" &
  PIDS+=($!)
  for _ in $(seq 200); do grep -q '"listening"' "$T/$1.out" 2>/dev/null && return 0; sleep 0.05; done
  cat "$T/$1.err" >&2; return 1
}

# run TAG AS USER PORT [OPTIONS...]: check mos4 --json into $T/TAG.json; its exit status in $T/TAG.rc
run() {
  local tag=$1 as=$2 user=$3 port=$4; shift 4
  CASTGATE_CHECK_PASSWORD='correct horse' "$CASTGATE" check mos4 \
    "wss://localhost:$port/mos/Communication" --as "$as" --mos-id mos.castgate.demo \
    --ncs-id ncs.castgate.demo --user "$user" --ca "$P/root-ca.pem" --json "$@" \
    >"$T/$tag.json" 2>"$T/$tag.err"
  echo $? >"$T/$tag.rc"
}

# fails TAG: the sorted, unique IDs of the failing findings ("" when none)
fails() {
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(sorted({f["id"] for f in r["findings"] if f["verdict"]=="fail"})))' "$T/$1.json"
}
# expect TAG "IDS" RC: exactly those IDs fail and the exit status is RC
expect() {
  local got; got=$(fails "$1" 2>/dev/null)
  if [ "$got" = "$2" ] && [ "$(cat "$T/$1.rc")" = "$3" ]; then ok "$1: failing IDs [$2], exit $3"
  else bad "$1: failing IDs [$2], exit $3" "got [$got], exit $(cat "$T/$1.rc"); $(head -c 600 "$T/$1.err")"
    python3 -c 'import json,sys; [print("   ", f["id"], f["verdict"], f["what"], "|", f["evidence"]) for f in json.load(open(sys.argv[1]))["findings"] if f["verdict"]!="pass"]' "$T/$1.json" 2>/dev/null
  fi
}
# has TAG ID WHAT-SUBSTRING VERDICT: a finding with that ID, text and verdict exists
has() {
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if any(f["id"]==sys.argv[2] and sys.argv[3] in f["what"] and f["verdict"]==sys.argv[4] for f in r["findings"]) else 1)' "$T/$1.json" "$2" "$3" "$4"
}

# ---- castgate's MOS device, standard mode; the checker plays the NCS ----
DEV=$(free_port)
conf dev mos mos.castgate.demo ncs.castgate.demo standard "$DEV"
serve dev
run dev-std ncs ncs.castgate.demo "$DEV" --profiles 0,1,2,3,4 --write
expect dev-std "" 0
for id in M-02 M-03 M-04 M-05 M-09 M-10 M-11 M-22 M-23; do
  check "dev-std: $id judged and passed" has dev-std "$id" "" pass
done
check "dev-std --write: the retried roCreate got the same answer" has dev-std M-22 "roCreate retried" pass
check "dev-std: profile 3 exchanged on aux" has dev-std M-23 "profile 3" pass
check "dev-std: the device saw the test RO created once" \
  bash -c "[ \$(grep -c '\"message\":\"roCreate\"' '$T/dev.out') = 1 ]"

# ---- castgate's MOS device, passive-outside: the checker dials passive=true too ----
DEVP=$(free_port)
conf devp mos mos.castgate.demo ncs.castgate.demo passive-outside "$DEVP"
serve devp
run dev-passive ncs ncs.castgate.demo "$DEVP" --passive
expect dev-passive "" 0
check "dev-passive: M-08 passive connection on mom and ro passed" \
  bash -c "python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if sum(f[\"id\"]==\"M-08\" and f[\"verdict\"]==\"pass\" for f in r[\"findings\"])==2 else 1)' '$T/dev-passive.json'"
# the standard-mode device refuses passive=true: M-08 fails, nothing else
run dev-std-passive ncs ncs.castgate.demo "$DEV" --passive
expect dev-std-passive "M-08" 1

# ---- castgate's NCS; the checker plays the device ----
NCS=$(free_port)
conf ncs ncs ncs.castgate.demo mos.castgate.demo standard "$NCS"
serve ncs
run ncs-std device mos.castgate.demo "$NCS"
expect ncs-std "" 0
NCSP=$(free_port)
conf ncsp ncs ncs.castgate.demo mos.castgate.demo passive-outside "$NCSP"
serve ncsp
run ncs-passive device mos.castgate.demo "$NCSP" --passive
expect ncs-passive "" 0

# ---- M-08 the other way: castgate NCS and device configured passive-inside dial the checker ----
# inside NAME ROLE ID PEER PORT: a passive-inside endpoint dialling the checker on PORT
inside() {
  cat >"$T/$1.conf" <<CONF
[endpoint]
role = $2
id = $3
state_dir = $T/state-$1
ack_timeout_ms = 1000
[peer $4]
url = wss://localhost:$5/mos/Communication
mode = passive-inside
channels = mom,ro
ca = $P/root-ca.pem
user = x
password_file = $T/pw
CONF
  "$CASTGATE" mos serve --config "$T/$1.conf" >"$T/$1.out" 2>"$T/$1.err" &
  PIDS+=($!)
}
for side in "ncs ncs.castgate.demo mos.castgate.demo device" "mos mos.castgate.demo ncs.castgate.demo ncs"; do
  set -- $side
  LP=$(free_port)
  inside "in-$1" "$1" "$2" "$3" "$LP"
  run "listen-$1" "$4" x "$LP" --listen "127.0.0.1:$LP" --cert "$P/server-rsa.chain.pem" \
    --key "$P/server-rsa.key" --accept-wait 20000
  expect "listen-$1" "" 0
  check "listen-$1: M-08 passed on mom and ro (the peer dialled passive=true and answered)" \
    bash -c "python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if sum(f[\"id\"]==\"M-08\" and f[\"verdict\"]==\"pass\" for f in r[\"findings\"])==2 else 1)' '$T/listen-$1.json'"
done
# nobody dials: M-08 fails on both channels, nothing else
LP=$(free_port)
run listen-nobody device x "$LP" --listen "127.0.0.1:$LP" --cert "$P/server-rsa.chain.pem" \
  --key "$P/server-rsa.key" --accept-wait 1000
expect listen-nobody "M-08" 1

# ---- broken peers: exactly the broken rule fails ----
# peer BREAK: broken_mos4.js on a free port; sets BPORT
peer() {
  BPORT=$(free_port)
  node "$SRC/tests/interop/broken_mos4.js" --port "$BPORT" --cert "$P/server-rsa.chain.pem" \
    --key "$P/server-rsa.key" --user ncs.castgate.demo --password 'correct horse' \
    --mos-id mos.castgate.demo --ncs-id ncs.castgate.demo ${1:+--break "$1"} >"$T/peer-$1.out" 2>&1 &
  PIDS+=($!)
  wait_port "$BPORT"
}
peer ""
run broken-none ncs ncs.castgate.demo "$BPORT" --write
expect broken-none "" 0
for b in "answer-keepalive M-09" "text-frames M-04" "no-echo M-11" "retry-twice M-22" "no-401 M-05" \
         "no-400 M-02" "no-heartbeat M-10"; do
  set -- $b
  peer "$1"
  run "broken-$1" ncs ncs.castgate.demo "$BPORT" --write
  expect "broken-$1" "$2" 1
done

# ---- nothing listening: the upgrades fail (M-03), the rest cannot be judged (warn) ----
run nobody ncs ncs.castgate.demo "$(free_port)" --timeout 1000
expect nobody "M-03" 1
check "nobody: M-09 'not required' is not judged a pass without a connection" has nobody M-09 "not required" warn

# ---- usage: no password on argv, missing IDs ----
"$CASTGATE" check mos4 "wss://localhost:$DEV/mos/Communication" --as ncs --mos-id a --ncs-id b \
  --user u >/dev/null 2>"$T/nopw.err"
check "--user without a password file or CASTGATE_CHECK_PASSWORD: exit 2" \
  bash -c "[ $? = 2 ] && grep -q CASTGATE_CHECK_PASSWORD '$T/nopw.err'"
"$CASTGATE" check mos4 "wss://localhost:$DEV/mos/Communication" --as ncs >/dev/null 2>&1
check "no --mos-id/--ncs-id: exit 2" [ $? = 2 ]
finish
