#!/usr/bin/env bash
# Which leg is active, and why it changed, on /metrics and the status page
# (issue 18 item 4; docs/metrics.md "Redundancy", docs/redundancy.md): a
# redundancy = failover link whose MOS 4.0 side is a device (DEVA) and its hot
# standby (DEVB, two castgate mos serve), read through the admin listener
# (TLS, Basic credentials). DEVA is SIGKILLed: castgate_link_active_leg
# moves to the buddy, castgate_link_leg_switches_total{reason="unreachable"}
# counts it, castgate_link_leg_up says the primary is down and the page shows
# the buddy and why; DEVA is started again: the active leg is the primary
# once more and {reason="primary_back"} counts it. `promtool check metrics`
# finds nothing to say.
. "$(dirname "$0")/lib.sh"
need "curl" command -v curl
need "promtool (the prometheus package)" command -v promtool

P=$T/pki
make_pki "$P" "$(free_port)"
WA=$(free_port); WB=$(free_port); A=$(free_port); GWP=$(free_port); AP=$(free_port)

start_mos4_device DEVA "$WA"
start_mos4_device DEVB "$WB"

(umask 077; echo 'sekret-admin-pw' >"$T/admin.pw")
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
$(failover_link "$A" "$WA" "$WB")
EOF2
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!; PIDS+=($GW)
wait_port "$AP"
kill -0 "$GW" 2>/dev/null || { bad "the gateway starts"; cat "$T/gw.err"; finish; exit 1; }

get() { # get PATH OUTFILE: 0 when the admin listener answered 200
  local code
  code=$(curl -s --cacert "$P/root-ca.pem" --resolve "localhost:$AP:127.0.0.1" \
    -u "admin:$(cat "$T/admin.pw")" -o "$2" -w '%{http_code}' "https://localhost:$AP$1")
  [ "$code" = 200 ]
}
# value SERIES: its value in the last scrape ($T/m.txt), "none" when absent
value() {
  awk -v s="$1" 'index($0, s " ") == 1 { print $2; found = 1 } END { if (!found) print "none" }' "$T/m.txt"
}
ACT='castgate_link_active_leg{link="fo",side="mos4",leg='
SW='castgate_link_leg_switches_total{link="fo",side="mos4",reason='
UP='castgate_link_leg_up{link="fo",side="mos4",leg='
# until SECONDS CONDITION...: scrape until the condition (over value) holds
# (wall clock: give a loaded machine room)
until_metrics() {
  local end=$((SECONDS + $1)); shift
  while ((SECONDS < end)); do
    get /metrics "$T/m.txt" && eval "$*" && return 0
    sleep 0.2
  done
  echo "timed out waiting for: $*" >&2
  grep '^castgate_link_\(active_leg\|leg_\)' "$T/m.txt" >&2
  return 1
}
step() { local what=$1; shift; if until_metrics "$@"; then ok "$what"; else bad "$what"; tail -5 "$T/gw.err"; fi; }

# At start the primary counts as unreachable until its lanes are up: if DEVB's
# came up first for failover_after_ms there was a switch (and a failback 3 s
# later). What this test counts is from the steady state on.
step "both legs up, the primary active" 90 \
  '[ "$(value "${UP}\"primary\"}")" = 1 ] && [ "$(value "${UP}\"buddy\"}")" = 1 ] &&
   [ "$(value "${ACT}\"primary\"}")" = 1 ] && [ "$(value "${ACT}\"buddy\"}")" = 0 ]'
U0=$(value "${SW}\"unreachable\"}"); B0=$(value "${SW}\"primary_back\"}")
check "the switch counters are there (unreachable $U0, primary_back $B0)" \
  bash -c "[[ '$U0' =~ ^[0-9]+$ && '$B0' =~ ^[0-9]+$ ]]"
[[ $U0 =~ ^[0-9]+$ ]] || U0=0; [[ $B0 =~ ^[0-9]+$ ]] || B0=0 # missing: failed above, and below
check "the buddy's declines are counted (0 here: $(value 'castgate_link_buddy_declines_total{link="fo"}'))" \
  test "$(value 'castgate_link_buddy_declines_total{link="fo"}')" = 0
get / "$T/page1.html"
check "the status page: the primary is the active leg" grep -q 'data-active="primary">primary <small>since' "$T/page1.html"

kill -KILL "$PID_DEVA"; wait "$PID_DEVA" 2>/dev/null
step "DEVA killed: the buddy becomes the active leg" 60 '[ "$(value "${ACT}\"buddy\"}")" = 1 ]'
check "castgate_link_active_leg: the primary 0" test "$(value "${ACT}\"primary\"}")" = 0
check "castgate_link_leg_switches_total{reason=\"unreachable\"} counts it ($U0 -> $(value "${SW}\"unreachable\"}"))" \
  test "$(value "${SW}\"unreachable\"}")" = $((U0 + 1))
check "castgate_link_leg_up: the primary is down" test "$(value "${UP}\"primary\"}")" = 0
get / "$T/page2.html"
check "the status page: the buddy, because the primary was unreachable" \
  grep -q 'data-active="buddy">buddy <small>since [^<]*; switched because the primary was unreachable for' "$T/page2.html"
promtool check metrics <"$T/m.txt" >"$T/promtool.out" 2>&1; rc=$?
check "promtool check metrics: exit 0 and nothing to say (exit $rc)" bash -c "[ $rc = 0 ] && [ ! -s '$T/promtool.out' ]"
cat "$T/promtool.out"

start_mos4_device DEVA "$WA"
step "DEVA back for failback_after_ms: the primary is the active leg again" 90 \
  '[ "$(value "${ACT}\"primary\"}")" = 1 ]'
check "castgate_link_active_leg: the buddy 0" test "$(value "${ACT}\"buddy\"}")" = 0
check "castgate_link_leg_switches_total{reason=\"primary_back\"} counts it ($B0 -> $(value "${SW}\"primary_back\"}"))" \
  test "$(value "${SW}\"primary_back\"}")" = $((B0 + 1))
check "castgate_link_leg_switches_total{reason=\"unreachable\"} still $((U0 + 1))" \
  test "$(value "${SW}\"unreachable\"}")" = $((U0 + 1))
check "castgate_link_leg_up: the primary is up" test "$(value "${UP}\"primary\"}")" = 1
get / "$T/page3.html"
check "the status page: the primary, switched back" \
  grep -q 'data-active="primary">primary <small>since [^<]*; switched back because the primary was up again for' "$T/page3.html"
check "the gateway's events say the same: two switches after the steady state" \
  bash -c "[ \$(grep -c '\"event\":\"active\"' '$T/gw.out') = $((U0 + B0 + 2)) ]"
stop_pid "$GW"; grc=$?
check "the gateway stops cleanly (exit status $grc)" test "$grc" = 0
finish
