#!/usr/bin/env bash
# make bench: runs benchmark parts side by side on loopback and merges them
# into one report (bench/README.md).
#   PARTS="relay codec"  a subset (default: every part below that exists)
#   BENCH_QUICK=1        a short smoke run (a few seconds per figure)
# Creates bench/results/<stamp>/ (CG_BENCH_DIR: each part's <part>.json and
# log, profiles) and bench/results/<stamp>.{json,md,png} (bench/report.py).
# Each part is bench/<part>.sh; a failing part is reported, the rest still run.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ALL_PARTS="relay reconnect codec handshake scale echo hostile"
parts=${PARTS:-}
[ -n "$parts" ] || parts=$ALL_PARTS
for p in $parts; do
  case " $ALL_PARTS " in *" $p "*) ;; *) echo "bench: unknown part '$p' (parts: $ALL_PARTS)" >&2; exit 2 ;; esac
done
stamp=$(date -u +%Y-%m-%dT%H%M)
export CG_BENCH_DIR=${CG_BENCH_DIR:-$root/bench/results/$stamp}
export CG_BENCH_BUILD=${CG_BENCH_BUILD:-$root/build-bench}
export CASTGATE=${CASTGATE:-$root/build/bin/castgate}
export CG_SHARED_DIR=${CG_SHARED_DIR:-$root/../shared}
mkdir -p "$CG_BENCH_DIR"

# The program under test is the RelWithDebInfo build `make build` makes (the
# one `make install` installs); the load generators are a Release build.
if [ ! -x "$CASTGATE" ]; then make -C "$root" build >/dev/null || exit 1; fi
echo "bench: building the load generators in ${CG_BENCH_BUILD#$root/}"
cmake -S "$root" -B "$CG_BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release -DCG_BENCH=ON -DBUILD_TESTING=OFF >/dev/null &&
  cmake --build "$CG_BENCH_BUILD" -j "${JOBS:-$(nproc)}" >"$CG_BENCH_DIR/build.log" 2>&1 ||
  { tail -20 "$CG_BENCH_DIR/build.log" >&2; exit 1; }

status=$CG_BENCH_DIR/parts.tsv
: >"$status"
for part in $parts; do
  script=$root/bench/$part.sh
  if [ ! -f "$script" ]; then
    printf '%s\tmissing\t0\t\n' "$part" >>"$status"
    echo "bench: $part: no bench/$part.sh here, skipped"
    continue
  fi
  echo "bench: $part ..."
  rm -f "$CG_BENCH_DIR/$part.json"
  t0=$(date +%s)
  bash "$script" 2>&1 | tee "$CG_BENCH_DIR/$part.log"
  rc=${PIPESTATUS[0]}
  secs=$(($(date +%s) - t0))
  if [ "$rc" = 0 ] && [ -s "$CG_BENCH_DIR/$part.json" ]; then
    printf '%s\tok\t%s\t\n' "$part" "$secs" >>"$status"
  else
    why=$(tail -3 "$CG_BENCH_DIR/$part.log" | tr '\t\n' '  ')
    printf '%s\tfailed\t%s\texit %s: %s\n' "$part" "$secs" "$rc" "$why" >>"$status"
    echo "bench: $part FAILED (exit $rc), see ${CG_BENCH_DIR#$root/}/$part.log" >&2
  fi
done
python3 "$root/bench/report.py" "$CG_BENCH_DIR"
# make bench fails when a part failed (its figures are still in the report).
! grep -q "$(printf '\tfailed\t')" "$status"
