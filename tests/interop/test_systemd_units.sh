#!/usr/bin/env bash
# The systemd units in dist/systemd: `systemd-analyze verify` clean (on a copy
# whose ExecStart names the castgate under test, man page references not
# looked up: tests/interop/test_package.sh verifies the installed units with
# both), and `systemd-analyze security --offline=true` exposure <= 2.0 for
# castgate@.service (issue 15, part 2). No systemd as PID 1 is needed.
. "$(dirname "$0")/lib.sh"
need "systemd-analyze (the systemd package)" command -v systemd-analyze

U=$SRC/dist/systemd
for unit in castgate@.service castgate-ocsp@.service; do
  sed "s|/usr/bin/castgate|$CASTGATE|g" "$U/$unit" >"$T/$unit"
  (cd "$T" && systemd-analyze verify --man=no "$T/$unit") >"$T/verify.out" 2>&1; rc=$?
  check "systemd-analyze verify $unit: exit 0 (exit $rc)" test "$rc" = 0
  check "systemd-analyze verify $unit: says nothing" test ! -s "$T/verify.out"
  [ -s "$T/verify.out" ] && cat "$T/verify.out"
  (cd "$T" && systemd-analyze security --offline=true --no-pager "$U/$unit") >"$T/sec.out" 2>&1
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/sec.out")
  echo "     $unit: exposure ${score:-?}"
  check "systemd-analyze security $unit: exposure ${score:-?} <= 2.0" \
    python3 -c "import sys; sys.exit(0 if '$score' and float('$score') <= 2.0 else 1)"
done
# The system calls castgate makes to lower its own threads' priority must pass
# the unit's filter (SystemCallFilter lines applied in order, as systemd does:
# the first line sets allow-list mode, later lines add or, with ~, remove;
# groups expanded by systemd-analyze syscall-filter). Under ~@resources alone
# setpriority (the hash and handshake threads at nice 10, src/core/bgpool.c)
# and sched_setscheduler (its SCHED_IDLE option) failed with EPERM.
NEEDED="setpriority sched_setscheduler getpriority sched_getscheduler"
filter_allows() { # filter_allows UNIT: exit 0 when every NEEDED call passes
  python3 - "$1" "$NEEDED" <<'PY'
import subprocess, sys
unit, needed = sys.argv[1], sys.argv[2].split()
def expand(item):
    if not item.startswith("@"):
        return {item}
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", item],
                         capture_output=True, text=True, check=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        w = line.strip()
        if w and not w.startswith("#"):
            calls |= expand(w) if w.startswith("@") else {w}
    return calls
allow = None
for line in open(unit):
    if not line.startswith("SystemCallFilter="):
        continue
    v = line.split("=", 1)[1].strip()
    deny = v.startswith("~")
    calls = set().union(*(expand(i) for i in v.lstrip("~").split()))
    if allow is None:
        if deny:
            sys.exit("a deny-list filter: not what the units use")
        allow = calls
    elif deny:
        allow -= calls
    else:
        allow |= calls
missing = [c for c in needed if allow is not None and c not in allow]
if missing:
    print("     refused by the filter: " + " ".join(missing))
sys.exit(1 if missing else 0)
PY
}
for unit in castgate@.service castgate-ocsp@.service; do
  check "$unit: its filter lets a thread lower its priority ($NEEDED)" filter_allows "$U/$unit"
done
grep -v '^SystemCallFilter=setpriority' "$U/castgate@.service" >"$T/nolower@.service"
filter_refuses() { ! filter_allows "$1"; }
check "without the allow line ~@resources refuses them (the check can fail)" \
  filter_refuses "$T/nolower@.service"
# A unit that fails verification must fail here: a typo'd option.
sed 's/^ProtectSystem=strict/ProtectSistem=strict/' "$T/castgate@.service" >"$T/bad@.service"
(cd "$T" && systemd-analyze verify --man=no "$T/bad@.service") >"$T/bad.out" 2>&1
check "verify catches an unknown option (the check can fail)" grep -q "Unknown key 'ProtectSistem'" "$T/bad.out"
check "the low-port drop-in grants only CAP_NET_BIND_SERVICE" bash -c \
  "grep -qx 'AmbientCapabilities=CAP_NET_BIND_SERVICE' '$U/low-port.conf' && grep -qx 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' '$U/low-port.conf'"
check "the gateway unit holds no capability by default" grep -qx 'CapabilityBoundingSet=' "$U/castgate@.service"
finish
