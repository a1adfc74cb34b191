#!/usr/bin/env bash
# make bench: runs benchmark parts side by side on loopback and merges them
# into one report (bench/README.md).
#   PARTS="relay codec"  a subset (default: every part below that exists)
#   BENCH_QUICK=1        a short smoke run (a few seconds per figure)
#   BENCH_ALLOW_DIRTY=1  run from a tree with uncommitted changes (refused
#                        otherwise); the diff is recorded beside the results
# Creates bench/results/<stamp>/ (CG_BENCH_DIR: each part's <part>.json and
# log, profiles) and bench/results/<stamp>.{json,md,png} (bench/report.py).
# Each part is bench/<part>.sh; a failing part is reported, the rest still run.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ALL_PARTS="relay reconnect codec handshake scale echo hostile front pair"
parts=${PARTS:-}
[ -n "$parts" ] || parts=$ALL_PARTS
for p in $parts; do
  case " $ALL_PARTS " in *" $p "*) ;; *) echo "bench: unknown part '$p' (parts: $ALL_PARTS)" >&2; exit 2 ;; esac
done
# A result names the commit it measured: refuse a tree with changes (tracked
# or untracked, outside bench/results), unless BENCH_ALLOW_DIRTY=1, which
# records the diff beside the results.
dirty=$(git -C "$root" status --porcelain -- . ':(exclude)bench/results' 2>/dev/null)
if [ -n "$dirty" ] && [ "${BENCH_ALLOW_DIRTY:-0}" != 1 ]; then
  echo "bench: the tree has uncommitted changes; commit them (or BENCH_ALLOW_DIRTY=1 to record the diff):" >&2
  echo "$dirty" | head -20 >&2
  exit 2
fi
stamp=$(date -u +%Y-%m-%dT%H%M)
export CG_BENCH_DIR=${CG_BENCH_DIR:-$root/bench/results/$stamp}
export CG_BENCH_BUILD=${CG_BENCH_BUILD:-$root/build-bench}
CASTGATE_GIVEN=${CASTGATE:-}
export CASTGATE=${CASTGATE:-$root/build/bin/castgate}
export CG_SHARED_DIR=${CG_SHARED_DIR:-$root/../shared}
mkdir -p "$CG_BENCH_DIR"
git -C "$root" rev-parse HEAD >"$CG_BENCH_DIR/commit"
if [ -n "$dirty" ]; then
  { echo "# uncommitted changes measured with this result (BENCH_ALLOW_DIRTY=1)"; echo "$dirty";
    git -C "$root" diff HEAD
    git -C "$root" ls-files --others --exclude-standard -- . ':(exclude)bench/results' |
      while read -r f; do git -C "$root" diff --no-index -- /dev/null "$f"; done; } >"$CG_BENCH_DIR/dirty.diff"
  echo "bench: WARNING: a dirty tree; the diff is in ${CG_BENCH_DIR#$root/}/dirty.diff" >&2
fi
# Other benchmarks and soaks look for this to tell our processes from theirs.
export CG_BENCH_RUN_PID=$$
# machine_check LABEL: the load and any other benchmark or soak running, one
# JSON line in machine.jsonl (bench/report.py shows them), warnings on stderr.
machine_check() { python3 "$root/bench/lib/machine.py" check "$1" >>"$CG_BENCH_DIR/machine.jsonl"; }
machine_check start

# The program under test is the RelWithDebInfo build `make build` makes (the
# one `make install` installs), rebuilt from this tree every time (a binary
# left from another commit would be measured under this commit's name); the
# load generators are a Release build.
if [ -z "${CASTGATE_GIVEN:-}" ]; then make -C "$root" build >/dev/null || exit 1; fi
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
  machine_check "before $part"
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
machine_check end
python3 "$root/bench/report.py" "$CG_BENCH_DIR"
# make bench fails when a part failed (its figures are still in the report).
! grep -q "$(printf '\tfailed\t')" "$status"
