#!/usr/bin/env bash
# MOS codec benchmark: MB/s of UCS-2BE input on the 2 MB roCreate and on a
# stream of small messages; castgate's framing, envelope and full check
# against a memchr scan, libxml2 alone and Sofie mos-connection (node).
# Writes bench/results/codec-<date>.json and .md. Not part of `make test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CG_SHARED_DIR:-$root/../shared}
build=${BENCH_BUILD:-$root/build-bench}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCG_BENCH=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" --target bench_codec -j "${JOBS:-2}" >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$build/bin/bench_codec" "$shared" --write-stream "$tmp/small.bin" > "$tmp/c.jsonl"
node_big='null'; node_small='null'
if command -v node >/dev/null && [ -d "$root/tests/interop/node_modules/@mos-connection" ]; then
  nbig=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["messages"])' "$tmp/c.jsonl")
  nsmall=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[1])["messages"])' "$tmp/c.jsonl")
  node_big=$(node "$root/bench/codec/mosconn_bench.js" "$shared/fixtures/mos/edge/ucs2be/roCreate-large-2MB.xml" "$nbig")
  node_small=$(node "$root/bench/codec/mosconn_bench.js" "$tmp/small.bin" "$nsmall")
fi
mkdir -p "$root/bench/results"
stamp=$(date -u +%Y-%m-%dT%H%M)
out="$root/bench/results/codec-$stamp"
python3 - "$tmp/c.jsonl" "$node_big" "$node_small" "$out" <<'PY'
import json, platform, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
nodes = [json.loads(sys.argv[2]) if sys.argv[2] != "null" else None,
         json.loads(sys.argv[3]) if sys.argv[3] != "null" else None]
for r, n in zip(rows, nodes):
    r["mos_connection_node"] = n
    if n:
        r["ratios"]["frame_envelope_vs_mos_connection"] = round(r["mb_s"]["frame_envelope"] / n["mb_s"], 1)
        r["ratios"]["validate_vs_mos_connection"] = round(r["mb_s"]["frame_envelope_validate"] / n["mb_s"], 1)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
meta = {"cpu": cpu, "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "kernel": platform.release(),
        "note": "MB/s = 10^6 bytes of UCS-2BE input per second; best of 5 runs; machine shared with other jobs"}
json.dump({"meta": meta, "results": rows}, open(sys.argv[4] + ".json", "w"), indent=2)
for r in rows:
    m = r["mb_s"]
    r["ratios"]["validate_only_time_vs_libxml2_sax"] = round(m["libxml2_sax"] / m["validate_only"], 3)
md = ["MB/s of UCS-2BE input (higher is better):", "",
      "| input | memchr scan | frame | frame+envelope | libxml2 alone (SAX) | libxml2 tree | cg_mos_validate alone | frame+envelope+validate | mos-connection (node) |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
for r in rows:
    m = r["mb_s"]; n = r["mos_connection_node"]
    md.append(f"| {r['input']} ({r['messages']} msgs, {r['bytes']/1e6:.1f} MB) | {m['memchr_scan']} | {m['frame']} | "
              f"{m['frame_envelope']} | {m['libxml2_sax']} | {m['libxml2_tree']} | {m['validate_only']} | "
              f"{m['frame_envelope_validate']} | {n['mb_s'] if n else 'n/a'} |")
md += ["", "Targets: (1) frame+envelope time within 5x of the memchr scan; (2) the full check at most 1.2x "
       "libxml2's own time; (3) at least 10x mos-connection.", "",
       "| input | (1) frame+env time / scan time | (2) validate time / libxml2 SAX time | frame+env+validate time / libxml2 SAX time | frame+env+validate time / libxml2 tree time | (3) frame+env speed / node | frame+env+validate speed / node |",
       "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
for r in rows:
    q = r["ratios"]
    md.append(f"| {r['input']} | {q['frame_envelope_time_vs_scan']} | {q['validate_only_time_vs_libxml2_sax']} | "
              f"{q['validate_time_vs_libxml2_sax']} | {q['validate_time_vs_libxml2_tree']} | "
              f"{q.get('frame_envelope_vs_mos_connection', 'n/a')} | {q.get('validate_vs_mos_connection', 'n/a')} |")
md += ["", f"CPU: {cpu}; {meta['note']}."]
open(sys.argv[4] + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "bench: wrote ${out#$root/}.json and .md"
