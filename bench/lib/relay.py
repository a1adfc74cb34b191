"""Part 1, relay latency and throughput (bench/relay.sh; see bench/README.md).

A MOS 2.x NCS (bench_mosload client) sends stop-and-wait request/ack pairs to
a MOS 2.x device (bench_mosload respond) through each contender:
  direct    client -> device over plain TCP (the floor)
  stunnel   client -> stunnel (client mode, TCP->TLS 1.3) -> stunnel (server
            mode, TLS->TCP) -> device; ECDSA certificate, chain verified
  castgate  client -> castgate run (legacy NCS side) -> wss (TLS 1.3, ECDSA,
            Basic auth) -> castgate run (legacy device side) -> device
for 1, 10 and 200 channels (one TCP connection each; for castgate one link per
channel) with ~1 KB and ~64 KB messages and, on one channel, the 2 MB
roCreate fixture. Rounds interleave the contenders; each figure is the median
of its rounds, with min..max. Added latency = contender minus direct at the
same percentile (medians). When castgate misses a target, perf profiles the
two gateways and the top of the profile goes into the notes.
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import benchlib as B  # noqa: E402

MOSLOAD = os.path.join(B.BUILD, "bin", "bench_mosload")
BIG = os.path.join(B.SHARED, "fixtures", "mos", "edge", "ucs2be", "roCreate-large-2MB.xml")
ROUNDS = 1 if B.QUICK else int(os.environ.get("BENCH_ROUNDS", "3"))
WARMUP = 0.5 if B.QUICK else 1.0
DURATION = 1.5 if B.QUICK else float(os.environ.get("BENCH_SECONDS", "5"))
CHANNELS = [1, 10, 200]
MAX_LINKS = max(CHANNELS)
SIZES = [("1 KB", ["--size", "1024"]), ("64 KB", ["--size", "65536"])]
CONFIGS = [(s, a, n) for s, a in SIZES for n in CHANNELS] + [("2 MB roCreate", ["--file", BIG], 1)]
CONTENDERS = ["direct", "stunnel", "castgate"]
ID_STEP = 10_000_000  # messageIDs of one client run: id_base .. id_base + ID_STEP - 1

procs = B.Procs()
W = B.workdir("relay")
OUT = B.bench_dir()
next_id = [1]


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


def has_run_config():
    h = subprocess.run([B.CASTGATE, "run", "--help"], capture_output=True, text=True)
    return "--config" in h.stdout + h.stderr


def castgate_conf_many(nlinks, dev_ports, listen_ports, wss):
    """castgate run --config: one file per gateway, one [link] per channel."""
    a = ["[gateway]", "state_dir = %s/state-a" % W, ""]
    b = ["[gateway]", "state_dir = %s/state-b" % W, "listen = 127.0.0.1:%d" % wss,
         "cert = %s/pki/server-ecdsa.chain.pem,%s/pki/server-ecdsa.key" % (W, W),
         "credentials = %s/dev.htpasswd" % W, ""]
    for k in range(nlinks):
        ch = link_channel(k)
        pair = lambda p: "%d,0" % p if ch == "mom" else "0,%d" % p  # noqa: E731 (lower = mom, upper = ro)
        head = ["[link l%d]" % k, "ncs_id = ncs%d" % k, "mos_id = dev%d" % k, "channels = " + ch,
                "legacy_encoding = ucs2be", "mode = standard"]
        a += head + ["legacy = ncs", "legacy_listen = 127.0.0.1:" + pair(listen_ports[k]),
                     "url = wss://localhost:%d/mos/Communication" % wss, "ca = %s/pki/root-ca.pem" % W,
                     "user = ncs%d" % k, "password_file = %s/ncs.pw" % W, ""]
        b += head + ["legacy = mos", "legacy_dial = 127.0.0.1:" + pair(dev_ports[k]), ""]
    open(os.path.join(W, "gw-a.conf"), "w").write("\n".join(a))
    open(os.path.join(W, "gw-b.conf"), "w").write("\n".join(b))
    return (["run", "--config", os.path.join(W, "gw-a.conf")], ["run", "--config", os.path.join(W, "gw-b.conf")],
            ["castgate run --config gw-a.conf", "castgate run --config gw-b.conf"])


def castgate_conf_pair(dev_ports, listen_ports, wss):
    """Today's two-file form (castgate run --legacy --mos4): one link, channel ro."""
    files = {
        "la": "[endpoint]\nrole = mos\nid = dev0\nstate_dir = %s/state-la\n[peer ncs0]\n"
              "legacy_listen = 127.0.0.1:0,%d\nchannels = ro\n" % (W, listen_ports[0]),
        "wa": "[endpoint]\nrole = ncs\nid = ncs0\nstate_dir = %s/state-wa\n[peer dev0]\n"
              "url = wss://localhost:%d/mos/Communication\nca = %s/pki/root-ca.pem\nuser = ncs0\n"
              "password_file = %s/ncs.pw\nchannels = ro\n" % (W, wss, W, W),
        "wb": "[endpoint]\nrole = mos\nid = dev0\nlisten = 127.0.0.1:%d\ncert = %s/pki/server-ecdsa.chain.pem "
              "%s/pki/server-ecdsa.key\ncredentials = %s/dev.htpasswd\nocsp = no\nstate_dir = %s/state-wb\n"
              "[peer ncs0]\nchannels = ro\n" % (wss, W, W, W, W),
        "lb": "[endpoint]\nrole = ncs\nid = ncs0\nstate_dir = %s/state-lb\n[peer dev0]\n"
              "legacy_dial = 127.0.0.1:0,%d\nchannels = ro\n" % (W, dev_ports[0]),
    }
    for k, v in files.items():
        open(os.path.join(W, "gw-%s.conf" % k), "w").write(v)
    c = lambda k: os.path.join(W, "gw-%s.conf" % k)  # noqa: E731
    return (["run", "--legacy", c("la"), "--mos4", c("wa")], ["run", "--legacy", c("lb"), "--mos4", c("wb")],
            ["castgate run --legacy gw-la.conf --mos4 gw-wa.conf",
             "castgate run --legacy gw-lb.conf --mos4 gw-wb.conf"])


def start_castgate(dev_ports):
    many = has_run_config()
    nlinks = len(dev_ports) if many else 1
    listen_ports = B.free_ports(nlinks + 1)
    wss, listen_ports = listen_ports[0], listen_ports[1:]
    with open(os.path.join(W, "ncs.pw"), "w") as f:
        f.write("bench password\n")
    os.chmod(os.path.join(W, "ncs.pw"), 0o600)
    for k in range(nlinks):
        subprocess.run([B.CASTGATE, "passwd", os.path.join(W, "dev.htpasswd"), "ncs%d" % k],
                       input="bench password\n", text=True, check=True, capture_output=True)
    if many:
        a, b, cmds = castgate_conf_many(nlinks, dev_ports, listen_ports, wss)
    else:
        a, b, cmds = castgate_conf_pair(dev_ports, listen_ports, wss)
    pb = procs.start("castgate-b", [B.CASTGATE] + b, err=os.path.join(W, "castgate-b.err"))
    B.wait_listening([wss], proc=pb)
    pa = procs.start("castgate-a", [B.CASTGATE] + a, err=os.path.join(W, "castgate-a.err"))
    B.wait_listening(listen_ports, proc=pa)
    return Contender("castgate", listen_ports, [pa, pb], cmds, nlinks)


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
    if err.strip():
        res["stderr"] = err.strip()[-400:]
    return res, shown


def ready(cont, n, timeout=90):
    """Waits until every one of the first n channels is answered through cont."""
    end = time.monotonic() + timeout
    while True:
        res, _ = run_client(cont, ["--size", "1024"], n, warmup=0.3, duration=1.0)
        if res.get("channels_answered") == n and res.get("errors") == 0:
            return
        if time.monotonic() > end:
            raise RuntimeError("%s: only %s of %d channels answered: %s" %
                               (cont.name, res.get("channels_answered"), n, res))
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


def targets_for(figs):
    by = {(f["name"], f["contender"]): f["metrics"] for f in figs}
    out = []
    for name in dict.fromkeys(f["name"] for f in figs):
        cg, st = by.get((name, "castgate")), by.get((name, "stunnel"))
        if cg is None or st is None:
            continue
        a, b = cg.get("added_p99_us"), st.get("added_p99_us")
        if a is not None and b is not None:
            out.append({"target": "castgate added p99 <= stunnel added p99 (%s)" % name, "met": a <= b,
                        "detail": "castgate +%.0f us, stunnel +%.0f us (castgate p99 %.0f us = %.2fx stunnel's)"
                                  % (a, b, cg["p99_us"], cg["p99_us"] / st["p99_us"])})
        if cg["msgs_per_s"] and st["msgs_per_s"]:
            r = cg["msgs_per_s"] / st["msgs_per_s"]
            out.append({"target": "castgate msgs/s >= stunnel (%s)" % name, "met": r >= 1.0,
                        "detail": "castgate %.0f/s, stunnel %.0f/s (ratio %.2f)"
                                  % (cg["msgs_per_s"], st["msgs_per_s"], r)})
    return out


def profile(castgate, size_label, size_args, channels, notes):
    slug = "%s-x%d" % (size_label.split()[0] + size_label.split()[1], channels)  # "1KB-x10", "2MB-x1"
    path = os.path.join(OUT, "relay-perf-%s.txt" % slug)
    secs = 3.0 if B.QUICK else 5.0
    pids = [p.pid for p in castgate.procs]
    holder = {}
    res, _ = run_client(castgate, size_args, channels, warmup=1.0, duration=secs,
                        during=lambda d: holder.update(top=B.perf_profile(
                            pids, max(1.0, d - 0.5), path, "castgate gateways (A and B), %s x%d channels"
                            % (size_label, channels))))
    top = holder.get("top", [])
    notes.append("perf profile of both castgate gateways at %s x%d channels (%s msgs/s while profiled; "
                 "%s): top self-time symbols: %s" % (size_label, channels, res.get("msgs_per_s"),
                                                     os.path.basename(path), " | ".join(top[:10])))


def main():
    if not os.path.exists(MOSLOAD):
        raise SystemExit("bench relay: %s is missing (bench/run.sh builds it)" % MOSLOAD)
    B.make_pki(os.path.join(W, "pki"))
    device, direct_port, dev_ports, device_cmd = start_device(MAX_LINKS)
    direct = Contender("direct", [direct_port], [device], [device_cmd], MAX_LINKS)
    stunnel = start_stunnel(direct_port)
    stunnel.commands.insert(0, device_cmd)
    castgate = start_castgate(dev_ports)
    castgate.commands.insert(0, device_cmd)
    conts = {"direct": direct, "stunnel": stunnel, "castgate": castgate}
    for c in conts.values():
        ready(c, min(c.max_channels, MAX_LINKS))
    B.log("bench relay: %d castgate links; %d rounds of %.1f s (+%.1f s warm-up) per figure"
          % (castgate.max_channels, ROUNDS, DURATION, WARMUP))
    figs, notes = [], []
    if castgate.max_channels < MAX_LINKS:
        notes.append("castgate ran with %d link(s) only (this build's `castgate run` has no --config): "
                     "figures with more channels have no castgate entry" % castgate.max_channels)
    for size_label, size_args, n in CONFIGS:
        rounds = {c: [] for c in CONTENDERS}
        shown = {}
        for r in range(ROUNDS):
            for c in CONTENDERS:
                if n > conts[c].max_channels:
                    continue
                res, shown[c] = run_client(conts[c], size_args, n)
                res["round"] = r + 1
                rounds[c].append(res)
                B.log("  %-14s x%-3d %-8s %8.0f msgs/s  p50 %8.0f  p99 %8.0f  p99.9 %8.0f us  cpu %.2f  errors %s"
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
    errs = [(f["name"], f["contender"], f["metrics"]["errors"]) for f in figs if f["metrics"]["errors"]]
    if errs:
        notes.append("errors (wrong, negative or missing answers, lost connections): %s" % errs)
    missed = [t for t in targets if not t["met"]]
    if missed:
        prof = [("1 KB", ["--size", "1024"], min(10, castgate.max_channels)), ("2 MB roCreate", ["--file", BIG], 1)]
        for size_label, size_args, n in prof:
            profile(castgate, size_label, size_args, n, notes)
    for name in ("gw-a.conf", "gw-b.conf", "gw-la.conf", "gw-wa.conf", "gw-lb.conf", "gw-wb.conf",
                 "stunnel-server.conf", "stunnel-client.conf"):
        if os.path.exists(os.path.join(W, name)):
            os.makedirs(os.path.join(OUT, "relay-configs"), exist_ok=True)
            shutil.copy(os.path.join(W, name), os.path.join(OUT, "relay-configs", name))
    B.write_part("relay", "Relay latency and throughput: MOS 2.x stop-and-wait through each contender",
                 "Round trip per message (request out, its mosAck/roAck back) in microseconds, at the client; "
                 "added_* = contender minus direct at that percentile (medians of rounds); msgs_per_s over all "
                 "channels; cpu_cores = CPU seconds per second of the contender's own processes (direct: the "
                 "device); bytes_per_msg = UCS-2BE bytes of one request on the wire. Configurations, with the "
                 "work folder's paths, in relay-configs/.",
                 figs, targets, notes)
    procs.stop_all()
    shutil.rmtree(W, ignore_errors=True)


if __name__ == "__main__":
    main()
