#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each, growing the committed corpus
# (new inputs are merged into fuzz/corpus/<name>/ in minimised form).
set -euo pipefail
dir=${1:-build-fuzz}; secs=${2:-600}
root=$(cd "$(dirname "$0")/.." && pwd)
for bin in "$dir"/bin/fuzz_*; do
  name=$(basename "$bin"); short=${name#fuzz_}
  corpus="$root/fuzz/corpus/$short"; mkdir -p "$corpus"
  work=$(mktemp -d)
  echo "fuzz: $name for ${secs}s (corpus $(ls "$corpus" | wc -l) files)"
  "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$root/fuzz/" "$work" "$corpus" 2>&1 | tail -n 12
  "$bin" -merge=1 "$corpus" "$work" >/dev/null 2>&1
  rm -rf "$work"
done
