#!/usr/bin/env bash
# What a gateway spends per relayed message in system calls (issue 13: the
# 1 KB relay against stunnel). An NCS sends N MOS 2.x requests through
# `castgate run` (legacy = ncs, a wss client) to a MOS 4.0 device; the
# gateway runs under strace. Counted, not timed:
# - the per-message JSON event lines (`relay`) all reach stdout, but not one
#   write(2) each: they are flushed in batches (the link and lane lines at
#   once);
# - the client's masking keys (RFC 6455 5.3, fresh and unpredictable per
#   frame) are not one RAND_bytes call each (OpenSSL's RAND_bytes costs a
#   getpid(2) per call for its fork check): the keys come from a pool.
. "$(dirname "$0")/lib.sh"
need "strace" command -v strace
need "strace can trace here (ptrace)" strace -f -o /dev/null true
N=60

start_dev_for_gateway
strace -f -qq -e trace=write,getpid -o "$T/gw.strace" "$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
ST=$!; PIDS+=($ST)
wait_port "$RO" 60
GW=$(pgrep -P "$ST" | head -1)
[ -n "$GW" ] && PIDS+=($GW)
for _ in $(seq 400); do grep -q '"mos4":"up"' "$T/gw.out" && break; sleep 0.05; done
check "the gateway's link is up" grep -q '"mos4":"up"' "$T/gw.out"

# counted from here: what the start-up costs (TLS, the link's lines) is not per message
python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$RO" --count 1 --start 1000 --retry-s 5 >"$T/ncs0.out"
check "a first request is answered" grep -q '"acked": 1' "$T/ncs0.out"
sleep 0.5
count() { grep -c "$1" "$T/gw.strace"; }
outs0=$(count 'write(1, '); pids0=$(count 'getpid()')
python3 "$SRC/tests/interop/mos2peer.py" ncs --port "$RO" --count "$N" --retry-s 5 >"$T/ncs.out"
check "the NCS's $N requests are answered through the gateway" grep -q "\"acked\": $N" "$T/ncs.out"
relayed() { grep -c '"event":"relay".*"from":"legacy"' "$T/gw.out"; }
for _ in $(seq 100); do [ "$(relayed)" -ge $((N + 1)) ] && break; sleep 0.05; done
outs=$(($(count 'write(1, ') - outs0)); pids=$(($(count 'getpid()') - pids0))
check "one relay event line per message on stdout ($(relayed) of $((N + 1)))" test "$(relayed)" = $((N + 1))
check "each relay line names the link and the message" \
  bash -c "[ \$(grep -c '\"event\":\"relay\",\"peer\":\"NCS\",\"channel\":\"ro\",\"message\":\"roReq\".*\"link\":\"ncs\"' '$T/gw.out') = $((N + 1)) ]"
kill -TERM "$GW" 2>/dev/null; wait "$ST"
check "stdout written in batches: $outs write(2) calls for $N messages (< N/4)" test "$outs" -lt $((N / 4))
check "masking keys from a pool: $pids getpid(2) calls for $N frames (< N/4)" test "$pids" -lt $((N / 4))
finish
