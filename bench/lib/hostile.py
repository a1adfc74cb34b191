"""Part hostile (bench/hostile.sh; see bench/README.md): what an attacker costs
everyone else (issue 12, "Done when" for items 4, 5 and 6).

One gateway (`castgate run`, the program measured) serves one link: a MOS 2.x
NCS on its legacy ports (mom, ro; no authentication, as MOS 2.x has none) and
a MOS 4.0 device (`castgate mos serve`) over wss. The gateway also listens for
wss with Basic credentials (the device's lanes towards the NCS come in there).
The probe is an honest NCS on the mom lane: `bench_mosload client`, one
channel, ~1 KB mosObjCreate stop-and-wait, every round trip in a histogram.

Each round runs the probe four times, each time beside one thing:
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
For each: the probe's p50/p99/p99.9/max, the gateway's CPU (cores) and peak
RSS while it runs, then its CPU and RSS in a quiet window after the attack
stops. Targets: per attack, the probe's p99 within 2x the quiet p99 and
under 20 ms. Rounds interleave the phases; figures are medians of rounds.
"""
import base64
import json
import os
import resource
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
PASSWORD = "bench password"
ATTRS = 200000

procs = B.Procs()
W = B.workdir("hostile")
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
          "cert = %s/server-ecdsa.chain.pem %s/server-ecdsa.key\ncredentials = %s/gw.htpasswd\nocsp = no\n"
          "[link ncs]\nlegacy = ncs\nncs_id = NCS\nmos_id = DEV\nlegacy_listen = 127.0.0.1:%d,%d\n"
          "channels = mom,ro\nurl = wss://localhost:%d/mos/Communication\nca = %s/root-ca.pem\n"
          "user = ncs\npassword_file = %s/ncs.pw\n%s"
          % (W, wss_gw, pki, pki, W, mom, ro, wss_dev, pki, W, "legacy_allow = 127.0.0.1\n" if allow else ""))
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


# ---- attacks: threads with a stop event, counting what they did ----

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


def phase(kind, gw, dev, mom, ro, wss_gw, rnd, big):
    attack = victim = None
    if kind == "password":
        attack = password_attack(wss_gw, rnd)
    elif kind == "xml":
        attack = xml_attack(ro, big)
    elif kind == "flood":
        victim = Victim(ro, 1000 * (rnd + 1))
        attack = flood_attack(ro)
    elif kind == "tlsflood":
        attack = tlsflood_attack(wss_gw)
    if attack:
        attack.start()
        time.sleep(0.5)
    peak = [rss_mb(gw) or 0.0]
    done = threading.Event()

    def sample():
        while not done.wait(0.25):
            peak[0] = max(peak[0], rss_mb(gw) or 0.0)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    c0, t0, q0 = B.cpu_seconds([gw]), time.monotonic(), runq_wait_s(gw) + runq_wait_s(dev)
    a0, p0, m0 = own_cpu_s(resource.RUSAGE_SELF), own_cpu_s(resource.RUSAGE_CHILDREN), machine_busy_s()
    res = probe(mom, SECONDS)
    c1, t1, q1 = B.cpu_seconds([gw]), time.monotonic(), runq_wait_s(gw) + runq_wait_s(dev)
    a1, p1, m1 = own_cpu_s(resource.RUSAGE_SELF), own_cpu_s(resource.RUSAGE_CHILDREN), machine_busy_s()
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
    m = {k: res.get(k) for k in ("p50_us", "p99_us", "p999_us", "max_us", "msgs_per_s", "errors", "lost")}
    m.update({"cpu_cores": round((c1 - c0) / (t1 - t0), 3), "rss_mb": round(peak[0], 1),
              "cpu_cores_after": round((c3 - c2) / (t3 - t2), 3), "rss_mb_after": round(rss_mb(gw) or 0.0, 1),
              "attack_per_s": counts.get("attempts_per_s"),
              "runq_wait_frac": round((q1 - q0) / (t1 - t0), 3),
              "attacker_cpu_cores": round((a1 - a0) / (t1 - t0), 3),
              "probe_cpu_cores": round((p1 - p0) / (t1 - t0), 3),
              "machine_busy_cores": round((m1 - m0) / (t1 - t0), 3)})
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


def main():
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
    big = xml_message()
    runs = {k: [] for k in PHASES}
    for rnd in range(ROUNDS):
        for kind in PHASES:
            m, counts = phase(kind, gw, dev, mom, ro, wss_gw, rnd, big)
            runs[kind].append((m, counts))
            B.log("  round %d %-8s: probe p50 %s us p99 %s us max %s us, %s msg/s, errors %s; gateway %s cores, "
                  "%s MB (waiting for a CPU: %s of the time); attackers %s cores, probe %s cores, all CPUs %s busy; "
                  "after: %s cores, %s MB; attack %s" % (
                      rnd + 1, kind, m["p50_us"], m["p99_us"], m["max_us"], m["msgs_per_s"], m["errors"],
                      m["cpu_cores"], m["rss_mb"], m["runq_wait_frac"], m["attacker_cpu_cores"],
                      m["probe_cpu_cores"], m["machine_busy_cores"], m["cpu_cores_after"], m["rss_mb_after"],
                      counts))
            if gw.poll() is not None:
                raise RuntimeError("the gateway exited (%s) during %s" % (gw.returncode, kind))
    for d in ("gw.conf", "device.conf", "gw.err"):
        shutil.copy(os.path.join(W, d), os.path.join(B.bench_dir(), "hostile-" + d))
    describe = {
        "quiet": "no attack",
        "password": "password guessing on the wss listener: 16 clients, each address under its lockout "
                    "(4 wrong passwords, then the next 127.0.x.y)",
        "xml": "quadratic XML on the ro legacy port: a roReq with %d attributes (%d bytes UCS-2BE), again as soon "
               "as answered" % (ATTRS, len(big)),
        "flood": "connection flood on the ro legacy port: 4 clients from 127.0.0.20-23 connect and close",
        "tlsflood": "TLS handshake flood on the wss listener: 4 clients from 127.0.0.30-33 handshake and close",
    }
    figs = []
    for kind in PHASES:
        ms = [m for m, _ in runs[kind]]
        med = {k: B.median([m.get(k) for m in ms]) for k in ms[0]}
        med["spread"] = {"p99_us": B.spread([m.get("p99_us") for m in ms]),
                         "msgs_per_s": B.spread([m.get("msgs_per_s") for m in ms])}
        figs.append({"name": "mom lane round trip, %s" % describe[kind], "contender": "castgate", "group": kind,
                     "series": "castgate",
                     "command": " ".join(os.path.basename(a) if a == MOSLOAD else a for a in probe_cmd(mom, SECONDS))
                     .replace(str(mom), "<mom port>") + "  |  castgate run --config hostile-gw.conf",
                     "params": {"seconds": SECONDS, "rounds": ROUNDS, "after_s": AFTER_S,
                                "legacy_allow": allow if kind == "flood" else None},
                     "metrics": med, "attack": [c for _, c in runs[kind]]})
    quiet = figs[0]["metrics"].get("p99_us")
    targets = []
    for f in figs[1:]:
        p99 = f["metrics"].get("p99_us")
        ok = p99 is not None and quiet is not None and p99 <= 2 * quiet and p99 < 20000 and \
            not f["metrics"].get("errors")
        targets.append({"target": "%s: the mom lane's p99 within 2x the quiet p99 and under 20 ms" % f["group"],
                        "met": bool(ok),
                        "detail": "p99 %s us vs quiet %s us (%s x); errors %s; gateway %s cores, %s MB during, "
                                  "%s cores, %s MB after" % (
                                      p99, quiet, round(p99 / quiet, 2) if p99 and quiet else None,
                                      f["metrics"].get("errors"), f["metrics"].get("cpu_cores"),
                                      f["metrics"].get("rss_mb"), f["metrics"].get("cpu_cores_after"),
                                      f["metrics"].get("rss_mb_after"))})
    notes = ["The gateway, the device, the probe and the attackers share this machine's cores: an attack's own "
             "client CPU is part of what the probe feels.",
             "legacy_allow %s in this build." % ("was configured (127.0.0.1 only)" if allow else "is not available"),
             "runq_wait_frac: seconds per second the gateway's and the device's threads were runnable but "
             "waiting for a CPU while the probe ran (/proc/PID/task/*/schedstat): high values mean the probe's "
             "latency is the machine's load (the attackers' own CPU included), not the gateway's loop.",
             "Attack counts per round (HTTP statuses for password guessing, refused/accepted for XML, connections "
             "for the flood) are in the JSON under each figure's \"attack\"."]
    B.write_part("hostile", "Hostile peers: another lane's round trip while an attack runs",
                 "probe: one honest NCS channel on the gateway's mom legacy port, ~1 KB mosObjCreate stop-and-wait "
                 "(p50/p99/p99.9/max in microseconds, median of rounds); cpu_cores and rss_mb: the gateway process "
                 "while the probe runs (RSS: peak), *_after: in a quiet %d s window after the attack stopped; "
                 "attack_per_s: the attackers' attempts per second; victim_ok: an honest ro connection open "
                 "through the flood still answered" % AFTER_S,
                 figs, targets, notes)


if __name__ == "__main__":
    try:
        main()
    finally:
        procs.stop_all()
        shutil.rmtree(W, ignore_errors=True)
