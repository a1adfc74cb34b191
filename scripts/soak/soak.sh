#!/usr/bin/env bash
# make soak: the gateway (castgate run) in the WAN topology under mixed traffic
# and periodic faults for SOAK_MINUTES (30) over SOAK_LINKS (50) links; see
# scripts/soak/soak.py and docs/soak.md. Output: SOAK_OUT (build/soak/DATE-TIME):
# summary.txt, summary.json, monitor.csv, both gateways' configs and logs.
# Exit 0 only when every message was applied exactly once and in order, every
# fault check held and RSS/fds stayed flat.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
CASTGATE=${CASTGATE:-$here/build/bin/castgate}
OUT=${SOAK_OUT:-$here/build/soak/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
# two gateways with 50 links each, and 200 legacy endpoints in one process
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true
DRIVER=
cleanup() {
  local p
  if [ -n "$DRIVER" ]; then kill -TERM "$DRIVER" 2>/dev/null; wait "$DRIVER" 2>/dev/null; fi
  DRIVER=
  # the driver kills its gateways itself; these are only left if it was killed
  if [ -f "$OUT/pids" ]; then
    for p in $(cat "$OUT/pids"); do
      grep -q castgate "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP
python3 "$here/scripts/soak/soak.py" --castgate "$CASTGATE" --src "$here" --out "$OUT" "$@" &
DRIVER=$!
wait "$DRIVER"
rc=$?
DRIVER=
echo "soak output: $OUT"
exit $rc
