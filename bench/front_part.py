#!/usr/bin/env python3
"""Turns the rounds of bench/front.sh (one JSON line per bench_frontload run)
into front.json (the part contract of bench/README.md): per contender the
median of each metric over the rounds, the spread of the main ones, every
round, and the issue 17 targets as ratios paired by round.

    front_part.py ROUNDS.jsonl OUT.json [--note TEXT]...
"""
import json
import os
import statistics
import sys

SHOWN = ["requests_per_s", "requests_per_proxy_cpu_s", "requests_per_server_cpu_s", "p50_us",
         "p99_us", "p999_us", "server_cpu_util", "client_cpu_util", "failed"]
SPREAD = ("requests_per_s", "requests_per_proxy_cpu_s", "p50_us", "p99_us")


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": os.uname().release}


def figures(rows):
    groups = {}
    for r in rows:
        groups.setdefault((r["figure"], r["contender"]), []).append(r)
    out = []
    for (fig, who), rs in groups.items():
        good = [r for r in rs if r["metrics"].get("ok")]
        use = good or rs
        med = {k: round(statistics.median(r["metrics"][k] for r in use if k in r["metrics"]), 3)
               for k in SHOWN if any(k in r["metrics"] for r in use)}
        spread = {k: [min(r["metrics"][k] for r in use), max(r["metrics"][k] for r in use)]
                  for k in SPREAD if all(k in r["metrics"] for r in use)}
        out.append({"name": fig, "group": fig, "contender": who, "command": rs[0]["command"],
                    "params": rs[0]["params"], "metrics": med, "spread": spread,
                    "rounds_ok": len(good), "rounds_failed": len(rs) - len(good),
                    "rounds": [r["metrics"] for r in rs], "round_ids": [r["round"] for r in rs],
                    "round_ok": [bool(r["metrics"].get("ok")) for r in rs]})
    return out


def paired(figs, a, b, key):
    fa = next((f for f in figs if f["contender"] == a), None)
    fb = next((f for f in figs if f["contender"] == b), None)
    if not fa or not fb:
        return None, []
    def by_round(f):
        return {i: m.get(key) for i, m, ok in zip(f["round_ids"], f["rounds"], f["round_ok"])
                if ok and m.get(key)}
    x, y = by_round(fa), by_round(fb)
    rs = [round(x[i] / y[i], 3) for i in sorted(set(x) & set(y))]
    return (round(statistics.median(rs), 3) if rs else None), rs


def targets(figs):
    ts = []
    for who in ("castgate-front", "castgate-front-norewrite"):
        r, rs = paired(figs, who, "nginx", "requests_per_proxy_cpu_s")
        ts.append({"target": f"{who} >= nginx requests per proxy CPU second (per core)",
                   "met": r is not None and r >= 1.0,
                   "detail": f"{who}/nginx per round {rs}, median {r}" if rs else "not measured"})
        p, ps = paired(figs, who, "nginx", "p99_us")
        ts.append({"target": f"{who} p99 lower than nginx's",
                   "met": p is not None and p < 1.0,
                   "detail": f"{who}/nginx p99 per round {ps}, median {p}" if ps else "not measured"})
    return ts


def main():
    rounds, out = sys.argv[1:3]
    notes, args = [], sys.argv[3:]
    while args:
        if args[0] == "--note":
            notes.append(args[1])
        args = args[2:]
    rows = [json.loads(l) for l in open(rounds) if l.strip()]
    figs = figures(rows)
    ts = targets(figs)
    doc = {"part": "front", "title": "NMOS secure front: castgate front vs nginx as a BCP-003-01 TLS proxy",
           "unit_notes": "requests per second of keep-alive HTTPS GETs (32 connections, one request "
                         "in flight each); per proxy CPU second = per core; latency in microseconds",
           "machine": machine(), "quick": os.environ.get("BENCH_QUICK", "0") == "1",
           "plot": {"rate": "requests_per_proxy_cpu_s"}, "figures": figs, "targets": ts,
           "notes": notes}
    json.dump(doc, open(out, "w"), indent=1)
    for t in ts:
        print(f"  [{'met' if t['met'] else 'NOT met'}] {t['target']}: {t['detail']}", file=sys.stderr)


main()
