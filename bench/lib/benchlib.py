"""Shared helpers for castgate's benchmark parts (bench/<part>.sh; see bench/README.md).

Every process a part starts goes through Procs and is killed by PID when the
part ends (normally, on an exception or on SIGTERM/SIGINT). Ports are free
loopback ports picked at run time; "listening" is read from `ss -ltn`, never
probed with a connection.
"""
import atexit
import fractions
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("CG_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
BUILD = os.environ.get("CG_BENCH_BUILD", os.path.join(ROOT, "build-bench"))
CASTGATE = os.environ.get("CASTGATE", os.path.join(ROOT, "build", "bin", "castgate"))
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def bench_dir():
    """The run's result folder (CG_BENCH_DIR, made by bench/run.sh); a fresh one when run alone."""
    d = os.environ.get("CG_BENCH_DIR")
    if not d:
        d = os.path.join(ROOT, "bench", "results", time.strftime("%Y-%m-%dT%H%M", time.gmtime()))
        os.environ["CG_BENCH_DIR"] = d
    os.makedirs(d, exist_ok=True)
    return d


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Procs:
    """Processes started by a part; stop() kills each by PID (TERM, then KILL)."""

    def __init__(self):
        self.procs = []
        atexit.register(self.stop_all)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, sig, frame):
        self.stop_all()
        sys.exit(128 + sig)

    def start(self, name, argv, out=None, err=None, cwd=None, env=None):
        """Starts argv; out/err are file paths (None: /dev/null)."""
        fo = open(out, "ab") if out else subprocess.DEVNULL
        fe = open(err, "ab") if err else subprocess.DEVNULL
        p = subprocess.Popen(argv, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, cwd=cwd, env=env)
        p.bench_name = name
        for f in (fo, fe):
            if f is not subprocess.DEVNULL:
                f.close()
        self.procs.append(p)
        return p

    def stop(self, p, timeout=3.0):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def kill(self, p):
        """SIGKILL and reap."""
        if p.poll() is None:
            p.kill()
        p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p)


def free_ports(n):
    """n distinct free loopback ports (held until all are picked)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def listening_ports():
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True).stdout
    ports = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4 and ":" in f[3]:
            try:
                ports.add(int(f[3].rsplit(":", 1)[1]))
            except ValueError:
                pass
    return ports


def wait_listening(ports, timeout=20.0, proc=None, poll=0.02):
    """Waits until every port is in LISTEN state; returns the time that happened (monotonic)."""
    want = set(ports)
    end = time.monotonic() + timeout
    while True:
        if want <= listening_ports():
            return time.monotonic()
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited (%s) before listening" % (proc.bench_name, proc.returncode))
        if time.monotonic() > end:
            raise RuntimeError("ports never opened: %s" % sorted(want - listening_ports())[:10])
        time.sleep(poll)


def cpu_seconds(procs):
    """User + system CPU seconds used so far by these processes (all their threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in procs:
        try:
            f = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / tick
        except (OSError, IndexError):
            pass
    return total


def make_pki(d):
    """The dev PKI (scripts/dev-pki.sh): root, intermediate, RSA and ECDSA leaves for localhost."""
    port = free_ports(1)[0]  # the OCSP URL in the certificates; no responder is needed (ocsp = no)
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "dev-pki.sh"), "--dir", d, "--host", "localhost",
                    "--ocsp-port", str(port)], check=True, stdout=subprocess.DEVNULL)
    return d


def workdir(part):
    return tempfile.mkdtemp(prefix="cg-bench-%s." % part)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return [min(xs), max(xs)] if xs else None


def pct(xs, p):
    """The p-th percentile (nearest rank) of xs: the smallest value with at least p% of the
    samples at or below it, rank ceil(p/100 * n), in exact arithmetic (so p99 of 100 samples
    is the 99th, not the maximum; 0.99 * 100 in floating point is 99.00000000000001)."""
    xs = sorted(xs)
    if not xs:
        return None
    rank = math.ceil(fractions.Fraction(str(p)) * len(xs) / 100)
    return xs[max(1, min(len(xs), rank)) - 1]


def write_part(part, title, unit_notes, figures, targets, notes):
    path = os.path.join(bench_dir(), part + ".json")
    with open(path, "w") as f:
        json.dump({"part": part, "title": title, "unit_notes": unit_notes, "figures": figures,
                   "targets": targets, "notes": notes}, f, indent=1)
    log("bench %s: wrote %s" % (part, os.path.relpath(path, ROOT)))
    return path


def perf_profile(pids, seconds, out_txt, title):
    """perf record (call graphs from DWARF unwinding: the builds keep no frame
    pointers) on pids for seconds; the flat self-time profile and the heaviest
    call chains go to out_txt. Returns the top lines."""
    data = out_txt + ".data"
    rec = subprocess.run(["perf", "record", "-q", "-F", "499", "--call-graph", "dwarf,8192", "-o", data, "-p",
                          ",".join(str(p) for p in pids), "--", "sleep", str(seconds)],
                         capture_output=True, text=True)
    if rec.returncode != 0 or not os.path.exists(data):
        return ["perf record failed: " + (rec.stderr.strip()[-300:] or str(rec.returncode))]
    flat = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,sym",
                           "--percent-limit", "0.7", "-g", "none"], capture_output=True, text=True).stdout
    dsos = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso",
                           "-g", "none"], capture_output=True, text=True).stdout
    graph = subprocess.run(["perf", "report", "-i", data, "--stdio", "--children", "--sort", "sym",
                            "--percent-limit", "4", "-g", "caller,1,callee,function,percent",
                            "--max-stack", "14"], capture_output=True, text=True).stdout
    os.unlink(data)
    with open(out_txt, "w") as f:
        f.write("# %s\n# perf record -F 499 --call-graph dwarf,8192 -p %s -- sleep %s\n\n"
                % (title, ",".join(map(str, pids)), seconds))
        f.write("## self time by shared object\n" + _strip(dsos) + "\n## self time by symbol\n" + _strip(flat))
        f.write("\n## inclusive time (children), call chains\n" + _strip(graph)[:60000])
    top = [l.strip() for l in _strip(flat).splitlines() if "%" in l][:12]
    return top


def _strip(report):
    return "\n".join(l for l in report.splitlines() if l.strip() and not l.startswith("#")) + "\n"


def perf_syscalls(pids, seconds, out_txt, title):
    """perf trace -s on pids for seconds: system calls by total time, appended to out_txt.
    Returns the heaviest calls as "name total_ms (calls)"."""
    r = subprocess.run(["perf", "trace", "-s", "-p", ",".join(str(p) for p in pids), "--", "sleep", str(seconds)],
                       capture_output=True, text=True)
    text = r.stdout + r.stderr
    rows = []
    for line in text.splitlines():
        f = line.split()
        # "   fdatasync    1234     0  5678.901   ..." : syscall calls errors total(ms) min avg max stddev
        if len(f) >= 4 and f[1].isdigit() and f[2].isdigit():
            try:
                rows.append((float(f[3]), f[0], int(f[1])))
            except ValueError:
                pass
    agg = {}
    for total, name, calls in rows:  # one table per thread: add them up
        t, c = agg.get(name, (0.0, 0))
        agg[name] = (t + total, c + calls)
    top = sorted(agg.items(), key=lambda kv: -kv[1][0])
    with open(out_txt, "a") as f:
        f.write("\n## system calls by total time (perf trace -s -p %s -- sleep %s), summed over threads\n"
                % (",".join(map(str, pids)), seconds))
        f.write("# %s\n" % title)
        for name, (t, c) in top:
            f.write("%-24s %10.1f ms %9d calls\n" % (name, t, c))
    return ["%s %.0f ms (%d calls)" % (n, t, c) for n, (t, c) in top[:8]]
