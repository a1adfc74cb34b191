#!/usr/bin/env bash
# Valgrind memcheck over a build without sanitizers: every unit test, then
# `castgate serve` under valgrind while interop tests drive it (the interop
# scripts run the program named by $CASTGATE: here a wrapper that execs
# valgrind). Fails on any memcheck error or definite leak.
#
#   scripts/valgrind.sh [BUILD_DIR] [INTEROP_TEST...]
#
# BUILD_DIR defaults to build-vg (Debug, no ASan: valgrind and ASan exclude
# each other). Interop tests default to test_ws_engine and test_bcp_http.
# Logs: BUILD_DIR/valgrind/.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build-vg}; shift || true
interop=("$@")
[ ${#interop[@]} -gt 0 ] || interop=(test_ws_engine test_bcp_http)
case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac

command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 1; }
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCG_SANITIZE=OFF >/dev/null || exit 1
cmake --build "$dir" -j "$(nproc)" >"$dir/build.log" 2>&1 || { tail -n 30 "$dir/build.log"; exit 1; }

logs="$dir/valgrind"
rm -rf "$logs" && mkdir -p "$logs"
VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-origins=yes --num-callers=30)
export CG_SOURCE_DIR="$root" CG_SHARED_DIR="$root/../shared" CG_BUILD_DIR="$dir"
unset ASAN_OPTIONS
fails=0

for t in "$dir"/bin/test_*; do
  name=$(basename "$t")
  if "${VG[@]}" --log-file="$logs/$name.log" "$t" >"$logs/$name.out" 2>&1; then
    echo "ok   - valgrind unit/$name"
  else
    echo "FAIL - valgrind unit/$name (exit $?; see $logs/$name.log)"
    fails=$((fails + 1))
  fi
done

# castgate serve under valgrind, one log per process; the interop scripts
# start and stop it (SIGTERM: a clean exit, so the leak check runs).
wrap="$logs/castgate-vg"
cat >"$wrap" <<SH
#!/usr/bin/env bash
exec ${VG[*]} --log-file="$logs/castgate.%p.log" "$dir/bin/castgate" "\$@"
SH
chmod +x "$wrap"
for t in "${interop[@]}"; do
  if CASTGATE="$wrap" bash "$root/tests/interop/$t.sh" >"$logs/$t.out" 2>&1; then
    echo "ok   - valgrind interop/$t ($(tail -n 1 "$logs/$t.out"))"
  else
    echo "FAIL - valgrind interop/$t: $(grep -c '^FAIL' "$logs/$t.out") checks failed (slower under valgrind?), see $logs/$t.out"
    fails=$((fails + 1))
  fi
done
for l in "$logs"/castgate.*.log; do
  [ -e "$l" ] || continue
  if grep -Eq 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$l"; then
    echo "FAIL - valgrind castgate: $(grep -E 'ERROR SUMMARY|definitely lost' "$l" | tr -s ' ' | cut -d' ' -f2- | paste -sd';') ($l)"
    fails=$((fails + 1))
  elif ! grep -q 'ERROR SUMMARY: 0' "$l"; then
    echo "FAIL - valgrind castgate: no summary, killed before exit? ($l)"
    fails=$((fails + 1))
  fi
done
echo "valgrind: $(ls "$logs"/castgate.*.log 2>/dev/null | wc -l) castgate processes checked, $fails failures"
[ "$fails" -eq 0 ]
