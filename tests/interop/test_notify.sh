#!/usr/bin/env bash
# castgate run under systemd's notify protocol (sd_notify(3), tools/notify.c),
# against a NOTIFY_SOCKET this test listens on (systemd as PID 1 is not
# available here): READY=1 only once every listener is bound, STATUS= with the
# links up, WATCHDOG=1 from the event loop when WATCHDOG_USEC is set (and not
# when WATCHDOG_PID names another process), RELOADING=1 then READY=1 around a
# SIGHUP reload, STOPPING=1 on SIGTERM; log lines carry "<N>" syslog
# priorities when stderr is the journal (JOURNAL_STREAM), and only then.
. "$(dirname "$0")/lib.sh"
need "python3" python3 -c 'import socket; socket.AF_UNIX'

P=$T/pki
make_pki "$P" "$(free_port)"
W=$(free_port); GWP=$(free_port); A=$(free_port); A2=$(free_port)

cat >"$T/dev.conf" <<EOF2
[endpoint]
role = mos
id = DEV
listen = 127.0.0.1:$W
auth = none
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s-dev
[peer NCS]
channels = mom,ro
EOF2
"$CASTGATE" mos serve --config "$T/dev.conf" >"$T/dev.out" 2>"$T/dev.err" &
PIDS+=($!); wait_port "$W"

cat >"$T/gw.conf" <<EOF2
[gateway]
listen = 127.0.0.1:$GWP
auth = none                 # the far side does not originate in this test
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s-gw
keepalive_s = 5
[link a]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:$A,$A2
channels = mom,ro
url = wss://localhost:$W/mos/Communication
ca = $P/root-ca.pem
EOF2

# start_listener NAME PORT...: a notify socket at $T/NAME.sock logging to $T/NAME.log
start_listener() {
  local n=$1; shift
  python3 "$SRC/tests/interop/notify_listen.py" "$T/$n.sock" "$T/$n.log" "$@" &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q LISTENING "$T/$n.log" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
wait_for() { # wait_for FILE REGEX [SECONDS]
  for _ in $(seq $((${3:-20} * 20))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

start_listener n "$GWP" "$A" "$A2"
: >"$T/gw.err"
JS=$(stat -c '%d:%i' "$T/gw.err")
NOTIFY_SOCKET=$T/n.sock WATCHDOG_USEC=400000 JOURNAL_STREAM=$JS \
  "$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>>"$T/gw.err" &
GW=$!; PIDS+=($GW)

check "READY=1 is sent" wait_for "$T/n.log" '^READY=1'
check "at READY=1 the wss listener is bound" wait_for "$T/n.log" "^BOUND $GWP yes" 2
check "at READY=1 both legacy listeners are bound" bash -c \
  "grep -q '^BOUND $A yes' '$T/n.log' && grep -q '^BOUND $A2 yes' '$T/n.log'"
check "READY=1 comes after the 'running' event (nothing before it said READY)" \
  grep -q '"event":"running"' "$T/gw.out"
check "STATUS= says how many links are up" wait_for "$T/n.log" '^STATUS=[0-9]+ of 1 link\(s\) up'
check "STATUS= follows the far side coming up" wait_for "$T/n.log" 'MOS 4.0 side up: 1' 30
sleep 1.5
nwd=$(grep -c '^WATCHDOG=1$' "$T/n.log")
check "WATCHDOG=1 keeps coming with WATCHDOG_USEC=400000 ($nwd in about 1.5 s)" test "$nwd" -ge 3

before=$(wc -l <"$T/n.log")
kill -HUP "$GW"
check "RELOADING=1 on SIGHUP, with MONOTONIC_USEC" wait_for "$T/n.log" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$'
check "READY=1 again after the reload, and after RELOADING=1" bash -c \
  "for _ in \$(seq 100); do tail -n +$((before + 1)) '$T/n.log' | grep -v WATCHDOG | grep -E '^(RELOADING|READY)' | tr '\n' ' ' | grep -q '^RELOADING=1|MONOTONIC_USEC=[0-9]* READY=1 ' && exit 0; sleep 0.05; done; exit 1"
check "the reload itself happened" wait_for "$T/gw.err" 'reload: 1 link\(s\) kept running'

check "log lines carry a syslog priority when stderr is the journal" grep -qE '^<[0-7]>castgate (warn|info|error) ' "$T/gw.err"
check "the warning about keepalive_s < 30 is <4> (warning)" grep -qE '^<4>castgate warn .*keepAlive' "$T/gw.err"

kill -TERM "$GW"
check "STOPPING=1 on SIGTERM" wait_for "$T/n.log" '^STOPPING=1$'
wait "$GW"; rc=$?
check "the gateway exits 0 after SIGTERM (exit $rc)" test "$rc" = 0

# Not under systemd: no prefixes; WATCHDOG_PID of another process: no watchdog.
start_listener m
NOTIFY_SOCKET=$T/m.sock WATCHDOG_USEC=200000 WATCHDOG_PID=1 \
  "$CASTGATE" run --config "$T/gw.conf" >"$T/gw2.out" 2>"$T/gw2.err" &
GW2=$!; PIDS+=($GW2)
check "READY=1 (second run)" wait_for "$T/m.log" '^READY=1'
sleep 1
check "no WATCHDOG=1 when WATCHDOG_PID is another process" bash -c "! grep -q WATCHDOG '$T/m.log'"
check "no '<N>' prefixes without JOURNAL_STREAM" bash -c "! grep -qE '^<[0-7]>' '$T/gw2.err' && grep -q '^castgate warn' '$T/gw2.err'"
kill -TERM "$GW2"; wait "$GW2"
finish
