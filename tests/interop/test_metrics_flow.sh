#!/usr/bin/env bash
# The flow core's lane counters on the admin listener's /metrics (issue 15
# item 4; docs/metrics.md "Lanes"), each moved by real traffic through a
# gateway (castgate run) between a legacy NCS (plain TCP, UCS-2BE) and MOS 4.0
# devices (castgate mos serve over wss):
#  - link "dev": 5 requests one by one and a pipelined burst of 10: the burst
#    waits behind the request at the relay (held, M-22); every answered
#    request is one round trip in the histogram (its count = the answers);
#  - a repeat of an answered request: answered from memory (M-22);
#  - a request naming another mosID: NACKed by the endpoint (NACK sent);
#  - an old messageID with new content: the device (reused_id = nack) NACKs
#    it (NACK received, and a round trip);
#  - link "mute": its device never answers (--hold-ms): the gateway sends the
#    request again `retries` times under the same messageID, then gives up
#    (a timeout; M-22), and no round trip is counted;
#  - `promtool check metrics` is clean.
. "$(dirname "$0")/lib.sh"
need "curl" command -v curl
need "promtool (the prometheus package)" command -v promtool

P=$T/pki
make_pki "$P" "$(free_port)"
W=$(free_port); W2=$(free_port); GWP=$(free_port); AP=$(free_port); RO=$(free_port); RO2=$(free_port)
for d in dev mute; do
  port=$W; id=DEV; ncs=NCS
  [ $d = mute ] && port=$W2 && id=DEV2 && ncs=NCS2
  mos4_device_conf "$id" "$port" "$T/s-$d" "$ncs" ro "reused_id = nack" >"$T/$d.conf"
done
"$CASTGATE" mos serve --config "$T/dev.conf" >"$T/dev.out" 2>"$T/dev.err" &
PIDS+=($!)
# an application that never answers in time: 10 minutes per request
"$CASTGATE" mos serve --config "$T/mute.conf" --hold-ms 600000 >"$T/mute.out" 2>"$T/mute.err" &
PIDS+=($!); wait_port "$W"; wait_port "$W2"

(umask 077; echo 'sekret-admin-pw' >"$T/admin.pw")
"$CASTGATE" passwd "$T/admin.htpasswd" admin <"$T/admin.pw" >/dev/null
printf 'far-side-pw\n' | "$CASTGATE" passwd "$T/gw.htpasswd" DEV >/dev/null 2>&1
cat >"$T/gw.conf" <<EOF
[gateway]
listen = 127.0.0.1:$GWP
credentials = $T/gw.htpasswd
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s-gw
ack_timeout_ms = 1000
retries = 2
admin_listen = 127.0.0.1:$AP
admin_credentials = $T/admin.htpasswd
[link dev]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:0,$RO
channels = ro
url = wss://localhost:$W/mos/Communication
ca = $P/root-ca.pem
[link mute]
legacy = ncs
ncs_id = NCS2
mos_id = DEV2
legacy_listen = 127.0.0.1:0,$RO2
channels = ro
path = /mos/mute
url = wss://localhost:$W2/mos/Communication
ca = $P/root-ca.pem
EOF
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!; PIDS+=($GW)
wait_port "$AP"; wait_port "$RO"; wait_port "$RO2"
kill -0 "$GW" 2>/dev/null || { bad "the gateway starts"; cat "$T/gw.err"; finish; exit 1; }
for l in dev mute; do
  for _ in $(seq 200); do grep -q "\"link\":\"$l\".*\"mos4\":\"up\"" "$T/gw.out" && break; sleep 0.05; done
done

metrics() { curl -s --cacert "$P/root-ca.pem" --resolve "localhost:$AP:127.0.0.1" \
              -u "admin:$(cat "$T/admin.pw")" "https://localhost:$AP/metrics" >"$T/m.txt"; }
value() { metrics; awk -v s="$1" 'index($0, s " ") == 1 { print $2 }' "$T/m.txt"; }
wait_value() { # wait_value SERIES TEST: until the value passes the test (10 s)
  local v
  for _ in $(seq 100); do v=$(value "$1"); [ -n "$v" ] && eval "$2" && return 0; sleep 0.1; done
  echo "    $1 = '$v'"; return 1
}
lane() { # lane LINK SIDE DIRECTION: the label set of a ro lane
  echo "{link=\"$1\",side=\"$2\",channel=\"ro\",direction=\"$3\"}"
}

# ncs PORT MODE SPEC...: a legacy NCS on the ro port. SPEC is mosID:messageID:roID;
# MODE seq sends each after the answer to the one before, burst all at once.
# Prints one line per answer: messageID OK|NACK.
cat >"$T/ncs.py" <<'PY'
import re, socket, sys
port, mode, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
E = lambda s: s.encode("utf-16-be")
END = E("</mos>")
def msg(spec):
    mos, mid, ro = spec.split(":")
    return E("<mos><mosID>%s</mosID><ncsID>NCS%s</ncsID><messageID>%s</messageID><roCreate>"
             "<roID>%s</roID><roSlug>flow stats</roSlug></roCreate></mos>"
             % (mos, "2" if mos == "DEV2" else "", mid, ro))
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(60)
buf = b""
def answer():
    global buf
    while END not in buf:
        chunk = s.recv(65536)
        if not chunk: sys.exit("closed")
        buf += chunk
    i = buf.index(END) + len(END)
    text, buf = buf[:i].decode("utf-16-be", "replace"), buf[i:]
    mid = re.search(r"<messageID>([^<]*)</messageID>", text)
    st = re.search(r"<roStatus>([^<]*)</roStatus>", text)
    # roStatus OK, or a NACK's text (the endpoint's, the relay's or the device's words)
    print(mid.group(1) if mid else "-", "OK" if st and st.group(1) == "OK" else "NACK", flush=True)
if mode == "burst":
    s.sendall(b"".join(msg(x) for x in specs))
    for _ in specs: answer()
else:
    for x in specs:
        s.sendall(msg(x)); answer()
PY
ncs() { timeout 120 python3 "$T/ncs.py" "$@"; }
oks() { grep -c ' OK$' "$1"; }

# ---- link dev: round trips, one by one ----
ncs "$RO" seq DEV:1:R1 DEV:2:R2 DEV:3:R3 DEV:4:R4 DEV:5:R5 >"$T/a.out" 2>&1
check "5 requests one by one: 5 answered OK ($(oks "$T/a.out"))" test "$(oks "$T/a.out")" = 5
check "5 round trips in link dev's mos4 ro out histogram" \
  wait_value "castgate_lane_round_trip_seconds_count$(lane dev mos4 out)" '[ "$v" = 5 ]'
check "its +Inf bucket holds all 5" \
  test "$(value "castgate_lane_round_trip_seconds_bucket{link=\"dev\",side=\"mos4\",channel=\"ro\",direction=\"out\",le=\"+Inf\"}")" = 5
check "5 requests sent first time towards the device" \
  test "$(value "castgate_lane_requests_total$(lane dev mos4 out)")" = 5
check "5 of the NCS's requests delivered to the relay" \
  test "$(value "castgate_lane_requests_total$(lane dev legacy in)")" = 5

# ---- a repeat answered from memory (M-22) ----
ncs "$RO" seq DEV:5:R5 >"$T/b.out" 2>&1
check "the repeat of messageID 5 is answered ($(cat "$T/b.out"))" grep -q '^5 OK$' "$T/b.out"
check "castgate_lane_repeats_answered_total on the legacy side's ro in lane is 1" \
  wait_value "castgate_lane_repeats_answered_total$(lane dev legacy in)" '[ "$v" = 1 ]'
check "the repeat did not reach the device: still 5 round trips" \
  test "$(value "castgate_lane_round_trip_seconds_count$(lane dev mos4 out)")" = 5

# ---- the endpoint's own NACK: a request naming another mosID (NACK sent) ----
ncs "$RO" seq OTHER:6:R6 >"$T/c.out" 2>&1
check "a request for mosID OTHER is NACKed ($(cat "$T/c.out"))" grep -q '^6 NACK$' "$T/c.out"
check "castgate_lane_nacks_total on the legacy side's ro in lane is 1 (sent)" \
  wait_value "castgate_lane_nacks_total$(lane dev legacy in)" '[ "$v" = 1 ]'

# ---- the device's NACK: messageID 3 again with other content (NACK received) ----
ncs "$RO" seq DEV:3:R3-other >"$T/d.out" 2>&1
check "messageID 3 with other content: the device's NACK reaches the NCS ($(cat "$T/d.out"))" \
  grep -q '^3 NACK$' "$T/d.out"
check "castgate_lane_nacks_total on the mos4 side's ro out lane is 1 (received)" \
  wait_value "castgate_lane_nacks_total$(lane dev mos4 out)" '[ "$v" = 1 ]'

# ---- a pipelined burst: requests wait behind the one at the relay (held) ----
ncs "$RO" burst $(for i in $(seq 100 109); do printf 'DEV:%d:B%d ' "$i" "$i"; done) >"$T/e.out" 2>&1
check "a burst of 10: 10 answered OK ($(oks "$T/e.out"))" test "$(oks "$T/e.out")" = 10
hm=$(value "castgate_lane_held_max$(lane dev legacy in)")
check "castgate_lane_held_max on the legacy side's ro in lane moved ($hm)" test "${hm:-0}" -ge 1
check "and nothing waits now" test "$(value "castgate_lane_held$(lane dev legacy in)")" = 0
answered=$(( $(oks "$T/a.out") + $(oks "$T/e.out") + 1 )) # + the device's NACK, an answer too
check "round trips = requests the device answered ($answered)" \
  test "$(value "castgate_lane_round_trip_seconds_count$(lane dev mos4 out)")" = "$answered"

# ---- link mute: a device that does not answer ----
ncs "$RO2" seq DEV2:1:M1 >"$T/f.out" 2>&1
check "the request to the mute device ends in a NACK for the NCS ($(cat "$T/f.out"))" \
  grep -q '^1 NACK$' "$T/f.out"
check "castgate_lane_retries_total of link mute is 2 (retries = 2)" \
  wait_value "castgate_lane_retries_total$(lane mute mos4 out)" '[ "$v" = 2 ]'
check "castgate_lane_timeouts_total of link mute is 1" \
  test "$(value "castgate_lane_timeouts_total$(lane mute mos4 out)")" = 1
check "no round trip counted for it" \
  test "$(value "castgate_lane_round_trip_seconds_count$(lane mute mos4 out)")" = 0
check "the relay NACKed it for no answer (castgate_nacks_total reason no_answer)" \
  test "$(value 'castgate_nacks_total{link="mute",channel="ro",from="legacy",reason="no_answer"}')" = 1

# ---- the whole text ----
metrics
promtool check metrics <"$T/m.txt" >"$T/promtool.out" 2>&1; rc=$?
check "promtool check metrics: exit 0 and nothing to say (exit $rc)" bash -c "[ $rc = 0 ] && [ ! -s '$T/promtool.out' ]"
cat "$T/promtool.out"
grep '^castgate_lane_' "$T/m.txt" | grep -v '_bucket' | grep -v ' 0$'
finish
