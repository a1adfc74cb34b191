"""Part hostile (bench/hostile.sh; see bench/README.md): what an attacker costs
everyone else (issue 12, "Done when" for items 4, 5 and 6).

One gateway (`castgate run`, the program measured) serves one link: a MOS 2.x
NCS on its legacy ports (mom, ro; no authentication, as MOS 2.x has none) and
a MOS 4.0 device (`castgate mos serve`) over wss. The gateway also listens for
wss with Basic credentials (the device's lanes towards the NCS come in there).
The probe is an honest NCS on the mom lane: `bench_mosload client`, one
channel, ~1 KB mosObjCreate stop-and-wait, every round trip in a histogram.

Each round runs the probe beside one thing at a time:
  quiet     nothing else;
  password  password guessing on the wss listener: 16 clients, each from its
            own loopback address, each address kept under the lockout (4
            wrong passwords, then the client moves to its next address
            127.0.<client+1>.<n>), each try a different wrong password
            (identical concurrent guesses share one hash), so every guess
            costs a password hash;
  xml       quadratic XML on the ro legacy port (same link, other lane): one
            roReq with 200,000 attributes on one element (6.3 MB UCS-2BE),
            sent again as soon as it is answered;
  flood     a connection flood on the ro legacy port: 4 clients from
            127.0.0.20-23 connect and close as fast as they can; an honest ro
            connection from 127.0.0.1 is open through it, and whether it still
            answers afterwards is recorded (victim_ok). When the build has
            `legacy_allow`, the link allows 127.0.0.1 only.
  tlsflood  (only when BENCH_HOSTILE_PHASES names it) a TLS handshake flood on
            the wss listener: 4 clients from 127.0.0.30-33 complete a TLS
            handshake and close, as fast as they can (no HTTP, no password).
Each attack's clients run in a child process of their own (`hostile.py
attack ...`), once at nice 0 (the same box: the worst case) and once at nice
19 (BENCH_HOSTILE_NICE, default "0 19"; models remote attackers, whose CPU is
not the gateway's: theirs yields to the gateway and the probe).
For each: the probe's p50/p99/p99.9/max, the gateway's CPU (cores), its loop's
and all its threads' waits for a CPU, the attackers' CPU and peak RSS while it
runs, then its CPU and RSS in a quiet window after the attack stops. Targets:
per attack, the probe's p99 within 2x the quiet p99 and under 20 ms, judged
on the highest niceness; the nice 0 rows are shown beside them, met or not.
Rounds interleave the phases; figures are medians of rounds.
BENCH_HOSTILE_PERF=1 (diagnostics only: it perturbs the figures) writes the
gateway's perf profile during each attack to hostile-perf-<phase>-r<round>.txt.
"""
import base64
import json
import os
import resource
import signal
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import benchlib as B  # noqa: E402

MOSLOAD = os.path.join(B.BUILD, "bin", "bench_mosload")
SECONDS = 3 if B.QUICK else int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = 1 if B.QUICK else int(os.environ.get("BENCH_ROUNDS", "3"))
AFTER_S = 2 if B.QUICK else 5
WARMUP_S = 1
PHASES = os.environ.get("BENCH_HOSTILE_PHASES", "quiet password xml flood").split()
PERF = os.environ.get("BENCH_HOSTILE_PERF", "") not in ("", "0")
PASSWORD = "bench password"
ATTRS = 200000

NICES = [int(x) for x in os.environ.get("BENCH_HOSTILE_NICE", "0 19").split()]
# More [gateway] lines for an A/B on one build, "\n" between lines: e.g.
# BENCH_HOSTILE_GW_EXTRA="auth_hash_rate = 0" turns the password hash budget off.
GW_EXTRA = os.environ.get("BENCH_HOSTILE_GW_EXTRA", "").replace("\\n", "\n")
procs = None  # B.Procs(), made by main(): the attackers' child process imports this file too
W = None      # the part's work directory (main)
E = lambda s: s.encode("utf-16-be")  # noqa: E731


def rss_mb(p):
    try:
        for line in open("/proc/%d/status" % p.pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def runq_wait_s(p):
    """Seconds p's threads have spent runnable but waiting for a CPU (other load on the machine)."""
    total = 0
    try:
        for t in os.listdir("/proc/%d/task" % p.pid):
            try:
                total += int(open("/proc/%d/task/%s/schedstat" % (p.pid, t)).read().split()[1])
            except (OSError, IndexError, ValueError):
                pass
    except OSError:
        pass
    return total / 1e9


def loop_runq_wait_s(p):
    """The same for p's main thread alone (the gateway's event loop: castgate run's loop is its main
    thread; the pool threads at nice 10 wait by design)."""
    try:
        return int(open("/proc/%d/task/%d/schedstat" % (p.pid, p.pid)).read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def own_cpu_s(who):
    """CPU seconds of this process (RUSAGE_SELF: the attackers' threads live here) or of its
    reaped children (RUSAGE_CHILDREN: the probe, once it has exited)."""
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def machine_busy_s():
    """CPU seconds all CPUs spent in user, nice, system, irq and softirq so far (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:7]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def has_legacy_allow():
    out = subprocess.run([B.CASTGATE, "run", "--help"], capture_output=True, text=True)
    return "legacy_allow" in out.stdout + out.stderr


def configs(mom, ro, wss_gw, wss_dev, allow):
    pki = os.path.join(W, "pki")
    for name in ("dev.pw", "ncs.pw"):
        with open(os.path.join(W, name), "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(os.path.join(W, name), 0o600)
    for file, user in (("gw.htpasswd", "dev"), ("dev.htpasswd", "ncs")):
        subprocess.run([B.CASTGATE, "passwd", os.path.join(W, file), user], input=PASSWORD + "\n", text=True,
                       check=True, capture_output=True)
    dev = ("[endpoint]\nrole = mos\nid = DEV\nlisten = 127.0.0.1:%d\n"
           "cert = %s/server-ecdsa.chain.pem %s/server-ecdsa.key\ncredentials = %s/dev.htpasswd\nocsp = no\n"
           "state_dir = %s/state-dev\n[peer NCS]\nchannels = mom,ro\nurl = wss://localhost:%d/mos/Communication\n"
           "ca = %s/root-ca.pem\nuser = dev\npassword_file = %s/dev.pw\n"
           % (wss_dev, pki, pki, W, W, wss_gw, pki, W))
    gw = ("[gateway]\nstate_dir = %s/state-gw\nlisten = 127.0.0.1:%d\n"
          "cert = %s/server-ecdsa.chain.pem %s/server-ecdsa.key\ncredentials = %s/gw.htpasswd\nocsp = no\n%s"
          "[link ncs]\nlegacy = ncs\nncs_id = NCS\nmos_id = DEV\nlegacy_listen = 127.0.0.1:%d,%d\n"
          "channels = mom,ro\nurl = wss://localhost:%d/mos/Communication\nca = %s/root-ca.pem\n"
          "user = ncs\npassword_file = %s/ncs.pw\n%s"
          % (W, wss_gw, pki, pki, W, GW_EXTRA + "\n" if GW_EXTRA else "", mom, ro, wss_dev, pki, W,
             "legacy_allow = 127.0.0.1\n" if allow else ""))
    for name, text in (("device.conf", dev), ("gw.conf", gw)):
        with open(os.path.join(W, name), "w") as f:
            f.write(text)


def probe_cmd(mom, seconds):
    return [MOSLOAD, "client", "--port", str(mom), "--channels", "1", "--size", "1024", "--kind", "mom",
            "--duration", str(seconds), "--warmup", str(WARMUP_S), "--mos-id", "DEV", "--ncs-id", "NCS"]


def probe(mom, seconds):
    r = subprocess.run(probe_cmd(mom, seconds), capture_output=True, text=True, timeout=seconds + 120)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"messages": 0, "errors": None, "stderr": r.stderr[-300:]}


# ---- attacks: threads with a stop event, counting what they did. They run in
# a child process of their own (attack_main below), at the niceness the phase
# asks for, so their CPU is measured apart from the driver's and the kernel
# schedules them as a process of their own. ----

class Attack:
    def __init__(self, name, threads):
        self.name, self.stop_ev, self.lock = name, threading.Event(), threading.Lock()
        self.counts = {}
        self.threads = [threading.Thread(target=t, args=(i,), daemon=True) for i, t in enumerate(threads)]

    def count(self, k, n=1):
        with self.lock:
            self.counts[k] = self.counts.get(k, 0) + n

    def start(self):
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(30)
        secs = time.monotonic() - self.t0
        c = dict(self.counts)
        c["attempts_per_s"] = round(c.get("attempts", 0) / secs, 1) if secs > 0 else None
        return c


def password_attack(port, rnd):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def request(i, tries):
        # a different wrong password on every try: the listener coalesces the
        # hashes of identical concurrent guesses, so one shared password would
        # cost one hash for all 16 clients and understate a real attack
        auth = base64.b64encode(b"dev:wrong password %d-%d-%d" % (rnd, i, tries)).decode()
        return ("GET /mos/Communication?mosID=DEV&ncsID=NCS&channel=mom HTTP/1.1\r\nHost: localhost:%d\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nAuthorization: Basic %s\r\n\r\n" % (port, auth)).encode()

    def client(i):
        n, tries = 0, 0
        while not a.stop_ev.is_set():
            # each address stays under the lockout (5 failures a minute): 4 tries, then the next one
            src = "127.%d.%d.%d" % (1 + rnd % 200, 1 + i, 1 + n % 250)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(src, 0)) as s:
                    with ctx.wrap_socket(s, server_hostname="localhost") as t:
                        t.sendall(request(i, tries))
                        status = t.recv(64).split(b" ")[1].decode(errors="replace")
                a.count("attempts")
                a.count("http_" + status)
            except (OSError, IndexError, ssl.SSLError):
                a.count("attempts")
                a.count("errors")
            tries += 1
            if tries % 4 == 0:
                n += 1
    a = Attack("password", [client] * 16)
    return a


def xml_message():
    attrs = "".join(' a%d="%d"' % (i, i) for i in range(ATTRS))
    return E("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>%d</messageID><roReq%s><roID>A</roID></roReq>"
             "</mos>" % (7, attrs))


def read_answer(s, buf):
    end = E("</mos>")
    while True:
        i = buf.find(end)
        while i >= 0 and i % 2:
            i = buf.find(end, i + 1)
        if i >= 0:
            return buf[:i + len(end)].decode("utf-16-be", "replace"), buf[i + len(end):]
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed")
        buf += chunk


def xml_attack(ro, big):
    def client(i):
        while not a.stop_ev.is_set():
            try:
                with socket.create_connection(("127.0.0.1", ro), timeout=60) as s:
                    buf = b""
                    while not a.stop_ev.is_set():
                        s.sendall(big)
                        ans, buf = read_answer(s, buf)
                        a.count("attempts")
                        a.count("refused" if "NACK" in ans or "refused" in ans else "accepted")
            except OSError:
                a.count("errors")
                time.sleep(0.05)
    a = Attack("xml", [client])
    return a


def flood_attack(ro):
    def client(i):
        while not a.stop_ev.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", ro), timeout=5, source_address=("127.0.0.%d" % (20 + i), 0))
                s.close()
                a.count("attempts")
            except OSError:
                a.count("attempts")
                a.count("refused")
                time.sleep(0.001)
    a = Attack("flood", [client] * 4)
    return a


def tlsflood_attack(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def client(i):
        while not a.stop_ev.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30,
                                              source_address=("127.0.0.%d" % (30 + i), 0)) as s:
                    with ctx.wrap_socket(s, server_hostname="localhost"):
                        pass
                a.count("attempts")
            except (OSError, ssl.SSLError):
                a.count("attempts")
                a.count("errors")
    a = Attack("tlsflood", [client] * 4)
    return a


def ro_request(mid):
    return E("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>%d</messageID><roReq><roID>V</roID></roReq></mos>"
             % mid)


class Victim:
    """An honest ro connection held open through the flood."""

    def __init__(self, ro, mid):
        self.mid, self.buf = mid, b""
        self.s = socket.create_connection(("127.0.0.1", ro), timeout=10)
        self.ok_before = self.ask()

    def ask(self):
        self.mid += 1
        try:
            self.s.sendall(ro_request(self.mid))
            ans, self.buf = read_answer(self.s, self.buf)
            return "<messageID>%d</messageID>" % self.mid in ans and "OK" in ans
        except OSError:
            return False

    def close(self):
        self.s.close()


def attack_main(argv):
    """The attackers' own process: `hostile.py attack KIND NICE READY_FILE PORT RND`. Lowers its
    priority by NICE, starts KIND's threads, creates READY_FILE, runs until SIGTERM, then prints
    its counts as one JSON line."""
    kind, nice, ready, port, rnd = argv[0], int(argv[1]), argv[2], int(argv[3]), int(argv[4])
    parent = os.getppid()
    if nice:
        os.nice(nice)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if kind == "password":
        a = password_attack(port, rnd)
    elif kind == "xml":
        a = xml_attack(port, xml_message())
    elif kind == "flood":
        a = flood_attack(port)
    elif kind == "tlsflood":
        a = tlsflood_attack(port)
    else:
        raise SystemExit("unknown attack %r" % kind)
    a.start()
    open(ready, "w").close()
    while not stop.wait(0.2):
        if os.getppid() != parent:  # the part died without stopping us: stop anyway
            break
    print(json.dumps(a.stop()), flush=True)


class AttackProc:
    """One attack in a child process (attack_main) at a given niceness."""

    def __init__(self, kind, nice, port, rnd):
        self.out = os.path.join(W, "attack-%s-%d-%d.json" % (kind, nice, rnd))
        ready = self.out + ".ready"
        self.p = procs.start("attack " + kind, [sys.executable, os.path.abspath(__file__), "attack", kind,
                                                str(nice), ready, str(port), str(rnd)],
                             out=self.out, err=os.path.join(W, "attack.err"))
        end = time.monotonic() + 30
        while not os.path.exists(ready):
            if self.p.poll() is not None or time.monotonic() > end:
                raise RuntimeError("the %s attackers did not start (%s): %s" % (
                    kind, self.p.returncode, open(os.path.join(W, "attack.err")).read()[-500:]))
            time.sleep(0.02)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(60)
        except subprocess.TimeoutExpired:
            procs.kill(self.p)
        procs.stop(self.p)
        try:
            return json.loads(open(self.out).read().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            return {"errors": "no counts from the attackers (exit %s)" % self.p.returncode}


def phase(kind, nice, gw, dev, mom, ro, wss_gw, rnd):
    attack = victim = None
    if kind == "flood":
        victim = Victim(ro, 1000 * (rnd + 1) + 500 * (nice != 0))
    if kind != "quiet":
        attack = AttackProc(kind, nice, ro if kind in ("xml", "flood") else wss_gw, rnd * 2 + (nice != 0))
        time.sleep(0.5)
    peak = [rss_mb(gw) or 0.0]
    done = threading.Event()

    def sample():
        while not done.wait(0.25):
            peak[0] = max(peak[0], rss_mb(gw) or 0.0)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    ap = [attack.p] if attack else []
    c0, t0, q0, g0 = B.cpu_seconds([gw]), time.monotonic(), runq_wait_s(gw) + runq_wait_s(dev), runq_wait_s(gw)
    a0, p0, m0 = B.cpu_seconds(ap), own_cpu_s(resource.RUSAGE_CHILDREN), machine_busy_s()
    aq0, l0 = sum(runq_wait_s(x) for x in ap), loop_runq_wait_s(gw)
    prof = None
    if PERF and attack:  # diagnostics: the gateway's profile while the probe runs (perturbs the figures)
        path = os.path.join(B.bench_dir(), "hostile-perf-%s-r%d.txt" % (key_of(kind, nice), rnd + 1))
        prof = threading.Thread(target=B.perf_profile, args=([gw.pid], max(1, SECONDS - 1), path,
                                                              "gateway during " + key_of(kind, nice)), daemon=True)
        prof.start()
    res = probe(mom, SECONDS)
    c1, t1, q1, g1 = B.cpu_seconds([gw]), time.monotonic(), runq_wait_s(gw) + runq_wait_s(dev), runq_wait_s(gw)
    a1, p1, m1 = B.cpu_seconds(ap), own_cpu_s(resource.RUSAGE_CHILDREN), machine_busy_s()
    aq1, l1 = sum(runq_wait_s(x) for x in ap), loop_runq_wait_s(gw)
    if prof:
        prof.join(300)
    done.set()
    th.join()
    counts = attack.stop() if attack else {}
    victim_ok = None
    if victim:
        victim_ok = 1 if victim.ok_before and victim.ask() else 0
        victim.close()
    time.sleep(1.0)
    c2, t2 = B.cpu_seconds([gw]), time.monotonic()
    time.sleep(AFTER_S)
    c3, t3 = B.cpu_seconds([gw]), time.monotonic()
    dt = t1 - t0
    m = {k: res.get(k) for k in ("p50_us", "p99_us", "p999_us", "max_us", "msgs_per_s", "errors", "lost")}
    m.update({"cpu_cores": round((c1 - c0) / dt, 3), "rss_mb": round(peak[0], 1),
              "cpu_cores_after": round((c3 - c2) / (t3 - t2), 3), "rss_mb_after": round(rss_mb(gw) or 0.0, 1),
              "attack_per_s": counts.get("attempts_per_s"),
              "runq_wait_frac": round((q1 - q0) / dt, 3),
              "gw_runq_wait_frac": round((g1 - g0) / dt, 3),
              "loop_runq_wait_frac": round((l1 - l0) / dt, 3),
              "attacker_nice": nice if attack else None,
              "attacker_cpu_cores": round((a1 - a0) / dt, 3),
              "attacker_runq_wait_frac": round((aq1 - aq0) / dt, 3) if attack else None,
              "probe_cpu_cores": round((p1 - p0) / dt, 3),
              "machine_busy_cores": round((m1 - m0) / dt, 3)})
    if victim_ok is not None:
        m["victim_ok"] = victim_ok
    return m, counts


def wait_link(mom, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = probe(mom, 1)
        if r.get("messages"):
            return
        time.sleep(0.5)
    raise RuntimeError("the link never carried a message: %s" % r)


def attacker_label(nice):
    if nice == 0:
        return "attackers at nice 0 (same box: worst case)"
    return "attackers at nice %d (models remote attackers)" % nice


def runs_of(phases):
    """(kind, nice) in the order a round runs them: quiet once, each attack at each niceness."""
    return [(k, None) if k == "quiet" else (k, n) for k in phases for n in ([None] if k == "quiet" else NICES)]


def key_of(kind, nice):
    return kind if nice is None else "%s@%d" % (kind, nice)


def main():
    global procs, W
    procs, W = B.Procs(), B.workdir("hostile")
    if not os.path.exists(MOSLOAD):
        raise RuntimeError("%s missing: run through bench/run.sh (make bench) first" % MOSLOAD)
    B.make_pki(os.path.join(W, "pki"))
    mom, ro, wss_gw, wss_dev = B.free_ports(4)
    allow = has_legacy_allow()
    configs(mom, ro, wss_gw, wss_dev, allow)
    dev = procs.start("device", [B.CASTGATE, "mos", "serve", "--config", os.path.join(W, "device.conf")],
                      out=os.path.join(W, "device.out"), err=os.path.join(W, "device.err"))
    B.wait_listening([wss_dev], proc=dev)
    gw = procs.start("gateway", [B.CASTGATE, "run", "--config", os.path.join(W, "gw.conf")],
                     out=os.path.join(W, "gw.out"), err=os.path.join(W, "gw.err"))
    B.wait_listening([mom, ro, wss_gw], proc=gw)
    wait_link(mom)
    order = runs_of(PHASES)
    runs = {key_of(k, n): [] for k, n in order}
    for rnd in range(ROUNDS):
        for kind, nice in order:
            m, counts = phase(kind, nice, gw, dev, mom, ro, wss_gw, rnd)
            runs[key_of(kind, nice)].append((m, counts))
            B.log("  round %d %-11s: probe p50 %s us p99 %s us max %s us, %s msg/s, errors %s; gateway %s cores, "
                  "%s MB (waiting for a CPU: its loop %s, all its threads %s, with the device %s); attackers %s "
                  "cores (waiting %s), probe %s cores, all CPUs %s busy; after: %s cores, %s MB; attack %s" % (
                      rnd + 1, key_of(kind, nice), m["p50_us"], m["p99_us"], m["max_us"], m["msgs_per_s"],
                      m["errors"], m["cpu_cores"], m["rss_mb"], m["loop_runq_wait_frac"], m["gw_runq_wait_frac"],
                      m["runq_wait_frac"], m["attacker_cpu_cores"], m["attacker_runq_wait_frac"], m["probe_cpu_cores"],
                      m["machine_busy_cores"], m["cpu_cores_after"], m["rss_mb_after"], counts))
            if gw.poll() is not None:
                raise RuntimeError("the gateway exited (%s) during %s" % (gw.returncode, kind))
    for d in ("gw.conf", "device.conf", "gw.err"):
        shutil.copy(os.path.join(W, d), os.path.join(B.bench_dir(), "hostile-" + d))
    describe = {
        "quiet": "no attack",
        "password": "password guessing on the wss listener: 16 clients, each address under its lockout "
                    "(4 wrong passwords, then the next 127.0.x.y)",
        "xml": "quadratic XML on the ro legacy port: a roReq with %d attributes (%d bytes UCS-2BE), again as soon "
               "as answered" % (ATTRS, len(xml_message())),
        "flood": "connection flood on the ro legacy port: 4 clients from 127.0.0.20-23 connect and close",
        "tlsflood": "TLS handshake flood on the wss listener: 4 clients from 127.0.0.30-33 handshake and close",
    }
    figs = []
    for kind, nice in order:
        ms = [m for m, _ in runs[key_of(kind, nice)]]
        med = {k: B.median([m.get(k) for m in ms]) for k in ms[0]}
        med["spread"] = {"p99_us": B.spread([m.get("p99_us") for m in ms]),
                         "msgs_per_s": B.spread([m.get("msgs_per_s") for m in ms])}
        who = "" if nice is None else "; " + attacker_label(nice)
        figs.append({"name": "mom lane round trip, %s%s" % (describe[kind], who), "contender": "castgate",
                     "group": kind, "series": "no attack" if nice is None else attacker_label(nice),
                     "command": " ".join(os.path.basename(a) if a == MOSLOAD else a for a in probe_cmd(mom, SECONDS))
                     .replace(str(mom), "<mom port>") + "  |  castgate run --config hostile-gw.conf",
                     "params": {"seconds": SECONDS, "rounds": ROUNDS, "after_s": AFTER_S, "attacker_nice": nice,
                                "gateway_extra": GW_EXTRA or None,
                                "legacy_allow": allow if kind == "flood" else None},
                     "metrics": med, "attack": [c for _, c in runs[key_of(kind, nice)]]})
    quiet_runs = [m.get("p99_us") for m, _ in runs.get("quiet", [])]
    quiet = B.median(quiet_runs)
    judged = max(NICES)
    targets = []
    for f, (kind, nice) in zip(figs, order):
        if nice is None:
            continue
        p99 = f["metrics"].get("p99_us")
        ok = p99 is not None and quiet is not None and p99 <= 2 * quiet and p99 < 20000 and \
            not f["metrics"].get("errors")
        paired = [m.get("p99_us") / q for (m, _), q in zip(runs[key_of(kind, nice)], quiet_runs)
                  if m.get("p99_us") and q]
        mf = f["metrics"]
        targets.append({
            "target": "%s, %s: the mom lane's p99 within 2x the quiet p99 and under 20 ms%s" % (
                kind, attacker_label(nice), "" if nice == judged else " (shown; the target is judged on nice %d)"
                % judged),
            "met": bool(ok), "judged": nice == judged,
            "detail": "p99 %s us vs quiet %s us (%s x; paired by round %s); errors %s; gateway %s cores "
                      "(its loop waiting for a CPU %s, all its threads %s), %s MB during, %s cores, %s MB after; "
                      "attackers %s cores, %s/s; probe p50 %s us" % (
                          p99, quiet, round(p99 / quiet, 2) if p99 and quiet else None,
                          "%.2f-%.2f x" % (min(paired), max(paired)) if paired else None,
                          mf.get("errors"), mf.get("cpu_cores"), mf.get("loop_runq_wait_frac"),
                          mf.get("gw_runq_wait_frac"), mf.get("rss_mb"), mf.get("cpu_cores_after"),
                          mf.get("rss_mb_after"), mf.get("attacker_cpu_cores"), mf.get("attack_per_s"),
                          mf.get("p50_us"))})
    notes = ["Each attack runs twice per round, its clients in a child process of their own: at nice 0 (the "
             "same box, worst case: the attackers' CPU competes with the gateway and the probe as equals) and at "
             "nice %d (models remote attackers: their CPU yields to the gateway and the probe; what their packets "
             "cost the kernel on loopback is still partly in their own context). The 2x target is judged on nice "
             "%d; the nice 0 rows are shown beside it, met or not (bench/README.md says why)." % (judged, judged),
             "legacy_allow %s in this build." % ("was configured (127.0.0.1 only)" if allow else "is not available"),
             "gw_runq_wait_frac: seconds per second the gateway's threads were runnable but waiting for a CPU "
             "while the probe ran (/proc/PID/task/*/schedstat; loop_runq_wait_frac: its event loop thread alone, "
             "whose waits the probe feels; runq_wait_frac: the gateway's and the device's); "
             "attacker_runq_wait_frac the same for the attackers' process: high values mean the probe's latency "
             "is the machine's load, not the gateway's loop.",
             "Attack counts per round (HTTP statuses for password guessing, refused/accepted for XML, connections "
             "for the flood) are in the JSON under each figure's \"attack\"; attack_per_s shows whether an "
             "attack at nice %d was as strong as at nice 0." % judged]
    B.write_part("hostile", "Hostile peers: another lane's round trip while an attack runs",
                 "probe: one honest NCS channel on the gateway's mom legacy port, ~1 KB mosObjCreate stop-and-wait "
                 "(p50/p99/p99.9/max in microseconds, median of rounds); cpu_cores and rss_mb: the gateway process "
                 "while the probe runs (RSS: peak), *_after: in a quiet %d s window after the attack stopped; "
                 "attack_per_s: the attackers' attempts per second; attacker_cpu_cores: their child process; "
                 "victim_ok: an honest ro connection open through the flood still answered" % AFTER_S,
                 figs, targets, notes)


if __name__ == "__main__":
    if sys.argv[1:2] == ["attack"]:
        attack_main(sys.argv[2:])
        sys.exit(0)
    try:
        main()
    finally:
        if procs is not None:
            procs.stop_all()
        if W is not None:
            shutil.rmtree(W, ignore_errors=True)
