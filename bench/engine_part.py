#!/usr/bin/env python3
"""Turns the rounds of bench/handshake.sh, scale.sh or echo.sh (one JSON line
per bench_wsload run) into the part's <part>.json (see the part contract in
bench/README.md): per figure and contender the median of each metric over the
rounds, the spread (min..max) of the main ones, every round, and the part's
targets with the ratios they rest on.

    engine_part.py PART ROUNDS.jsonl OUT.json [--note TEXT]...
"""
import json
import os
import statistics
import sys

# The metrics each part shows (every round keeps all of bench_wsload's).
SHOWN = {
    "handshake": ["conns_per_s", "conns_per_server_cpu_s", "conns_per_nginx_cpu_s", "p50_us", "p99_us",
                  "server_cpu_util", "client_cpu_util", "server_runq_wait_s", "failed"],
    "scale": ["conns_open", "conns_still_open", "bytes_per_conn", "rss_kb_delta", "open_s",
              "open_server_cpu_s", "failed", "closed_while_held"],
    "echo": ["msgs_per_s", "msgs_per_server_cpu_s", "msgs_per_nginx_cpu_s", "p50_us", "p99_us", "p999_us",
             "server_cpu_util", "client_cpu_util", "server_runq_wait_s", "failed"],
}
PLOT = {"handshake": "conns_per_server_cpu_s", "scale": "bytes_per_conn", "echo": "msgs_per_server_cpu_s"}
SHORT = {"handshake ": "", "echo 2KB ": "", " idle authenticated wss": " idle wss"}

SPREAD = ("conns_per_s", "conns_per_server_cpu_s", "msgs_per_s", "msgs_per_server_cpu_s",
          "p50_us", "p99_us", "bytes_per_conn", "conns_open")


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": os.uname().release}


def figures_from(rows, part):
    groups = {}
    for r in rows:
        m = r["metrics"]
        if "rss_kb_before" in m and m.get("conns_open"):
            m["bytes_per_conn_by_pid"] = [
                round((max(o, h) - b) * 1024 / m["conns_open"])
                for b, o, h in zip(m["rss_kb_before"], m["rss_kb_open"], m["rss_kb_held"])]
        by = m.get("server_cpu_s_by_pid") or []
        if r["contender"] == "nginx" and len(by) >= 2 and by[0] > 0:
            # nginx in front of a backend: the rate per CPU second of nginx alone
            for rate in ("conns_per_s", "msgs_per_s"):
                if rate in m:
                    m[rate.replace("_per_s", "_per_nginx_cpu_s")] = round(m[rate] * m["seconds"] / by[0], 1)
        groups.setdefault((r["figure"], r["contender"]), []).append(r)
    out = []
    for (fig, who), rs in groups.items():
        good = [r for r in rs if r["metrics"].get("ok")]
        use = good or rs
        keys = {k for r in use for k, v in r["metrics"].items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)}
        med = {k: round(statistics.median(r["metrics"][k] for r in use if k in r["metrics"]), 3)
               for k in SHOWN[part] if k in keys}
        spread = {k: [min(r["metrics"][k] for r in use), max(r["metrics"][k] for r in use)]
                  for k in SPREAD if k in keys}
        group = fig
        for a, b in SHORT.items():
            group = group.replace(a, b)
        f = {"name": fig, "group": group, "contender": who, "command": rs[0]["command"], "params": rs[0]["params"],
             "metrics": med, "spread": spread, "rounds_ok": len(good), "rounds_failed": len(rs) - len(good),
             "rounds": [r["metrics"] for r in rs], "round_ids": [r.get("round") for r in rs],
             "round_ok": [bool(r["metrics"].get("ok")) for r in rs]}
        if "server_cpu_s" in med:
            f["cpu_s"] = med["server_cpu_s"]
        errs = [r["stderr"] for r in rs if r.get("stderr")]
        if errs:
            f["errors"] = errs[:3]
        out.append(f)
    return out


def find(figs, name, who):
    for f in figs:
        if f["name"] == name and f["contender"] == who and f["rounds_ok"] > 0:
            return f
    return None


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def paired(fa, fb, ka, kb=None):
    """Ratios fa/fb per round, paired by round number (the contenders of one
    round run back to back, under the same load), over rounds both finished.
    Returns (median, [ratio per round]); (None, []) when nothing pairs."""
    if not fa or not fb:
        return None, []
    kb = kb or ka
    def by_round(f, k):
        return {i: m.get(k) for i, m, ok in zip(f.get("round_ids", []), f["rounds"], f.get("round_ok", []))
                if ok and i is not None and m.get(k)}
    a, b = by_round(fa, ka), by_round(fb, kb)
    rs = [round(a[i] / b[i], 3) for i in sorted(set(a) & set(b))]
    return (round(statistics.median(rs), 3) if rs else None), rs


def show(rs):
    """'1.01/1.04/1.06 (range 1.01-1.06)': the paired ratios and their range."""
    if not rs:
        return "no paired rounds"
    return "%s (range %s-%s)" % ("/".join("%.2f" % x for x in rs), "%.2f" % min(rs), "%.2f" % max(rs))


def target(desc, r, ok, detail):
    return {"target": desc, "met": bool(ok) if r is not None else False,
            "detail": detail if r is not None else "not measured (a contender failed)"}


def handshake_targets(figs):
    ts = []
    for kt in ("ECDSA", "RSA"):
        for v in ("1.3", "1.2"):
            base = f"{kt} TLS {v}"
            cg = find(figs, f"handshake {base} wss upgrade", "castgate")
            ss = find(figs, f"handshake {base} TLS only", "openssl-s_server")
            ngw = find(figs, f"handshake {base} wss upgrade", "nginx")
            cgh = find(figs, f"handshake {base} https GET", "castgate")
            ngh = find(figs, f"handshake {base} https GET", "nginx")
            k = "conns_per_server_cpu_s"
            r, rs = paired(cg, ss, k)
            _, raw = paired(cg, ss, "conns_per_s")
            ts.append(target(f"castgate wss >= 90% of openssl s_server (handshakes per server CPU second), {base}",
                             r, r is not None and r >= 0.9,
                             f"castgate/ceiling per server CPU second, per round {show(rs)}, median {r} "
                             f"(raw conns/s per round {show(raw)})"))
            # Not like for like: castgate answers the upgrade itself, nginx proxies
            # it to a backend (only nginx's own CPU counted); the https GET
            # figure below is the like-for-like comparison.
            r, rs = paired(cg, ngw, k, "conns_per_nginx_cpu_s")
            _, raw = paired(cg, ngw, "conns_per_s")
            ts.append(target(f"castgate wss (answered) ahead of nginx wss (proxied; nginx worker CPU only), {base}",
                             r, r is not None and r > 1.0,
                             f"castgate/nginx per server CPU second, per round {show(rs)}, median {r} "
                             f"(raw conns/s per round {show(raw)})"))
            r, rs = paired(cgh, ngh, k)
            _, raw = paired(cgh, ngh, "conns_per_s")
            ts.append(target(f"castgate https GET ahead of nginx https GET (like for like), {base}",
                             r, r is not None and r > 1.0,
                             f"castgate/nginx per server CPU second, per round {show(rs)}, median {r} "
                             f"(raw conns/s per round {show(raw)})"))
    return ts


def scale_targets(figs, want):
    ts = []
    cg = find(figs, f"hold {want} idle authenticated wss", "castgate")
    ng = find(figs, f"hold {want} idle authenticated wss", "nginx")
    held = cg and cg["metrics"].get("conns_still_open")
    ts.append(target(f"castgate holds {want} idle authenticated wss connections", held,
                     held is not None and held >= want and cg["rounds_failed"] == 0,
                     f"median held {held}, rounds failed {cg['rounds_failed'] if cg else '?'}"))
    b = cg and cg["metrics"].get("bytes_per_conn")
    ts.append(target("castgate memory per idle connection <= 48 KB (RSS delta / connections)", b,
                     b is not None and b <= 48 * 1024, f"{b} bytes ({round(b / 1024, 1) if b else '?'} KiB)"))
    nb = ng and ng["metrics"].get("bytes_per_conn")
    r, rs = paired(cg, ng, "bytes_per_conn")
    ts.append(target("castgate memory per idle connection below nginx's (nginx workers + ws backend)", r,
                     r is not None and r < 1.0, f"castgate/nginx per round {show(rs)}, median {r} "
                     f"(medians {b} vs {nb} bytes)"))
    return ts


def echo_targets(figs):
    ts = []
    for conns in (100, 1):
        name = f"echo 2KB x{conns} conns ping-pong"
        cg, lw = find(figs, name, "castgate"), find(figs, name, "libwebsockets")
        k = "msgs_per_server_cpu_s"
        r, rs = paired(cg, lw, k)
        _, raw = paired(cg, lw, "msgs_per_s")
        ts.append(target(f"castgate >= libwebsockets in msgs/s per core, {conns} conns", r,
                         r is not None and r >= 1.0,
                         f"castgate/libwebsockets per server CPU second, per round {show(rs)}, median {r} "
                         f"(raw msgs/s per round {show(raw)})"))
        p, ps = paired(cg, lw, "p99_us")
        ts.append(target(f"castgate p99 below libwebsockets p99, {conns} conns", p,
                         p is not None and p < 1.0,
                         f"p99 castgate/libwebsockets per round {show(ps)}, median {p}"))
    return ts


TITLES = {
    "handshake": "New wss connections per second, full handshakes (part 2)",
    "scale": "Idle authenticated wss connections held, memory per connection (part 3)",
    "echo": "The wss engine alone: 2 KB binary echo (part 5)",
}
UNITS = {
    "handshake": "conns_per_s: completed connections per wall second (median of rounds); "
                 "conns_per_server_cpu_s: the same per CPU second of the server process(es) "
                 "(run time from /proc/PID/task/*/schedstat), i.e. per core; conns_per_nginx_cpu_s: per CPU "
                 "second of nginx alone (without its backend); server_runq_wait_s: time the server "
                 "waited for a CPU (other load); p50/p99_us: connect to done",
    "scale": "bytes_per_conn: (server RSS with the connections open and held - RSS before) / "
             "connections, summed over the server processes; rss in KiB (VmRSS)",
    "echo": "msgs_per_s: echoes completed per wall second; msgs_per_server_cpu_s: per CPU second "
            "of the server process(es) (schedstat run time) = msgs/s per core; msgs_per_nginx_cpu_s: "
            "nginx alone; p50/p99/p999_us: write of a message to the end of its echo, at the client",
}


def main():
    part, rounds, out = sys.argv[1:4]
    notes = []
    args = sys.argv[4:]
    want = 10000
    while args:
        if args[0] == "--note":
            notes.append(args[1])
        elif args[0] == "--want":
            want = int(args[1])
        args = args[2:]
    rows = [json.loads(l) for l in open(rounds) if l.strip()]
    figs = figures_from(rows, part)
    ts = {"handshake": lambda: handshake_targets(figs), "scale": lambda: scale_targets(figs, want),
          "echo": lambda: echo_targets(figs)}[part]()
    doc = {"part": part, "title": TITLES[part], "unit_notes": UNITS[part], "machine": machine(),
           "quick": os.environ.get("BENCH_QUICK", "0") == "1", "plot": {"rate": PLOT[part]},
           "figures": figs, "targets": ts,
           "notes": notes}
    json.dump(doc, open(out, "w"), indent=1)
    for t in ts:
        print(f"  [{'met' if t['met'] else 'NOT met'}] {t['target']}: {t['detail']}", file=sys.stderr)


if __name__ == "__main__":
    main()
