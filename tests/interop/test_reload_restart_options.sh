#!/usr/bin/env bash
# SIGHUP and the options a reload cannot apply (issue 16): the warning names
# exactly the changed options the option table marks restart (castgate run
# --help shows them as [restart]), and none when only reloadable ones change.
# The gateway here has one link whose legacy gear never connects: nothing but
# the file and the reload matter.
. "$(dirname "$0")/lib.sh"

A=$(free_port)
conf() { # conf KEEPALIVE RETRIES DRAIN
  printf '[gateway]\nkeepalive_s = %s\nretries = %s\ndrain_ms = %s\n[link a]\nlegacy = ncs\nncs_id = N\nmos_id = D\nlegacy_listen = 127.0.0.1:%s,%s\n' \
    "$1" "$2" "$3" "$A" "$(free_port)" >"$T/gw.conf"
}
conf 30 3 10000
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" & GW=$!; PIDS+=($GW)
for _ in $(seq 200); do grep -q '"running"' "$T/gw.out" && break; sleep 0.05; done
check "the gateway runs" grep -q '"running"' "$T/gw.out"

reload() { # reload N: SIGHUP, wait for the Nth "link(s) kept running"
  kill -HUP "$GW"
  for _ in $(seq 200); do [ "$(grep -c 'kept running' "$T/gw.err")" -ge "$1" ] && break; sleep 0.05; done
}

conf 45 5 20000
reload 1
check "keepalive_s and retries changed: named as taking a restart" \
  grep -q 'reload: \[gateway\] keepalive_s, retries changed: that takes a restart; the running value stays' "$T/gw.err"
check "drain_ms (reloadable) is not named" bash -c "! grep 'takes a restart' '$T/gw.err' | grep -q drain_ms"
check "--help marks keepalive_s [restart] and drain_ms not" bash -c \
  "'$CASTGATE' run --help | grep -q '^    keepalive_s .*\[restart\]\$' && ! '$CASTGATE' run --help | grep -q '^    drain_ms .*\[restart\]'"

conf 45 5 5000
reload 2
check "only drain_ms changed: no restart warning this time" \
  test "$(grep -c 'takes a restart' "$T/gw.err")" = 1
check "the gateway stops cleanly" stop_pid "$GW"
finish
