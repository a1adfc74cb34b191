#!/usr/bin/env python3
"""Merges the parts of one benchmark run into one report (bench/README.md).

  report.py bench/results/<stamp>

Reads every <part>.json in that folder (any subset of relay, reconnect, codec,
handshake, scale, echo, hostile, front, pair) and parts.tsv (bench/run.sh's part status), adds the
machine (cores, CPU model, kernel, memory, tool versions, castgate commit) and
writes bench/results/<stamp>.json, <stamp>.md (one table per part, targets
met or not, notes) and <stamp>.png (gnuplot: latency percentiles per
contender and throughput, one row of panels per part).
"""
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys

ORDER = ["relay", "reconnect", "codec", "handshake", "scale", "echo", "hostile", "front", "pair"]
# Metric columns in this order first; any other scalar metric follows.
PREFERRED = ["msgs_per_s", "conns_per_s", "requests_per_s", "MB_per_s", "connections", "p50_us", "p99_us", "p999_us", "max_us",
             "added_p50_us", "added_p99_us", "added_p999_us", "p50_ms", "p99_ms", "max_ms", "rss_kb",
             "bytes_per_conn", "cpu_cores", "cpu_us_per_msg", "errors"]
LATENCY = [("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")]
LATENCY_MS = [("p50_ms", "p50"), ("p99_ms", "p99"), ("max_ms", "max")]
RATES = ["msgs_per_s", "conns_per_s", "requests_per_s", "MB_per_s", "connections", "bytes_per_conn", "rss_kb"]
LABELS = {"msgs_per_s": "messages/s", "conns_per_s": "connections/s", "MB_per_s": "MB/s",
          "connections": "connections held", "bytes_per_conn": "bytes per connection", "rss_kb": "RSS (KB)"}


def sh(*argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def first_line(s, pattern=None):
    if not s:
        return None
    for line in s.splitlines():
        if pattern is None or re.search(pattern, line):
            return line.strip()
    return None


def machine(root, d=None):
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    pkg = lambda p: first_line(sh("dpkg-query", "-W", "-f=${Version}", p))  # noqa: E731
    castgate = os.environ.get("CASTGATE", os.path.join(root, "build", "bin", "castgate"))
    # The commit measured is the one bench/run.sh recorded (the report may be
    # rebuilt later from another checkout); dirty = it recorded a diff.
    rec = os.path.join(d, "commit") if d else None
    if rec and os.path.exists(rec):
        commit = open(rec).read().strip()[:12]
        dirty = os.path.exists(os.path.join(d, "dirty.diff"))
    else:
        commit = sh("git", "-C", root, "rev-parse", "--short", "HEAD")
        dirty = sh("git", "-C", root, "status", "--porcelain", "--untracked-files=no")
    return {
        "cores": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release(),
        "memory_gb": round(mem / 1024 / 1024, 1), "os": first_line(open("/etc/os-release").read(), "PRETTY_NAME"),
        "loadavg_at_report": open("/proc/loadavg").read().split()[:3],
        "versions": {
            "castgate": (first_line(sh(castgate, "version")) or "?") + " (git %s%s)" % (commit, "+dirty" if dirty else ""),
            "openssl": first_line(sh("openssl", "version")),
            "stunnel": first_line(sh("stunnel", "-version"), r"^stunnel \d"),
            "nginx": first_line(sh("nginx", "-v")),
            "libwebsockets": pkg("libwebsockets-dev"),
            "libuv": pkg("libuv1-dev"),
            "node": first_line(sh("node", "--version")),
            "gcc": first_line(sh("gcc", "--version")),
            "gnuplot": first_line(sh("gnuplot", "--version")),
        },
        "note": "shared machine: other jobs may run at the same time; compare ratios, medians and spreads",
        "commit": commit, "dirty": bool(dirty),
        "states": machine_states(d),
    }


def machine_states(d):
    """bench/run.sh's machine.jsonl (load and other benchmarks/soaks at the
    start, before each part, at the end) and the load the parts recorded before
    each round (loadavg_before)."""
    out = {"checks": [], "round_load_1min": None, "round_others": []}
    if not d:
        return out
    path = os.path.join(d, "machine.jsonl")
    if os.path.exists(path):
        out["checks"] = [json.loads(l) for l in open(path) if l.strip()]
    loads, others = [], set()
    for n in os.listdir(d):
        if n.endswith(".json"):
            try:
                p = json.load(open(os.path.join(d, n)))
            except ValueError:
                continue
            for f in p.get("figures", []) if isinstance(p, dict) else []:
                for r in f.get("rounds", []):
                    if isinstance(r, dict) and r.get("loadavg_before"):
                        loads.append(float(r["loadavg_before"][0]))
                        others.update(r.get("others_before") or [])
    if loads:
        out["round_load_1min"] = [min(loads), statistics.median(loads), max(loads), len(loads)]
    out["round_others"] = sorted(others)
    return out


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        a = abs(v)
        return "%.0f" % v if a >= 100 else "%.1f" % v if a >= 10 else "%.2f" % v if a >= 1 else "%.3g" % v
    if isinstance(v, (list, tuple)):
        return "..".join(fmt(x) for x in v)
    return str(v)


def columns(figs):
    seen = []
    for f in figs:
        for k, v in f.get("metrics", {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in seen:
                seen.append(k)
    return [k for k in PREFERRED if k in seen] + sorted(k for k in seen if k not in PREFERRED)


def md_part(p, status):
    out = ["## %s — %s" % (p["part"], p.get("title", "")), ""]
    if status and status[0] != "ok":
        out += ["**Part %s**: %s" % (status[0], status[2] if len(status) > 2 else ""), ""]
    figs = p.get("figures", [])
    if figs:
        cols = columns(figs)
        sp = lambda f: f.get("metrics", {}).get("spread") or f.get("spread")  # noqa: E731 (either place)
        spread = any(sp(f) for f in figs)
        head = ["figure", "contender"] + cols + (["spread: rate · p99 (min..max)"] if spread else [])
        out += ["| " + " | ".join(head) + " |", "| --- | --- |" + " ---: |" * (len(head) - 2)]
        for f in figs:
            m = f.get("metrics", {})
            row = [f.get("name", ""), f.get("contender", "")] + [fmt(m.get(c)) for c in cols]
            if spread:
                s = sp(f) or {}
                rate = next((s[k] for k in RATES if k in s), None)
                row.append("%s · %s" % (fmt(rate), fmt(s.get("p99_us"))))
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    if p.get("unit_notes"):
        out += ["Units: " + p["unit_notes"], ""]
    if p.get("targets"):
        out += ["| target | met | detail |", "| --- | --- | --- |"]
        for t in p["targets"]:
            out.append("| %s | %s | %s |" % (t.get("target"), met_cell(t), t.get("detail", "")))
        out.append("")
    if p.get("notes"):
        out += ["Notes:", ""] + ["- " + n for n in p["notes"]] + [""]
    cmds = {}
    for f in figs:
        cmds.setdefault(f.get("contender", ""), [])
        c = f.get("command", "")
        if c and c not in cmds[f["contender"]]:
            cmds[f["contender"]].append(c)
    if cmds:
        out += ["<details><summary>Commands</summary>", ""]
        for who, cs in cmds.items():
            for c in cs[:4]:
                out.append("- %s: `%s`" % (who, c.replace("`", "'")))
            if len(cs) > 4:
                out.append("- %s: … %d more variants (in the JSON)" % (who, len(cs) - 4))
        out += ["", "</details>", ""]
    return out


def met_cell(t):
    """A target's verdict; one marked "judged": false (hostile's same-box worst case, shown beside the
    judged figure) says so, met or not."""
    cell = "**met**" if t.get("met") else "**NOT met**"
    return cell + (" (shown, not judged)" if t.get("judged") is False else "")


def judged(ts):
    return [t for t in ts if t.get("judged") is not False]


def markdown(stamp, mach, parts, status):
    v = mach["versions"]
    out = ["# castgate benchmarks, %s" % stamp, "",
           "Machine: %s cores, %s, %s GB, Linux %s, %s. Load average when the report was written: %s." % (
               mach["cores"], mach["cpu_model"], mach["memory_gb"], mach["kernel"],
               (mach.get("os") or "").replace("PRETTY_NAME=", "").strip('"'), " ".join(mach["loadavg_at_report"])),
           "", "Versions: " + "; ".join("%s %s" % (k, v[k]) for k in v if v[k]) + ".", ""]
    st = mach.get("states") or {}
    if mach.get("dirty"):
        out += ["**Measured from a tree with uncommitted changes** (BENCH_ALLOW_DIRTY=1): the diff is in "
                "%s/dirty.diff." % stamp, ""]
    checks = st.get("checks") or []
    if checks:
        out += ["Load average (1/5/15 min) at each check: " + "; ".join(
            "%s %s" % (c.get("label", ""), "/".join(c.get("loadavg") or ["?"])) for c in checks) + "."]
    if st.get("round_load_1min"):
        lo, med, hi, n = st["round_load_1min"]
        out += ["1-minute load before each of %d rounds: min %.2f, median %.2f, max %.2f." % (n, lo, med, hi)]
    seen = sorted({o for c in checks for o in c.get("others") or []} | set(st.get("round_others") or []))
    if seen:
        out += ["", "**WARNING: other benchmarks or soaks ran during this run; its figures are not reliable:**", ""]
        out += ["- `%s`" % o.replace("`", "'") for o in seen[:10]]
    out += ["",
           "Figures are medians of interleaved rounds where a part runs rounds (spread = min..max); the "
           "machine is shared, so read ratios rather than absolute values. Plot: %s.png." % stamp, ""]
    allt = [(p["part"], t) for p in parts for t in p.get("targets", [])]
    if allt:
        j = judged([t for _, t in allt])
        shown = [t for _, t in allt if t.get("judged") is False]
        out += ["Targets met: %d of %d.%s" % (sum(1 for t in j if t.get("met")), len(j), (
            " Shown beside them, not judged (worst cases): %d of %d met." % (
                sum(1 for t in shown if t.get("met")), len(shown))) if shown else ""), ""]
    for name, st in status.items():
        if st[0] != "ok" and not any(p["part"] == name for p in parts):
            out += ["## %s — %s" % (name, "not run (no bench/%s.sh)" % name if st[0] == "missing" else "FAILED"), ""]
            if len(st) > 2 and st[2]:
                out += [st[2], ""]
    for p in parts:
        out += md_part(p, status.get(p["part"]))
    return "\n".join(out) + "\n"


# ---- the plot ----

def panels(parts):
    """One row per part with plottable data: (part, latency entries, rate entries, rate key,
    latency unit, latency keys). An entry is (x group, series, value(s)): the group is the
    figure's "group" or its name, the series its "series" or its contender."""
    rows = []
    for p in parts:
        figs = p.get("figures", [])
        lat, unit = [], "us"
        keys = LATENCY
        if not any(f["metrics"].get("p99_us") is not None for f in figs):
            keys, unit = LATENCY_MS, "ms"
        ent = lambda f: (f.get("group") or f["name"], f.get("series") or f["contender"])  # noqa: E731
        for f in figs:
            m = f["metrics"]
            vals = [m.get(k) for k, _ in keys]
            if vals[2] is None:  # no p99.9 (or max): the whisker stops at p99
                vals[2] = vals[1]
            if all(isinstance(x, (int, float)) and x > 0 for x in vals):
                lat.append(ent(f) + (vals,))
        rk = (p.get("plot") or {}).get("rate")  # a part may name its throughput metric
        if rk is None:
            rk = next((k for k in RATES if any(isinstance(f["metrics"].get(k), (int, float)) for f in figs)), None)
        rate = [ent(f) + (f["metrics"][rk],) for f in figs
                if rk and isinstance(f["metrics"].get(rk), (int, float)) and f["metrics"][rk] > 0]
        if lat or rate:
            rows.append((p["part"], lat, rate, rk, unit, keys))
    return rows


def layout(entries):
    """x positions: figures along x, contenders side by side within a figure."""
    names = list(dict.fromkeys(e[0] for e in entries))
    conts = list(dict.fromkeys(e[1] for e in entries))
    width = 0.8 / max(1, len(conts))
    pos = {}
    for e in entries:
        i, j = names.index(e[0]), conts.index(e[1])
        pos[(e[0], e[1])] = i - 0.4 + width * (j + 0.5)
    return names, conts, width, pos


def plot(parts, png, tmpdir):
    if shutil.which("gnuplot") is None:
        return "gnuplot not installed (scripts/deps.sh bench): no plot"
    rows = panels(parts)
    if not rows:
        return "nothing to plot"
    colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
    allconts = list(dict.fromkeys(c for r in rows for e in (r[1] + r[2]) for c in [e[1]]))
    color = {c: colors[i % len(colors)] for i, c in enumerate(allconts)}
    height = 1.0 / len(rows)
    g = ["set terminal pngcairo size 1800,%d font 'sans,9'" % (430 * len(rows) + 40),
         "set output '%s'" % png, "set multiplot",
         "set style fill solid 0.7 border -1", "set grid ytics", "set key above noenhanced",
         "set xtics rotate by 15 right noenhanced", "set bmargin 6"]
    for n, (part, lat, rate, rk, unit, keys) in enumerate(rows):
        shown = [(k, e) for k, e in (("lat", lat), ("rate", rate)) if e]
        for col, (kind, entries) in enumerate(shown):
            width_frac = 1.0 / len(shown)
            g.append("set origin %f,%f" % (col * width_frac, 1 - (n + 1) * height))
            g.append("set size %f,%f" % (width_frac, height))
            names, conts, width, pos = layout(entries)
            short = [x if len(x) <= 38 else x[:36] + "…" for x in names]
            g.append("set xtics (" + ", ".join("'%s' %d" % (s.replace("'", ""), i) for i, s in enumerate(short)) + ")")
            g.append("set xrange [-0.6:%f]" % (len(names) - 0.4))
            g.append("set boxwidth %f absolute" % (width * 0.9))
            g.append("set logscale y")
            plots = []
            for c in conts:
                path = os.path.join(tmpdir, "%d-%s-%s.dat" % (n, kind, re.sub(r"\W", "_", c)))
                with open(path, "w") as f:
                    for e in entries:
                        if e[1] != c:
                            continue
                        if kind == "lat":
                            lo, mid, hi = e[2]
                            f.write("%f %g %g %g %g\n" % (pos[(e[0], c)], lo, lo, hi, mid))
                        else:
                            f.write("%f %g\n" % (pos[(e[0], c)], e[2]))
                if kind == "lat":
                    plots.append("'%s' using 1:2:3:4:5 with candlesticks lc rgb '%s' title '%s' whiskerbars"
                                 % (path, color[c], c.replace("'", "")))
                else:
                    plots.append("'%s' using 1:2 with boxes lc rgb '%s' title '%s'" % (path, color[c], c.replace("'", "")))
            if kind == "lat":
                labels = "/".join(l for _, l in keys)
                g += ["set title '%s: latency, box %s to %s, whisker to %s (%s, log)' noenhanced"
                      % (part, keys[0][1], keys[1][1], keys[2][1], unit),
                      "set ylabel '%s (%s)'" % (labels, unit)]
            else:
                g += ["set title '%s: %s (log)' noenhanced" % (part, LABELS.get(rk, rk)),
                      "set ylabel '%s'" % LABELS.get(rk, rk)]
            g.append("plot " + ", ".join(plots))
            g.append("unset logscale y")
    g.append("unset multiplot")
    script = os.path.join(tmpdir, "plot.gp")
    open(script, "w").write("\n".join(g) + "\n")
    r = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if r.returncode != 0:
        return "gnuplot failed: " + r.stderr.strip()[-500:]
    return None


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: report.py bench/results/<stamp>")
    d = os.path.abspath(sys.argv[1])
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    stamp = os.path.basename(d)
    status = {}
    if os.path.exists(os.path.join(d, "parts.tsv")):
        for line in open(os.path.join(d, "parts.tsv")):
            f = line.rstrip("\n").split("\t")
            if f and f[0]:
                status[f[0]] = (f[1], f[2] if len(f) > 2 else "", f[3] if len(f) > 3 else "")
    parts = []
    names = sorted((n[:-5] for n in os.listdir(d) if n.endswith(".json")),
                   key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    for n in names:
        try:
            p = json.load(open(os.path.join(d, n + ".json")))
        except ValueError as e:
            status[n] = ("failed", "", "unreadable %s.json: %s" % (n, e))
            continue
        p.setdefault("part", n)
        for f in p.get("figures", []):
            f.setdefault("metrics", {})
            f.setdefault("contender", "?")
            f.setdefault("name", "?")
        parts.append(p)
    mach = machine(root, d)
    base = os.path.join(os.path.dirname(d), stamp)
    merged = {"stamp": stamp, "machine": mach,
              "parts_status": {k: {"status": v[0], "seconds": v[1], "detail": v[2]} for k, v in status.items()},
              "parts": parts}
    json.dump(merged, open(base + ".json", "w"), indent=1)
    tmp = os.path.join(d, ".plot")
    os.makedirs(tmp, exist_ok=True)
    why = plot(parts, base + ".png", tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    md = markdown(stamp, mach, parts, status)
    if why:
        md += "\n(%s)\n" % why
    open(base + ".md", "w").write(md)
    met = judged([t for p in parts for t in p.get("targets", [])])
    print("bench: %s.{json,md%s}: %d part(s), targets met %d of %d" % (
        os.path.relpath(base, root), "" if why else ",png", len(parts), sum(1 for t in met if t.get("met")), len(met)))
    for p in parts:
        for t in p.get("targets", []):
            if not t.get("met"):
                print("  NOT met%s: [%s] %s: %s" % (" (shown, not judged)" if t.get("judged") is False else "",
                                                    p["part"], t.get("target"), t.get("detail", "")))
    if why:
        print("bench: " + why)


if __name__ == "__main__":
    main()
