"""Part 1, relay latency and throughput (bench/relay.sh; see bench/README.md).

A MOS 2.x NCS (bench_mosload client) sends stop-and-wait request/ack pairs to
a MOS 2.x device (bench_mosload respond) through each contender:
  direct    client -> device over plain TCP (the floor)
  stunnel   client -> stunnel (client mode, TCP->TLS 1.3) -> stunnel (server
            mode, TLS->TCP) -> device; ECDSA certificate, chain verified
  castgate  client -> castgate run (legacy NCS side) -> wss (TLS 1.3, ECDSA,
            Basic auth) -> castgate run (legacy device side) -> device; as
            journal = no / yes, fsync = interval / always, state on tmpfs
for 1, 10 and 200 channels (one TCP connection each; for castgate one link per
channel) with ~1 KB and ~64 KB messages and, on one channel, the 2 MB
roCreate fixture. Rounds interleave the contenders; each figure is the median
of its rounds, with min..max; the machine's load is recorded before each
round. Comparisons between contenders are ratios per round (paired: the
contenders of one round run back to back), with their range. Added latency =
contender minus direct at the same percentile (medians). When castgate misses a target, perf profiles the
two gateways and the top of the profile goes into the notes.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import benchlib as B  # noqa: E402
import machine  # noqa: E402

MOSLOAD = os.path.join(B.BUILD, "bin", "bench_mosload")
BIG = os.path.join(B.SHARED, "fixtures", "mos", "edge", "ucs2be", "roCreate-large-2MB.xml")
ROUNDS = 1 if B.QUICK else int(os.environ.get("BENCH_ROUNDS", "3"))
WARMUP = 0.5 if B.QUICK else 1.0
DURATION = 1.5 if B.QUICK else float(os.environ.get("BENCH_SECONDS", "5"))
CHANNELS = [1, 10, 200]
MAX_LINKS = max(CHANNELS)
SIZES = [("1 KB", ["--size", "1024"]), ("64 KB", ["--size", "65536"])]
CONFIGS = [(s, a, n) for s, a in SIZES for n in CHANNELS] + [("2 MB roCreate", ["--file", BIG], 1)]
# castgate, each configuration written out in full (so a changed default
# cannot relabel a contender): the defaults (journal = no, fsync = interval:
# the state directory synced every 100 ms); the journal on (journal = yes,
# the configuration every exactly-once claim uses); the journal on with every
# record synced (fsync = always); and the defaults with the state directory on
# tmpfs (no disk at all: what the code itself costs). No two are the same.
# (name, tag, [gateway] lines, where the state directories go; None: the work folder)
SHM = "/dev/shm" if os.path.isdir("/dev/shm") else None
CASTGATES = [("castgate journal=no fsync=interval (defaults)", "default", ["journal = no", "fsync = interval"], None),
             ("castgate journal=yes fsync=interval", "journal", ["journal = yes", "fsync = interval"], None),
             ("castgate journal=yes fsync=always", "always", ["journal = yes", "fsync = always"], None)]
if SHM:
    CASTGATES.append(("castgate journal=no fsync=interval state on tmpfs", "tmpfs",
                      ["journal = no", "fsync = interval"], SHM))
CONTENDERS = ["direct", "stunnel"] + [c[0] for c in CASTGATES]
ID_STEP = 10_000_000  # messageIDs of one client run: id_base .. id_base + ID_STEP - 1

procs = B.Procs()
W = B.workdir("relay")
OUT = B.bench_dir()
next_id = [1]
CLEANUP = [W]  # folders removed at the end


def link_channel(k):
    """Channel k of the load (and castgate link k) uses ro if k is even, mom if odd."""
    return "ro" if k % 2 == 0 else "mom"


# ---- contenders ----

class Contender:
    def __init__(self, name, ports, procs_, commands, max_channels):
        self.name, self.ports, self.procs, self.commands = name, ports, procs_, commands
        self.max_channels = max_channels

    def client_ports(self, n):
        return self.ports[:n] if len(self.ports) > 1 else self.ports


def start_device(nlinks):
    ports = B.free_ports(nlinks + 1)
    argv = [MOSLOAD, "respond", "--port", ",".join(map(str, ports))]
    p = procs.start("device", argv, out=os.path.join(W, "device.out"), err=os.path.join(W, "device.err"))
    B.wait_listening(ports, proc=p)
    return p, ports[0], ports[1:], "bench_mosload respond --port <%d ports>" % len(ports)


def start_stunnel(device_port):
    acc, mid = B.free_ports(2)
    pki = os.path.join(W, "pki")
    common = "foreground = yes\npid =\ndebug = 4\n"
    nodelay = "socket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n"
    server = (common + "[mos]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\ncert = %s/server-ecdsa.chain.pem\n"
              "key = %s/server-ecdsa.key\nsslVersionMin = TLSv1.3\n" % (mid, device_port, pki, pki) + nodelay)
    client = (common + "[mos]\nclient = yes\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
              "CAfile = %s/root-ca.pem\nverifyChain = yes\ncheckHost = localhost\nsslVersionMin = TLSv1.3\n"
              % (acc, mid, pki) + nodelay)
    ps = []
    for name, text, port in (("stunnel-server", server, mid), ("stunnel-client", client, acc)):
        path = os.path.join(W, name + ".conf")
        open(path, "w").write(text)
        p = procs.start(name, ["stunnel", path], err=os.path.join(W, name + ".log"))
        B.wait_listening([port], proc=p)
        ps.append(p)
    cmds = ["stunnel stunnel-server.conf", "stunnel stunnel-client.conf"]
    return Contender("stunnel", [acc], ps, cmds, MAX_LINKS)


def castgate_confs(tag, extra, state, nlinks, dev_ports, listen_ports, wss):
    """castgate run --config: one file per gateway, one [link] per channel."""
    a = ["[gateway]", "state_dir = %s/state-%s-a" % (state, tag)] + extra + [""]
    b = ["[gateway]", "state_dir = %s/state-%s-b" % (state, tag), "listen = 127.0.0.1:%d" % wss,
         "cert = %s/pki/server-ecdsa.chain.pem %s/pki/server-ecdsa.key" % (W, W), "ocsp = no",
         "credentials = %s/dev.htpasswd" % W] + extra + [""]
    for k in range(nlinks):
        ch = link_channel(k)
        pair = lambda p: "%d,0" % p if ch == "mom" else "0,%d" % p  # noqa: E731 (lower = mom, upper = ro)
        # one MOS 4.0 identity per link on each side, each with its own endpoint path
        head = ["[link l%d]" % k, "ncs_id = ncs%d" % k, "mos_id = dev%d" % k, "channels = " + ch,
                "legacy_encoding = ucs2be", "path = /mos/l%d" % k]
        a += head + ["legacy = ncs", "legacy_listen = 127.0.0.1:" + pair(listen_ports[k]),
                     "url = wss://localhost:%d/mos/l%d" % (wss, k), "mode = standard",
                     "ca = %s/pki/root-ca.pem" % W, "user = ncs%d" % k, "password_file = %s/ncs.pw" % W, ""]
        b += head + ["legacy = mos", "legacy_dial = 127.0.0.1:" + pair(dev_ports[k]), ""]
    names = ["castgate-%s-a.conf" % tag, "castgate-%s-b.conf" % tag]
    for name, text in zip(names, (a, b)):
        open(os.path.join(W, name), "w").write("\n".join(text))
    return names


def start_castgate(name, tag, extra, state_root, dev_ports):
    """A gateway pair: A (legacy NCS side, dials wss) and B (legacy device side, listens)."""
    nlinks = len(dev_ports)
    listen_ports = B.free_ports(nlinks + 1)
    wss, listen_ports = listen_ports[0], listen_ports[1:]
    pw = os.path.join(W, "ncs.pw")
    if not os.path.exists(pw):
        with open(pw, "w") as f:
            f.write("bench password\n")
        os.chmod(pw, 0o600)
        for k in range(nlinks):
            subprocess.run([B.CASTGATE, "passwd", os.path.join(W, "dev.htpasswd"), "ncs%d" % k],
                           input="bench password\n", text=True, check=True, capture_output=True)
    state = W
    if state_root is not None:
        state = tempfile.mkdtemp(prefix="cg-bench-relay-state.", dir=state_root)
        CLEANUP.append(state)
    fa, fb = castgate_confs(tag, extra, state, nlinks, dev_ports, listen_ports, wss)
    t0 = time.monotonic()
    pb = procs.start(name + " B", [B.CASTGATE, "run", "--config", os.path.join(W, fb)],
                     err=os.path.join(W, fb + ".err"))
    tb = B.wait_listening([wss], proc=pb, timeout=300) - t0
    t0 = time.monotonic()
    pa = procs.start(name + " A", [B.CASTGATE, "run", "--config", os.path.join(W, fa)],
                     err=os.path.join(W, fa + ".err"))
    ta = B.wait_listening(listen_ports, proc=pa, timeout=300) - t0
    cmds = ["castgate run --config " + fb, "castgate run --config " + fa]
    c = Contender(name, listen_ports, [pa, pb], cmds, nlinks)
    c.startup = "%s with %d links: B listened %.1f s after its start, A's legacy ports %.1f s after its start" % (
        name, nlinks, tb, ta)
    B.log("bench relay: " + c.startup)
    return c


# ---- the load ----

def client_argv(cont, size_args, channels, warmup, duration):
    ports = cont.client_ports(channels)
    base = next_id[0]
    next_id[0] += ID_STEP
    if next_id[0] > 2_000_000_000:  # M-11: messageIDs stay below 2^31
        next_id[0] = 1
    argv = [MOSLOAD, "client", "--port", ",".join(map(str, ports)), "--channels", str(channels), "--kind", "alt",
            "--duration", str(duration), "--warmup", str(warmup), "--id-base", str(base),
            "--mos-id", "dev%d", "--ncs-id", "ncs%d"] + size_args
    shown = ["bench_mosload", "client", "--port", "<%s>" % ("%d ports" % len(ports) if len(ports) > 1 else "port"),
             "--channels", str(channels), "--kind", "alt", "--duration", str(duration), "--warmup", str(warmup),
             "--mos-id", "dev%d", "--ncs-id", "ncs%d"] + [os.path.relpath(a, B.ROOT) if a == BIG else a
                                                          for a in size_args]
    return argv, " ".join(shown)


def run_client(cont, size_args, channels, warmup=None, duration=None, during=None):
    warmup = WARMUP if warmup is None else warmup
    duration = DURATION if duration is None else duration
    argv, shown = client_argv(cont, size_args, channels, warmup, duration)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(warmup)
    c0 = B.cpu_seconds(cont.procs)
    if during is not None:
        during(duration)
    else:
        time.sleep(duration)
    c1 = B.cpu_seconds(cont.procs)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    try:
        res = json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        res = {"messages": 0, "errors": -1, "stderr": err.strip()[-400:]}
    res["cpu_cores"] = round((c1 - c0) / duration, 3)
    if res.get("msgs_per_s"):
        res["cpu_us_per_msg"] = round(res["cpu_cores"] * 1e6 / res["msgs_per_s"], 1)
    if err.strip():
        res["stderr"] = err.strip()[-400:]
    return res, shown


def ready(cont, n, timeout=300):
    """Waits until the first n channels through cont work: a probe run in which
    every request of every channel is answered (within the run or while it
    drains), with no error."""
    end = time.monotonic() + timeout
    while True:
        res, _ = run_client(cont, ["--size", "1024"], n, warmup=0.3, duration=1.0)
        if res.get("errors") == 0 and res.get("unanswered_at_end") == 0 and "channels" in res:
            return
        if time.monotonic() > end:
            raise RuntimeError("%s: the probe of %d channels still fails: %s" % (cont.name, n, res))
        time.sleep(0.5)


# ---- figures and targets ----

KEYS = ["msgs_per_s", "MB_per_s", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "cpu_cores"]


def summarise(name, cont, size_label, channels, rounds, shown, direct):
    m = {k: B.median([r.get(k) for r in rounds]) for k in KEYS}
    m["errors"] = sum(r.get("errors", 0) for r in rounds)
    m["messages"] = sum(r.get("messages", 0) for r in rounds)
    m["spread"] = {k: B.spread([r.get(k) for r in rounds]) for k in ("msgs_per_s", "p50_us", "p99_us", "p999_us")}
    if direct is not None:
        for k in ("p50_us", "p99_us", "p999_us"):
            if m[k] is not None and direct[k] is not None:
                m["added_" + k] = round(m[k] - direct[k], 1)
    if m["cpu_cores"] and m["msgs_per_s"]:
        m["cpu_us_per_msg"] = round(m["cpu_cores"] * 1e6 / m["msgs_per_s"], 1)
    return {"name": "%s x%d ch" % (size_label, channels), "contender": name,
            "command": " ; ".join(cont.commands + [shown]),
            "params": {"channels": channels, "size": size_label,
                       "bytes_per_msg": B.median([r.get("bytes_per_msg") for r in rounds]),
                       "rounds": len(rounds), "warmup_s": WARMUP, "seconds": DURATION},
            "metrics": m, "rounds": rounds}


def paired(a, b, key):
    """a/b per round, paired by round number (the contenders of one round run
    back to back), over rounds both have: [ratio, ...]."""
    ra = {r["round"]: r.get(key) for r in a["rounds"] if r.get(key) and not r.get("errors")}
    rb = {r["round"]: r.get(key) for r in b["rounds"] if r.get(key) and not r.get("errors")}
    return [round(ra[i] / rb[i], 3) for i in sorted(set(ra) & set(rb))]


def show(rs):
    return ("%s (range %.2f-%.2f)" % ("/".join("%.2f" % x for x in rs), min(rs), max(rs))) if rs else "no paired rounds"


def targets_for(figs):
    """The targets against stunnel, judged on the ratios per round: met only
    when every round meets it."""
    by = {(f["name"], f["contender"]): f for f in figs}
    out = []
    for name in dict.fromkeys(f["name"] for f in figs):
        st = by.get((name, "stunnel"))
        for who, _, _, _ in CASTGATES:
            cg = by.get((name, who))
            if cg is None or st is None:
                continue
            p99 = paired(cg, st, "p99_us")
            if p99:
                out.append({"target": "%s p99 <= stunnel p99 (%s)" % (who, name), "met": max(p99) <= 1.0,
                            "detail": "p99 %s/stunnel per round %s" % (who, show(p99)),
                            "paired": {"p99_ratio": p99}})
            rate = paired(cg, st, "msgs_per_s")
            if rate:
                out.append({"target": "%s msgs/s >= stunnel (%s)" % (who, name), "met": min(rate) >= 1.0,
                            "detail": "msgs/s %s/stunnel per round %s" % (who, show(rate)),
                            "paired": {"msgs_per_s_ratio": rate}})
    return out


def cpu_notes(figs):
    """CPU per message against stunnel's, per round (paired): information, not a target."""
    by = {(f["name"], f["contender"]): f for f in figs}
    out = []
    for who, _, _, _ in CASTGATES:
        parts = []
        for name in dict.fromkeys(f["name"] for f in figs):
            cg, st = by.get((name, who)), by.get((name, "stunnel"))
            cpu = paired(cg, st, "cpu_us_per_msg") if cg and st else []
            if cpu:
                parts.append("%s %s" % (name, show(cpu)))
        if parts:
            out.append("CPU per message, %s / stunnel, per round: %s" % (who, "; ".join(parts)))
    return out


def profile(cont, tag, size_label, size_args, channels, notes):
    """perf on both gateways of cont under load: CPU (perf record) and, in a
    second run, where the time goes in system calls (perf trace -s)."""
    slug = "%s-%s-x%d" % (tag, size_label.split()[0] + size_label.split()[1], channels)  # "default-1KB-x10"
    path = os.path.join(OUT, "relay-perf-%s.txt" % slug)
    secs = 3.0 if B.QUICK else 5.0
    pids = [p.pid for p in cont.procs]
    what = "%s gateways (A and B), %s x%d channels" % (cont.name, size_label, channels)
    got = {}
    res, _ = run_client(cont, size_args, channels, warmup=1.0, duration=secs,
                        during=lambda d: got.update(top=B.perf_profile(pids, max(1.0, d - 0.5), path, what)))
    res2, _ = run_client(cont, size_args, channels, warmup=1.0, duration=secs,
                         during=lambda d: got.update(sys=B.perf_syscalls(pids, max(1.0, d - 0.5), path, what)))
    notes.append("perf, %s at %s x%d channels (%s and %s msgs/s while profiled; %s): top self-time symbols: %s; "
                 "system calls by total time: %s" % (cont.name, size_label, channels, res.get("msgs_per_s"),
                                                    res2.get("msgs_per_s"), os.path.basename(path),
                                                    " | ".join(got.get("top", [])[:8]),
                                                    " | ".join(got.get("sys", [])[:5])))


def main():
    if not os.path.exists(MOSLOAD):
        raise SystemExit("bench relay: %s is missing (bench/run.sh builds it)" % MOSLOAD)
    B.make_pki(os.path.join(W, "pki"))
    device, direct_port, dev_ports, device_cmd = start_device(MAX_LINKS)
    direct = Contender("direct", [direct_port], [device], [device_cmd], MAX_LINKS)
    stunnel = start_stunnel(direct_port)
    stunnel.commands.insert(0, device_cmd)
    conts = {"direct": direct, "stunnel": stunnel}
    for name, tag, extra, state_root in CASTGATES:
        conts[name] = start_castgate(name, tag, extra, state_root, dev_ports)
        conts[name].commands.insert(0, device_cmd)
    for c in conts.values():
        t0 = time.monotonic()
        ready(c, c.max_channels)
        if hasattr(c, "startup"):
            c.startup += ", all %d channels answered %.1f s later" % (c.max_channels, time.monotonic() - t0)
    B.log("bench relay: %d rounds of %.1f s (+%.1f s warm-up) per figure" % (ROUNDS, DURATION, WARMUP))
    figs, notes = [], [c.startup for c in conts.values() if hasattr(c, "startup")]
    for size_label, size_args, n in CONFIGS:
        rounds = {c: [] for c in CONTENDERS}
        shown = {}
        for r in range(ROUNDS):
            for c in CONTENDERS:
                if n > conts[c].max_channels:
                    continue
                st = machine.state()
                for o in st["others"]:
                    B.log("bench relay: WARNING: another benchmark or soak is running: " + o)
                res, shown[c] = run_client(conts[c], size_args, n)
                res["round"] = r + 1
                res["loadavg_before"], res["others_before"] = st["loadavg"], st["others"]
                rounds[c].append(res)
                B.log("  %-14s x%-3d %-24s %8.0f msgs/s  p50 %8.0f  p99 %8.0f  p99.9 %8.0f us  cpu %.2f  errors %s"
                      % (size_label, n, c, res.get("msgs_per_s", 0), res.get("p50_us", 0), res.get("p99_us", 0),
                         res.get("p999_us", 0), res.get("cpu_cores", 0), res.get("errors")))
        base = None
        for c in CONTENDERS:
            if rounds[c]:
                f = summarise(c, conts[c], size_label, n, rounds[c], shown[c], base)
                if c == "direct":
                    base = f["metrics"]
                figs.append(f)
    targets = targets_for(figs)
    notes += cpu_notes(figs)
    errs = [(f["name"], f["contender"], f["metrics"]["errors"]) for f in figs if f["metrics"]["errors"]]
    if errs:
        notes.append("errors (wrong, negative or missing answers, lost connections): %s" % errs)
    missed = {t["target"].split(" msgs/s")[0].split(" p99")[0] for t in targets if not t["met"]}
    for name, tag, _, _ in CASTGATES:
        if name in missed:
            profile(conts[name], tag, "1 KB", ["--size", "1024"], 10, notes)
    if missed:  # the big message on the variant without disk waits: CPU only
        name, tag, _, _ = CASTGATES[-1]
        profile(conts[name], tag, "2 MB roCreate", ["--file", BIG], 1, notes)
    os.makedirs(os.path.join(OUT, "relay-configs"), exist_ok=True)
    for name in sorted(os.listdir(W)):
        if name.endswith(".conf"):
            shutil.copy(os.path.join(W, name), os.path.join(OUT, "relay-configs", name))
    B.write_part("relay", "Relay latency and throughput: MOS 2.x stop-and-wait through each contender",
                 "Round trip per message (request out, its mosAck/roAck back) in microseconds, at the client; "
                 "added_* = contender minus direct at that percentile (medians of rounds); comparisons with stunnel "
                 "are ratios per round (paired), met only when every round meets them; each round records "
                 "loadavg_before (/proc/loadavg) and other benchmarks or soaks then running; msgs_per_s over all "
                 "channels; cpu_cores = CPU seconds per second of the contender's own processes (direct: the "
                 "device; stunnel: both stunnels; castgate: both gateways), cpu_us_per_msg the same per message; "
                 "bytes_per_msg = UCS-2BE bytes of one request on the wire. With more than one channel the "
                 "contenders run at different rates, so queueing differs and an added latency can be negative "
                 "(the direct floor queues more at its higher rate). Configurations, with the work folder's "
                 "paths, in relay-configs/.",
                 figs, targets, notes)


def run():
    ok = False
    try:
        main()
        ok = True
    finally:
        procs.stop_all()
        if not ok:  # keep the processes' logs for the report
            os.makedirs(os.path.join(OUT, "relay-logs"), exist_ok=True)
            for name in os.listdir(W):
                if name.endswith((".err", ".log", ".conf")):
                    shutil.copy(os.path.join(W, name), os.path.join(OUT, "relay-logs", name))
        for d in CLEANUP:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run()
