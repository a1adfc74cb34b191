#!/usr/bin/env bash
# Issue 12, denial of service: the threads that hash passwords (and validate
# large messages) run below the loop's priority, so the event loop thread
# wins the CPU over a guessing flood. Seen from outside, as an operator
# would: after one wrong password the device has threads named cg-lowprio,
# each SCHED_OTHER (policy 0, /proc/PID/task/*/stat field 41; not SCHED_IDLE,
# which starves on a busy machine: test_auth_busy_machine.sh) and nice 10
# (field 19), no more of them than CPUs - 1 (at least 1), and the
# loop thread itself (the process's main thread) stays at policy 0, nice 0.
# No timing is asserted.
. "$(dirname "$0")/lib.sh"

start_auth_dev

export NODE_PATH="$SRC/tests/interop/node_modules"
node "$SRC/tests/interop/wsclient.js" \
  "wss://localhost:$DEV/mos/Communication?mosID=mos.castgate.demo&ncsID=ncs.castgate.demo&channel=ro" \
  --ca "$P/root-ca.pem" --header "Authorization: Basic $(printf 'ncs.castgate.demo:wrong' | base64)" \
  --expect 0 >"$T/ws.out" 2>&1
for _ in $(seq 200); do grep -q 'wrong password' "$T/dev.err" && break; sleep 0.05; done
check "a wrong password was hashed and refused" grep -q 'wrong password' "$T/dev.err"

# field 2 is "(comm)"; comm may hold spaces in general, not here
: >"$T/tasks"
for t in /proc/$DEV_PID/task/*; do
  echo "$(cat "$t/comm") $(awk '{print $19, $41}' "$t/stat")" >>"$T/tasks"
done
cat "$T/tasks" | sed 's/^/    /'
cpus=$(nproc)
want=$(( cpus > 2 ? cpus - 1 : 1 )); [ "$want" -gt 16 ] && want=16
check "low-priority threads exist (cg-lowprio)" grep -q '^cg-lowprio ' "$T/tasks"
check "every cg-lowprio thread is nice 10 and SCHED_OTHER" \
  bash -c "grep '^cg-lowprio ' '$T/tasks' | awk '\$2 != 10 || \$3 != 0 { bad = 1 } END { exit bad }'"
check "as many as CPUs - 1, at least 1 ($want here)" \
  bash -c "[ \"\$(grep -c '^cg-lowprio ' '$T/tasks')\" = $want ]"
check "the loop thread stays at normal priority" \
  bash -c "[ \"\$(awk '{print \$19, \$41}' /proc/$DEV_PID/stat)\" = '0 0' ]"
check "the device is still running" kill -0 "$DEV_PID"
finish
