#!/usr/bin/env bash
# Part 6, the MOS codec: MB/s of UCS-2BE input on the 2 MB roCreate and on a
# stream of small messages; castgate's framing, envelope and full check
# against a memchr scan, libxml2 alone and Sofie mos-connection (node).
# Writes $CG_BENCH_DIR/codec.json (bench/README.md); run by bench/run.sh,
# or alone (then into a fresh bench/results/<stamp>/). Not part of `make test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CG_SHARED_DIR:-$root/../shared}
build=${CG_BENCH_BUILD:-$root/build-bench}
out=${CG_BENCH_DIR:-$root/bench/results/$(date -u +%Y-%m-%dT%H%M)}
mkdir -p "$out"
if [ ! -x "$build/bin/bench_codec" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCG_BENCH=ON -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$build" --target bench_codec -j "${JOBS:-2}" >/dev/null
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$build/bin/bench_codec" "$shared" --write-stream "$tmp/small.bin" >"$tmp/c.jsonl"
node_big=null; node_small=null
if command -v node >/dev/null && [ -d "$root/tests/interop/node_modules/@mos-connection" ]; then
  nbig=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["messages"])' "$tmp/c.jsonl")
  nsmall=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[1])["messages"])' "$tmp/c.jsonl")
  node_big=$(node "$root/bench/codec/mosconn_bench.js" "$shared/fixtures/mos/edge/ucs2be/roCreate-large-2MB.xml" "$nbig")
  node_small=$(node "$root/bench/codec/mosconn_bench.js" "$tmp/small.bin" "$nsmall")
fi
python3 - "$tmp/c.jsonl" "$node_big" "$node_small" "$out/codec.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
nodes = [json.loads(a) if a != "null" else None for a in sys.argv[2:4]]
OPS = [("memchr_scan", "memchr scan for '<' (ceiling)", "memchr", "memchr scan"),
       ("frame", "castgate framing", "castgate", "castgate frame"),
       ("frame_envelope", "castgate framing + envelope", "castgate", "castgate frame+envelope"),
       ("libxml2_sax", "libxml2 alone (SAX, no handlers)", "libxml2", "libxml2 SAX"),
       ("libxml2_tree", "libxml2 building a tree", "libxml2", "libxml2 tree"),
       ("validate_only", "cg_mos_validate alone", "castgate", "castgate validate"),
       ("frame_envelope_validate", "castgate framing + envelope + full check", "castgate",
        "castgate frame+envelope+validate")]
figs, targets = [], []
for r, n in zip(rows, nodes):
    m = r["mb_s"]
    label = "%s (%d msgs, %.1f MB)" % (r["input"], r["messages"], r["bytes"] / 1e6)
    params = {"input": r["input"], "bytes": r["bytes"], "messages": r["messages"]}
    for key, what, who, series in OPS:
        figs.append({"name": "%s: %s" % (r["input"], what), "contender": who, "group": r["input"],
                     "series": series,
                     "command": "build-bench/bin/bench_codec ../shared (best of 5 passes)",
                     "params": dict(params, operation=key), "metrics": {"MB_per_s": m[key]}})
    if n:
        figs.append({"name": "%s: mos-connection receive path (iconv-lite + MosMessageParser + xml2js)"
                             % r["input"], "contender": "mos-connection", "group": r["input"],
                     "series": "mos-connection (node)",
                     "command": "node bench/codec/mosconn_bench.js FILE %d" % r["messages"],
                     "params": dict(params, operation="mos_connection"), "metrics": {"MB_per_s": n["mb_s"]}})
    q = r["ratios"]
    t1 = m["memchr_scan"] / m["frame_envelope"]
    t2 = m["libxml2_sax"] / m["validate_only"]
    targets.append({"target": "(1) framing + envelope time within 5x of a memchr scan (%s)" % label,
                    "met": t1 <= 5, "detail": "%.2fx the scan's time" % t1})
    targets.append({"target": "(2) the full check at most 1.2x libxml2's own time (%s)" % label,
                    "met": t2 <= 1.2, "detail": "cg_mos_validate %.3fx libxml2 SAX's time; framing + envelope "
                    "+ check %.3fx SAX, %.3fx libxml2 tree" % (t2, q["validate_time_vs_libxml2_sax"],
                                                               q["validate_time_vs_libxml2_tree"])})
    if n:
        a, b = m["frame_envelope"] / n["mb_s"], m["frame_envelope_validate"] / n["mb_s"]
        targets.append({"target": "(3) at least 10x mos-connection (%s)" % label, "met": a >= 10,
                        "detail": "framing + envelope %.1fx, with the full check %.1fx mos-connection" % (a, b)})
notes = ["MB/s = 10^6 bytes of UCS-2BE input per second, best of 5 passes over the input (higher is better)."]
if not any(nodes):
    notes.append("mos-connection (node) not measured: node or tests/interop/node_modules missing (make deps)")
json.dump({"part": "codec", "title": "MOS codec throughput on UCS-2BE input",
           "unit_notes": "MB_per_s: 10^6 bytes of UCS-2BE input per second; inputs: the 2 MB roCreate fixture "
                         "(4.2 MB UCS-2BE) and every UCS-2BE fixture message repeated to >= 4 MB",
           "figures": figs, "targets": targets, "notes": notes}, open(sys.argv[4], "w"), indent=1)
for t in targets:
    print("%s %s: %s" % ("met    " if t["met"] else "NOT MET", t["target"], t["detail"]))
PY
echo "bench codec: wrote ${out#$root/}/codec.json"
