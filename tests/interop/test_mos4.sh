#!/usr/bin/env bash
# MOS 4.0 between two castgate endpoints (NCS and device) and against a
# WebSocket client that is not castgate (npm ws): every spec fixture on its
# channel in standard (M-07) and passive (M-08) mode with answers matched to
# messageIDs (M-22), removed messages refused (M-12), Basic auth (M-05), the
# query (M-02), text frames (M-04), keepAlive never delivered (M-09), and a
# receiver killed mid-stream losing and repeating nothing.
. "$(dirname "$0")/lib.sh"
need_node

P=$T/pki; F=${CG_SHARED_DIR:-$SRC/../shared}/fixtures/mos/spec
make_pki "$P" "$(free_port)"
printf 'correct horse\n' >"$T/ncs.pw"; chmod 600 "$T/ncs.pw"
printf 'correct horse\n' | "$CASTGATE" passwd "$T/dev.htpasswd" ncs.castgate.demo >/dev/null 2>&1
export NODE_PATH="$SRC/tests/interop/node_modules"

# conf NAME ROLE ID MODE PORT [URL]: an endpoint configuration in $T/NAME.conf
conf() {
  local name=$1 role=$2 id=$3 mode=$4 port=$5 url=${6:-}
  local peer=ncs.castgate.demo; [ "$role" = ncs ] && peer=mos.castgate.demo
  {
    echo "[endpoint]"; echo "role = $role"; echo "id = $id"; echo "state_dir = $T/state-$name"
    echo "ack_timeout_ms = 1000"; echo "ocsp = no"
    if [ -n "$port" ]; then
      echo "listen = 127.0.0.1:$port"
      echo "cert = $P/server-rsa.chain.pem $P/server-rsa.key"
      echo "cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key"
      if [ "$role" = mos ]; then echo "credentials = $T/dev.htpasswd"; else echo "auth = none"; fi
    fi
    echo "[peer $peer]"; echo "mode = $mode"; echo "channels = mom,ro,aux"
    if [ -n "$url" ]; then
      echo "url = $url"; echo "ca = $P/root-ca.pem"
      echo "user = ncs.castgate.demo"; echo "password_file = $T/ncs.pw"
    fi
  } >"$T/$name.conf"
}

# serve NAME [OPTION...]: castgate mos serve in the background; waits for
# "listening" if it listens.
serve() {
  "$CASTGATE" mos serve --config "$T/$1.conf" "${@:2}" >"$T/$1.out" 2>"$T/$1.err" &
  PIDS+=($!); eval "PID_$1=$!"
  grep -q '^listen' "$T/$1.conf" || return 0
  for _ in $(seq 100); do grep -q '"listening"' "$T/$1.out" 2>/dev/null && return 0; sleep 0.05; done
  cat "$T/$1.err" >&2; return 1
}

# The fixtures that are requests (not answers, not keepAlive, not removed in
# 4.0, not plug-in), grouped by channel: $T/req-{mom,ro,aux}.
"$CASTGATE" mos catalog >"$T/catalog.json"
python3 - "$F/MANIFEST.tsv" "$T/catalog.json" "$T" "$F" <<'PY'
import csv, json, sys, os
man, cat, out, fx = sys.argv[1:5]
info = {j["message"]: j for j in map(json.loads, open(cat))}
lists = {"mom": [], "ro": [], "aux": []}
for row in csv.DictReader(open(man), delimiter="\t"):
    m, ch, f = row["message"], row["channel"], row["file"]
    if ch not in ("mom", "ro", "aux", "mom+ro") or "/" in f or not os.path.exists(os.path.join(fx, f)):
        continue
    i = info.get(m)
    if i is None or i["is_reply"] or i["removed_in_4"] or m == "keepAlive":
        continue
    lists["mom" if ch == "mom+ro" else ch].append(f)
for ch, fs in lists.items():
    open(os.path.join(out, "req-" + ch), "w").write("\n".join(fs) + ("\n" if fs else ""))
PY

# exchange SENDER-CONF PEER SERVER-OUT TAG: every request fixture on its channel,
# UTF-8 on mom/aux and the UCS-2BE copies on ro; answers matched to messageIDs.
exchange() {
  local conf=$1 peer=$2 sout=$3 tag=$4 ch files
  for ch in mom ro aux; do
    files=()
    while read -r f; do [ -n "$f" ] || continue
      if [ "$ch" = ro ]; then files+=("$F/ucs2be/$f"); else files+=("$F/$f"); fi
    done <"$T/req-$ch"
    [ ${#files[@]} -gt 0 ] || continue
    local before
    before=$(grep '"event":"message"' "$sout" 2>/dev/null | grep -c "\"channel\":\"$ch\"")
    "$CASTGATE" mos send --config "$T/$conf.conf" --peer "$peer" --channel "$ch" --timeout 60 \
      "${files[@]}" >"$T/$tag-$ch.send" 2>"$T/$tag-$ch.err"
    local rc=$?
    sleep 0.3
    check "$tag: ${#files[@]} $ch fixtures answered, messageIDs matched (rc $rc)" python3 - \
      "$T/$tag-$ch.send" "$sout" "$ch" "$T/req-$ch" "$F" "$before" <<'PY'
import json, sys
send, sout, ch, reqs, fx, before = sys.argv[1:7]
replies = [json.loads(l) for l in open(send) if '"reply"' in l]
got = [json.loads(l) for l in open(sout) if '"event":"message"' in l]
got = [g for g in got if g["channel"] == ch][int(before):]   # every arrival since this send began
ids = [r["messageID"] for r in replies]
ok = len(replies) == len(open(reqs).read().split()) and all(r.get("status") == "ok" for r in replies)
ok = ok and len(set(ids)) == len(ids) and ids == sorted(ids, key=int)
# Heartbeats are answered by the endpoint itself (M-10), never delivered.
app = [r["messageID"] for r in replies if r["message"] != "heartbeat"]
seen = [g["messageID"] for g in got]
ok = ok and seen == app   # the receiver saw exactly those messageIDs, in order, once, nothing else
ok = ok and not any(g.get("repeat") for g in got)
sys.exit(0 if ok else 1)
PY
  done
}

# ---- standard mode: the NCS dials the device ----
DEV=$(free_port)
conf dev mos mos.castgate.demo standard "$DEV"
conf ncs ncs ncs.castgate.demo standard "" "wss://localhost:$DEV/mos/Communication"
serve dev
exchange ncs mos.castgate.demo "$T/dev.out" "M-07 standard"
check "M-09 keepAlive never reached the application" bash -c "! grep -q '\"message\":\"keepAlive\"' '$T/dev.out'"
"$CASTGATE" mos send --config "$T/ncs.conf" --peer mos.castgate.demo --channel ro \
  "$F/legacy/roStoryAppend.xml" --timeout 5 >"$T/removed.out" 2>"$T/removed.err"
check "M-12 a message removed in 4.0 is never initiated" bash -c "[ $? != 0 ] && grep -q 'removed in MOS 4.0' '$T/removed.err'"

# ---- a client that is not castgate (npm ws) ----
WS=(node "$SRC/tests/interop/wsclient.js")
Q="wss://localhost:$DEV/mos/Communication?mosID=mos.castgate.demo&ncsID=ncs.castgate.demo"
GOOD="Authorization: Basic $(printf 'ncs.castgate.demo:correct horse' | base64)"
BAD="Authorization: Basic $(printf 'ncs.castgate.demo:wrong' | base64)"
"${WS[@]}" "$Q&channel=ro" --ca "$P/root-ca.pem" --header "$BAD" >"$T/ws-bad"
check "M-05 wrong credentials -> 401 with WWW-Authenticate: Basic" \
  bash -c "grep -q '\"status\":401' '$T/ws-bad' && grep -q 'www-authenticate\":\"Basic' '$T/ws-bad'"
"${WS[@]}" "$Q&channel=ro" --ca "$P/root-ca.pem" >"$T/ws-none"
check "M-05 no credentials -> 401" grep -q '"status":401' "$T/ws-none"
"${WS[@]}" "$Q" --ca "$P/root-ca.pem" --header "$GOOD" >"$T/ws-nochan"
check "M-02 missing channel -> 400" grep -q '"status":400' "$T/ws-nochan"
"${WS[@]}" "wss://localhost:$DEV/mos/Communication?mosID=mos.castgate.demo&ncsID=stranger&channel=ro" \
  --ca "$P/root-ca.pem" --header "$GOOD" >"$T/ws-stranger"
check "M-02 unknown peer ID -> 400" grep -q '"status":400' "$T/ws-stranger"
ROREQ='<mos><mosID>mos.castgate.demo</mosID><ncsID>ncs.castgate.demo</ncsID><messageID>77</messageID><roReq><roID>R1</roID></roReq></mos>'
"${WS[@]}" "$Q&channel=ro" --ca "$P/root-ca.pem" --header "$GOOD" --send-text "$ROREQ" --expect 1 >"$T/ws-text"
check "M-04 a UTF-8 text frame is accepted; the answer is binary UCS-2BE" \
  bash -c "grep -q '\"binary\":true' '$T/ws-text' && grep message '$T/ws-text' | grep -q '\\\\u0000<\\\\u0000r\\\\u0000o\\\\u0000A\\\\u0000c\\\\u0000k'"
check "M-04 the answer carries the request's messageID" \
  bash -c "grep message '$T/ws-text' | sed 's/\\\\u0000//g' | grep -q '<messageID>77</messageID>'"
KA='<mos><mosID>mos.castgate.demo</mosID><ncsID>ncs.castgate.demo</ncsID><keepAlive/></mos>'
"${WS[@]}" "$Q&channel=ro" --ca "$P/root-ca.pem" --header "$GOOD" --send-text "$KA$ROREQ" --expect 1 >"$T/ws-two"
check "two messages in one frame: refused with a NACK" \
  bash -c "grep message '$T/ws-two' | sed 's/\\\\u0000//g' | grep -q 'not one MOS message'"
"${WS[@]}" "$Q&channel=mom" --ca "$P/root-ca.pem" --header "$GOOD" --send-text "$KA" --expect 1 --timeout 1500 >"$T/ws-ka"
check "M-09 keepAlive: never answered" grep -q '"event":"timeout"' "$T/ws-ka"
check "M-09 keepAlive: never surfaces to the application" bash -c "! grep -q keepAlive '$T/dev.out'"

# ---- the receiver killed mid-stream and restarted: nothing lost, nothing twice ----
for i in $(seq 150); do echo "$F/roReq.xml"; done >"$T/many"
"$CASTGATE" mos send --config "$T/ncs.conf" --peer mos.castgate.demo --channel ro --timeout 90 \
  $(cat "$T/many") >"$T/restart.send" 2>"$T/restart.err" &
SENDPID=$!; PIDS+=($SENDPID)
before=$(grep -c '"message":"roReq"' "$T/dev.out")
# wait_roreq N: until the receiver printed N roReq since $before; fails the test on a timeout
wait_roreq() {
  for _ in $(seq 2000); do
    [ $(( $(grep -c '"message":"roReq"' "$T/dev.out") - before )) -ge "$1" ] && return 0; sleep 0.01
  done
  bad "waiting for the receiver's roReq number $1 (20 s)"; return 1
}
wait_roreq 40
kill -KILL "$PID_dev"; wait "$PID_dev" 2>/dev/null
mv "$T/dev.out" "$T/dev-1.out"
sleep 0.5
serve dev
wait "$SENDPID"; src=$?
check "restart: the sender got all 150 answers (rc $src)" bash -c "[ \$(grep -c '\"status\":\"ok\"' '$T/restart.send') = 150 ]"
# Every delivery counts (raw): the killed receiver may see again only the one
# request that was with it when it died (M-22), under that messageID and
# marked repeat; anything else delivered twice, or unknown to the sender, fails.
python3 - "$T/dev-1.out" "$T/dev.out" "$T/restart.send" "$before" >"$T/restart.count" <<'PY'
import json, sys
sent = [json.loads(l)["messageID"] for l in open(sys.argv[3]) if '"reply"' in l]
ev1 = [json.loads(l) for l in open(sys.argv[1]) if '"message":"roReq"' in l][int(sys.argv[4]):]
ev = ev1 + [json.loads(l) for l in open(sys.argv[2]) if '"message":"roReq"' in l]
first, again, bad = [], [], []
for e in ev:
    if e["messageID"] not in first:
        first.append(e["messageID"])
    else:
        again.append(e)
in_flight = ev1[-1]["messageID"] if ev1 else None
if len(again) > 1:
    bad.append("%d delivered again (1 crash)" % len(again))
bad += ["%s again, unmarked" % e["messageID"] for e in again if not e.get("repeat")]
bad += ["%s again, not the one in flight (%s)" % (e["messageID"], in_flight) for e in again if e["messageID"] != in_flight]
if first != sent or len(sent) != 150:
    bad.append("delivered %d distinct, in the sender's order: %s" % (len(first), first == sent))
print("sent", len(sent), "delivered", len(ev), "distinct", len(first), "repeats after 1 receiver crash",
      len(again), "; ".join(bad))
sys.exit(0 if not bad else 1)
PY
rc=$?
check "restart: every message delivered, in order; at most the one in flight again, marked repeat (M-22) ($(cat "$T/restart.count"))" test "$rc" = 0

# ---- the network drops: the lanes' TCP connections are cut three times ----
# Paced: the device answers each request 20 ms late (a slow application,
# --hold-ms), so the 300 take at least 6 s and each cut lands while requests
# flow, most of them while one is at the application. Unpaced, the sender
# could finish all 300 before the second cut and the third found no socket.
stop_pid "$PID_dev"; mv "$T/dev.out" "$T/dev-2.out"
serve dev --hold-ms 20
for i in $(seq 300); do echo "$F/roReq.xml"; done >"$T/many"
before=$(grep -c '"message":"roReq"' "$T/dev.out")
"$CASTGATE" mos send --config "$T/ncs.conf" --peer mos.castgate.demo --channel ro --timeout 90 \
  $(cat "$T/many") >"$T/drop.send" 2>"$T/drop.err" &
SENDPID=$!; PIDS+=($SENDPID)
cuts=0
for target in 40 120 200; do
  wait_roreq "$target"
  # ss -K prints each socket it closed (its exit status is 0 regardless).
  # localhost may be ::1 or 127.0.0.1, and a lane cut a moment ago may still
  # be dialing: try both families for up to 10 s until a socket was closed.
  for _ in $(seq 200); do
    k=$( { ss -HK dst 127.0.0.1 dport = ":$DEV"; ss -HK dst '[::1]' dport = ":$DEV"; } 2>/dev/null | grep -c .)
    [ "$k" -gt 0 ] && break
    sleep 0.05
  done
  [ "$k" -gt 0 ] && cuts=$((cuts + 1))
done
wait "$SENDPID"; src=$?
python3 - "$T/dev.out" "$T/drop.send" "$before" >"$T/drop.count" <<'PY'
import json, sys
sent = [json.loads(l)["messageID"] for l in open(sys.argv[2]) if '"reply"' in l]
ev = [json.loads(l) for l in open(sys.argv[1]) if '"message":"roReq"' in l][int(sys.argv[3]):]
got = [e["messageID"] for e in ev]   # every delivery since the send began; a cut explains no repeat
print("sent", len(sent), "delivered", len(got), "unique", len(set(got)), "marked repeat",
      sum(1 for e in ev if e.get("repeat")))
sys.exit(0 if len(sent) == 300 and got == sent and not any(e.get("repeat") for e in ev) else 1)
PY
rc=$?
check "network cut $cuts times: all 300 answered, each delivered once, in order, no repeat ($(cat "$T/drop.count"), rc $src)" test "$rc" = 0
check "network: each of the 3 cuts closed a connection" test "$cuts" = 3

# ---- certificates at the MOS level (M-06, B-12) ----
# certdev NAME CERT KEY [OCSP]: a device serving with that certificate on port
# $CERTDEV_PORT. Not called in $(...): the subshell's PIDS would be lost and
# the device never killed.
certdev() {
  CERTDEV_PORT=$(free_port)
  conf "$1" mos mos.castgate.demo standard "$CERTDEV_PORT"
  sed -i "s|^cert = .*||; s|^ocsp = no|ocsp = ${4:-no}|" "$T/$1.conf"
  sed -i "s|^listen = .*|&\ncert = $2 $3|" "$T/$1.conf"
  serve "$1"
}
tryncs() { # tryncs NAME PORT [peer option lines]: one roReq, 4 s at most
  local name=$1 port=$2; shift 2
  conf "$name" ncs ncs.castgate.demo standard "" "wss://localhost:$port/mos/Communication"
  for line in "$@"; do echo "$line" >>"$T/$name.conf"; done
  "$CASTGATE" mos send --config "$T/$name.conf" --peer mos.castgate.demo --channel ro --timeout 4 \
    "$F/roReq.xml" >"$T/$name.out" 2>"$T/$name.err"
}
certdev ssdev "$P/selfsigned.pem" "$P/selfsigned.key"; SSP=$CERTDEV_PORT
tryncs ss1 "$SSP"
check "M-06 a self-signed device is refused by default" \
  bash -c "[ $? != 0 ] && grep -q 'certificate' '$T/ss1.err' && ! grep -q '\"status\":\"ok\"' '$T/ss1.out'"
PIN=$(openssl x509 -in "$P/selfsigned.pem" -outform DER | sha256sum | cut -c1-64)
tryncs ss2 "$SSP" "pin = $PIN"
check "M-06 the same device accepted by its SHA-256 pin" grep -q '"status":"ok"' "$T/ss2.out"
tryncs ss3 "$SSP" "self_signed = yes"
check "M-06 ... or when self-signed is allowed for that peer" grep -q '"status":"ok"' "$T/ss3.out"
OCSPP=$(free_port)
make_pki "$T/pki2" "$OCSPP"
start_ocsp "$T/pki2" "$OCSPP"
certdev rvdev "$T/pki2/revoked-rsa.chain.pem" "$T/pki2/revoked-rsa.key" yes; RVP=$CERTDEV_PORT
for _ in $(seq 50); do grep -q 'OCSP status revoked' "$T/rvdev.err" && break; sleep 0.1; done
tryncs rv "$RVP" "ca = $T/pki2/root-ca.pem"
check "B-12 a device whose stapled status is revoked is refused" \
  bash -c "grep -q 'revoked' '$T/rv.err' && ! grep -q '\"status\":\"ok\"' '$T/rv.out'"

# ---- passive mode: the NCS is behind a firewall and dials everything ----
stop_pid "$PID_dev"
PDEV=$(free_port)
conf pdev mos mos.castgate.demo passive-outside "$PDEV"
conf pncs ncs ncs.castgate.demo passive-inside "" "wss://localhost:$PDEV/mos/Communication"
serve pdev
serve pncs
for _ in $(seq 100); do [ $(grep -c '"up":true' "$T/pncs.out") -ge 6 ] && break; sleep 0.05; done
check "M-08 the inside NCS holds six lanes (three of them passive)" \
  bash -c "[ \$(grep -c '\"up\":true' '$T/pncs.out') -ge 6 ]"
stop_pid "$PID_pncs"
# The NCS originates on its ordinary lanes.
exchange pncs mos.castgate.demo "$T/pdev.out" "M-08 passive, NCS originates"
# The device originates over the passive lanes the NCS dialed: the device's
# `mos send` listens; the NCS's `mos serve` dials in.
stop_pid "$PID_pdev"
serve pncs
exchange pdev ncs.castgate.demo "$T/pncs.out" "M-08 passive, device originates"
# The listener (gone with that send) comes back: how soon are the lanes up?
sleep 1
before=$(grep -c '"up":true' "$T/pncs.out")
serve pdev; t0=$(date +%s%N) # the listener is up from here
for _ in $(seq 6000); do # up to 30 s
  [ $(( $(grep -c '"up":true' "$T/pncs.out") - before )) -ge 6 ] && break; sleep 0.005
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# How fast is measured by `make bench PARTS=reconnect` (p99 target < 1 s), not
# asserted here: under load a timing limit only makes the test flaky. Here:
# the six lanes come back by themselves (M-08: "as quickly as possible").
echo "M-08: all six lanes back ${ms} ms after the listener returned (information; see bench reconnect)"
check "M-08 all six lanes back after the listener returned" \
  test $(( $(grep -c '"up":true' "$T/pncs.out") - before )) -ge 6
finish
