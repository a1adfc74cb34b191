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
# A unit that fails verification must fail here: a typo'd option.
sed 's/^ProtectSystem=strict/ProtectSistem=strict/' "$T/castgate@.service" >"$T/bad@.service"
(cd "$T" && systemd-analyze verify --man=no "$T/bad@.service") >"$T/bad.out" 2>&1
check "verify catches an unknown option (the check can fail)" grep -q "Unknown key 'ProtectSistem'" "$T/bad.out"
check "the low-port drop-in grants only CAP_NET_BIND_SERVICE" bash -c \
  "grep -qx 'AmbientCapabilities=CAP_NET_BIND_SERVICE' '$U/low-port.conf' && grep -qx 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' '$U/low-port.conf'"
check "the gateway unit holds no capability by default" grep -qx 'CapabilityBoundingSet=' "$U/castgate@.service"
finish
