"""Why the relay is slower than stunnel: counts per message, not time
(bench/relay_why.sh; see bench/README.md, "Why the relay is slower than stunnel").

The relay part's contenders (bench/lib/relay.py: the same device, stunnel pair
and castgate pair, journal = no, fsync = interval, one channel) carry
stop-and-wait MOS 2.x messages (bench_mosload client --count N). Over two runs
of N1 and N2 messages, `perf stat -p` on each process of the pair counts system
calls by kind (syscalls:sys_enter_* tracepoints), context switches, CPU
migrations, wake-ups the process issued (sched:sched_wakeup in its context) and
page faults; each figure is (count(N2) - count(N1)) / (N2 - N1), so what a run
costs once (the client's connection, stunnel's TLS handshake) drops out. These
are counts of events, not durations: another user's load moves them little
(involuntary context switches and migrations excepted).

With --callgrind, the pair runs again under valgrind's callgrind and the same
difference gives user-space instructions per message, by function (the
machine here has no hardware counters for `perf stat -e instructions`).
Kernel instructions are not counted; system calls and switches stand for them.

Output: a Markdown table on stdout and JSON in --out (default: a temporary file).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("CG_BENCH_DIR", tempfile.mkdtemp(prefix="cg-bench-relay-why."))
sys.path.insert(0, os.path.dirname(__file__))
import benchlib as B  # noqa: E402
import relay as R  # noqa: E402  (its contenders, started the same way)

SIZES = [("1 KB", ["--size", "1024"], 200, 1200),
         ("64 KB", ["--size", "65536"], 50, 350),
         ("2 MB", ["--file", R.BIG], 4, 24)]
EVENTS = ["raw_syscalls:sys_enter", "context-switches", "cpu-migrations", "sched:sched_wakeup",
          "page-faults", "syscalls:sys_enter_*"]
CASTGATE_EXTRA = ["journal = no", "fsync = interval"]
# entry points that callgrind_annotate shows with their callees' cost: not self cost
ROOTS = re.compile(r"^(\(below main\)|main|cmd_run|cg_ctx_run|uv_run|__libc_start_main\S*|clone3?|start_thread|"
                   r"worker|0x[0-9a-f]+ \(ld-linux[^)]*\))( \(.*\))?$")


def perf_start(pid, path):
    argv = ["perf", "stat", "-x", ";", "--no-big-num", "-o", path, "-p", str(pid)]
    for e in EVENTS:
        argv += ["-e", e]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached (several hundred tracepoints) before the load starts
    return p


def perf_stop(p, path):
    p.send_signal(signal.SIGINT)
    p.wait(30)
    out = {}
    for line in open(path):
        f = line.strip().split(";")
        if len(f) < 3 or not f[0].strip().isdigit():
            continue
        name = f[2]
        name = name.replace("syscalls:sys_enter_", "sys:").replace("raw_syscalls:sys_enter", "syscalls")
        out[name] = out.get(name, 0) + int(f[0])
    return out


def client(cont, size_args, n, base):
    argv = [R.MOSLOAD, "client", "--port", str(cont.client_ports(1)[0]), "--channels", "1", "--kind", "alt",
            "--duration", "600", "--warmup", "0", "--count", str(n), "--id-base", str(base),
            "--mos-id", "dev%d", "--ncs-id", "ncs%d"] + size_args
    r = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    if res.get("messages") != n or res.get("errors"):
        raise RuntimeError("%s: %d of %d messages answered, %s errors: %s" % (
            cont.name, res.get("messages", 0), n, res.get("errors"), r.stderr.strip()[-300:]))
    return res


def counted(cont, names, size_args, n, base):
    """Counts on each process of cont over one client run of n messages."""
    runs = []
    for p, name in zip(cont.procs, names):
        path = os.path.join(R.W, "perf-%s-%d.csv" % (name, p.pid))
        runs.append((name, path, perf_start(p.pid, path)))
    res = client(cont, size_args, n, base)
    time.sleep(0.3)  # the last answer's trailing work (timers re-armed, journal record) is in
    return res, {name: perf_stop(pp, path) for name, path, pp in runs}


def per_message(c1, c2, n1, n2):
    out = {}
    for who in c2:
        keys = set(c1[who]) | set(c2[who])
        out[who] = {k: (c2[who].get(k, 0) - c1[who].get(k, 0)) / (n2 - n1) for k in keys}
    return out


def callgrind_counts(cont, names, size_args, n1, n2, base):
    """Instructions (Ir) per message by function, from callgrind dumps after
    n1 and after n2 more messages; cont's processes run under valgrind."""
    pids = [p.pid for p in cont.procs]
    out = {}
    files = {}
    for step, n in (("a", n1), ("b", n2)):
        for pid in pids:
            subprocess.run(["callgrind_control", "--zero", str(pid)], capture_output=True, timeout=120)
        client(cont, size_args, n, base + (0 if step == "a" else n1))
        time.sleep(0.5)
        for pid in pids:
            subprocess.run(["callgrind_control", "--dump=" + step, str(pid)], capture_output=True, timeout=120)
        for pid, name in zip(pids, names):
            files.setdefault(name, []).append(newest_dump(pid))
    for name, (fa, fb) in files.items():
        fa_, fb_ = functions(fa), functions(fb)
        total = (fb_.pop("*total*", 0) - fa_.pop("*total*", 0)) / (n2 - n1)
        by = {k: (fb_.get(k, 0) - fa_.get(k, 0)) / (n2 - n1) for k in set(fa_) | set(fb_)}
        by = {k: v for k, v in by.items() if not ROOTS.match(k)}  # callgrind_annotate lists these inclusive
        top = sorted(by.items(), key=lambda kv: -kv[1])[:25]
        out[name] = {"Ir_per_msg": round(total), "top": [(k, round(v)) for k, v in top]}
    return out


def newest_dump(pid):
    d = R.W
    cands = [os.path.join(d, f) for f in os.listdir(d) if f.startswith("callgrind.out.%d" % pid)]
    return max(cands, key=os.path.getmtime)


def functions(path):
    """{function: self Ir} and '*total*' from callgrind_annotate's first table (self cost)."""
    r = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", "--auto=no", path],
                       capture_output=True, text=True)
    out, table = {}, False
    for line in r.stdout.splitlines():
        if "file:function" in line:
            table = True
            continue
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(PROGRAM TOTALS|\S.*)$", line)
        if not m:
            continue
        v = int(m.group(1).replace(",", ""))
        k = m.group(2)
        if k == "PROGRAM TOTALS":
            out["*total*"] = v
        elif table and ":" in k:
            fn = k.split(":", 1)[1].split(" [")[0].strip()
            lib = os.path.basename(k.split(" [")[-1].rstrip("]")) if " [" in k else ""
            key = "%s (%s)" % (fn, lib) if lib else fn
            out[key] = out.get(key, 0) + v
    return out


def start_pair(kind, dev_port, dev_ports):
    if kind == "stunnel":
        c = R.start_stunnel(dev_port)
        return c, ["stunnel-server (device side)", "stunnel-client (NCS side)"]
    c = R.start_castgate("castgate", "why", CASTGATE_EXTRA, None, dev_ports)
    return c, ["castgate A (NCS side)", "castgate B (device side)"]


ROWS = [("syscalls", "system calls"), ("sys:read", "read"), ("sys:write", "write"),
        ("sys:readv", "readv"), ("sys:writev", "writev"), ("sys:recvfrom", "recvfrom"),
        ("sys:sendto", "sendto"), ("sys:recvmsg", "recvmsg"), ("sys:sendmsg", "sendmsg"),
        ("sys:epoll_wait", "epoll_wait"), ("sys:epoll_pwait", "epoll_pwait"), ("sys:epoll_ctl", "epoll_ctl"),
        ("sys:poll", "poll"), ("sys:futex", "futex"), ("sys:fdatasync", "fdatasync"),
        ("sys:fsync", "fsync"), ("sys:syncfs", "syncfs"), ("sys:mmap", "mmap"), ("sys:munmap", "munmap"),
        ("sys:brk", "brk"), ("sys:madvise", "madvise"), ("sys:mremap", "mremap"),
        ("context-switches", "context switches"), ("sched:sched_wakeup", "wake-ups issued"),
        ("cpu-migrations", "CPU migrations"), ("page-faults", "page faults")]


def table(results, grind):
    """Per size: each castgate gateway, the castgate pair, the stunnel pair and their ratio."""
    lines = []
    for size in results:
        cg, st = results[size].get("castgate", {}), results[size].get("stunnel", {})
        lines.append("\n**%s** (per message, stop-and-wait, one channel)\n" % size)
        lines.append("| per message | " + " | ".join(cg) + " | castgate pair | stunnel pair | castgate / stunnel |")
        lines.append("| --- " * (len(cg) + 4) + "|")
        keys = [k for k, _ in ROWS]
        others = sorted({k for side in (cg, st) for who in side for k in side[who]
                         if k.startswith("sys:") and k not in keys})
        for key, label in ROWS + [(k, k[4:]) for k in others]:
            each = [cg[w].get(key, 0.0) for w in cg]
            pc = sum(each)
            ps = sum(st[w].get(key, 0.0) for w in st)
            if all(abs(v) < 0.05 for v in each + [ps]):
                continue
            ratio = "%.2f×" % (pc / ps) if abs(ps) >= 0.5 else "-"
            lines.append("| %s | %s | %.1f | %.1f | %s |" % (label, " | ".join("%.1f" % v for v in each), pc, ps, ratio))
        g = grind.get(size, {})
        if "castgate" in g and "stunnel" in g:
            each = [g["castgate"][w]["Ir_per_msg"] for w in g["castgate"]]
            ps = sum(v["Ir_per_msg"] for v in g["stunnel"].values())
            lines.append("| user-space instructions (callgrind) | %s | {:,} | {:,} | %.2f× |".format(sum(each), ps)
                         % (" | ".join("{:,}".format(v) for v in each), sum(each) / ps))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=None, help="JSON results (default: a temporary file)")
    ap.add_argument("--sizes", default="1 KB,64 KB,2 MB")
    ap.add_argument("--callgrind", action="store_true", help="also instructions per message under callgrind")
    ap.add_argument("--only", default="castgate,stunnel")
    ap.add_argument("--keep", default=None, help="a folder to keep the callgrind dumps in")
    ap.add_argument("--no-perf", action="store_true", help="only the callgrind pass")
    a = ap.parse_args()
    sizes = [s for s in SIZES if s[0] in a.sizes.split(",")]
    B.make_pki(os.path.join(R.W, "pki"))
    device, dev_port, dev_ports, _ = R.start_device(1)
    results = {s[0]: {} for s in sizes}
    grind = {}
    base = 1
    for kind in ([] if a.no_perf else a.only.split(",")):
        cont, names = start_pair(kind, dev_port, dev_ports)
        R.ready(cont, 1)
        for label, args, n1, n2 in sizes:
            client(cont, args, 3, base)  # warm: buffers grown to this size
            base += 1000
            _, c1 = counted(cont, names, args, n1, base)
            base += n1
            _, c2 = counted(cont, names, args, n2, base)
            base += n2
            results[label][kind] = per_message(c1, c2, n1, n2)
            B.log("relay_why: %s %s: %s" % (kind, label, {w: round(v.get("syscalls", 0), 1)
                                                          for w, v in results[label][kind].items()}))
        for p in cont.procs:
            R.procs.stop(p)
    if a.callgrind:
        for kind in a.only.split(","):
            cont, names = start_valgrind_pair(kind, dev_port, dev_ports)
            for label, args, n1, n2 in sizes:
                n1, n2 = max(2, n1 // 10), max(4, n2 // 10)
                client(cont, args, 2, base)
                base += 100
                grind.setdefault(label, {})[kind] = callgrind_counts(cont, names, args, n1, n2, base)
                base += n1 + n2
                B.log("relay_why: callgrind %s %s: %s" % (kind, label, {w: v["Ir_per_msg"] for w, v in
                                                                       grind[label][kind].items()}))
            for p in cont.procs:
                R.procs.stop(p)
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        for f in os.listdir(R.W):
            if f.startswith("callgrind.out."):
                shutil.copy(os.path.join(R.W, f), a.keep)
    out = a.out or os.path.join(os.environ["CG_BENCH_DIR"], "relay_why.json")
    with open(out, "w") as f:
        json.dump({"per_message": results, "callgrind": grind}, f, indent=1)
    if not a.no_perf:
        print(table(results, grind))
    for label in grind:
        print("\n%s, user-space instructions per message (callgrind)\n" % label)
        for kind, sides in grind[label].items():
            for who, g in sides.items():
                print("- %s: %s Ir; top (self): %s" % (who, "{:,}".format(g["Ir_per_msg"]), ", ".join(
                    "%s %s" % (k, "{:,}".format(v)) for k, v in g["top"][:15])))
    B.log("relay_why: JSON in %s" % out)


def start_valgrind_pair(kind, dev_port, dev_ports):
    """The pair again, each process under callgrind (dumps in the work folder)."""
    vg = ["valgrind", "--tool=callgrind", "--quiet", "--dump-instr=no", "--callgrind-out-file=" +
          os.path.join(R.W, "callgrind.out.%p")]
    real_start = R.procs.start

    def start(name, argv, **kw):
        return real_start(name, vg + argv, **kw)
    R.procs.start = start
    try:
        cont, names = start_pair(kind, dev_port, dev_ports)
    finally:
        R.procs.start = real_start
    R.ready(cont, 1, timeout=600)
    return cont, names


if __name__ == "__main__":
    try:
        main()
    finally:
        R.procs.stop_all()
        for d in R.CLEANUP:
            shutil.rmtree(d, ignore_errors=True)
