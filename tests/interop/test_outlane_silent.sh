#!/usr/bin/env bash
# silent_reset_s (issue 20 item 6, field): a lane nothing arrives on for that
# long, not even a keepAlive (M-09), is reset and dialled again; off (the
# default), it stays. A fake NCS (npm ws, real wss) that never sends anything
# unprompted; two castgate devices dial it side by side for the same time,
# keepAlive at 1 s (scaled), one with silent_reset_s = 3, one without.
. "$(dirname "$0")/lib.sh"

fake_ncs_pki
for n in on off; do
  port=$(free_port)
  start_fake_ncs "$port" "$T/ncs-$n.out" --answer ack
  cat >"$T/dev-$n.conf" <<EOF
[endpoint]
role = mos
id = DEV
state_dir = $T/s-$n
keepalive_s = 1
$([ $n = on ] && echo "silent_reset_s = 3")
[peer NCS]
url = wss://localhost:$port/mos/Communication
ca = $P/root-ca.pem
channels = ro
EOF
  "$CASTGATE" mos serve --config "$T/dev-$n.conf" >"$T/dev-$n.out" 2>"$T/dev-$n.err" &
  PIDS+=($!)
done
sleep 11
opens() { grep -c '"event":"open".*channel=ro' "$T/ncs-$1.out"; }
echo "connections to the NCS in 11 s: with silent_reset_s = 3: $(opens on), without: $(opens off)"
grep 'connection reset' "$T/dev-on.err" | head -2
check "with the setting the silent lane was reset and dialled again" \
  bash -c "[ $(opens on) -ge 2 ] && grep -q 'nothing received for [0-9]* s: connection reset' '$T/dev-on.err'"
check "keepAlives went out meanwhile (they do not count as hearing from the peer)" \
  grep -q '"name":"keepAlive"' "$T/ncs-on.out"
check "without it the lane stayed up, one connection" bash -c "[ $(opens off) = 1 ]"
finish
