"""Part pair, the takeover time of a gateway pair (issue 18; bench/pair.sh; bench/README.md).

Two `castgate run` processes, node 0 and node 1, on loopback with one file each
([pair], heartbeat 200 ms, takeover_after_ms 1500), a MOS 4.0 device (`castgate
mos serve`) and a legacy NCS (tests/interop/mos2peer.py: numbered roReq,
stop-and-wait, the same messageID again after 1 s without an answer, M-22)
that dials a stand-in for the virtual address: a forwarder in this process
that the part points at the new active's legacy port at the moment of the
kill (an address that moves at once: keepalived's own move, some 3-4 s with
advert_int 1 s in tests/interop/test_pair_netns.sh, is not in these figures).
Each round the active is SIGKILLed while requests flow. Figures: the time from
the SIGKILL to the standby's {"event":"pair","what":"active"} line (castgate's
takeover: takeover_after_ms of silence, the epoch written, the links built
from the journals and started), and to the NCS's second answer after the kill
(the gear's view: the takeover, the legacy port open, the NCS's retry). The
killed node is started again (a standby) before the next round, so the roles
alternate. Target: takeover p99 < 3 s (issue 18).
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import benchlib as B  # noqa: E402

sys.path.insert(0, os.path.join(B.ROOT, "tests", "interop"))
from forwarder import Forwarder  # noqa: E402  (the pair tests' stand-in for the address)

ROUNDS = 3 if B.QUICK else int(os.environ.get("BENCH_PAIR_ROUNDS", "20"))
TAKEOVER_MS = 1500
TARGET_MS = 3000
MOS2PEER = os.path.join(B.ROOT, "tests", "interop", "mos2peer.py")

procs = B.Procs()
W = B.workdir("pair")


class Lines:
    """Reads a process's stdout; keeps (time, line) of the lines that contain any of keys."""

    def __init__(self, proc, keys):
        self.lock = threading.Lock()
        self.seen = []
        self.keys = keys
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc):
        for line in proc.stdout:
            if any(k in line for k in self.keys):
                with self.lock:
                    self.seen.append((time.monotonic(), line))

    def count(self, key, since=0.0):
        with self.lock:
            return sum(1 for t, line in self.seen if key in line and t >= since)

    def first(self, key, since=0.0, nth=1):
        with self.lock:
            ts = [t for t, line in self.seen if key in line and t >= since]
        return ts[nth - 1] if len(ts) >= nth else None


def write_configs(p):
    pki = os.path.join(W, "pki")
    for node in (0, 1):
        text = """[gateway]
state_dir = {w}/s-{n}
journal = yes
cert = {pki}/server-ecdsa.chain.pem {pki}/server-ecdsa.key
ocsp = no
ack_timeout_ms = 2000
[link ncs]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:0,{legacy}
channels = ro
url = wss://localhost:{dev}/mos/Communication
ca = {pki}/root-ca.pem
[pair]
node = {n}
listen = 127.0.0.1:{pp}
credentials = {w}/pair.htpasswd
peer = wss://localhost:{pp}/castgate/pair
ca = {pki}/root-ca.pem
user = pair
password_file = {w}/pair.pw
heartbeat_ms = 200
takeover_after_ms = {tk}
active_file = {w}/active-{n}
""".format(w=W, n=node, pki=pki, legacy=p["legacy"][node], dev=p["dev"], pp=p["pair"], tk=TAKEOVER_MS)
        open(os.path.join(W, "n%d.conf" % node), "w").write(text)
    open(os.path.join(W, "dev.conf"), "w").write(
        "[endpoint]\nrole = mos\nid = DEV\nlisten = 127.0.0.1:%d\nauth = none\n"
        "cert = %s/server-ecdsa.chain.pem %s/server-ecdsa.key\nocsp = no\nstate_dir = %s/s-dev\n"
        "[peer NCS]\nchannels = ro\n" % (p["dev"], pki, pki, W))
    with open(os.path.join(W, "pair.pw"), "w") as f:
        f.write("pairpw\n")
    os.chmod(os.path.join(W, "pair.pw"), 0o600)
    subprocess.run([B.CASTGATE, "passwd", os.path.join(W, "pair.htpasswd"), "pair"], input="pairpw\n",
                   text=True, check=True, capture_output=True)


def start_node(n):
    p = subprocess.Popen([B.CASTGATE, "run", "--config", os.path.join(W, "n%d.conf" % n)],
                         stdout=subprocess.PIPE, stderr=open(os.path.join(W, "n%d.err" % n), "a"),
                         text=True, bufsize=1)
    p.bench_name = "node%d" % n
    procs.procs.append(p)
    return p, Lines(p, ['"event":"pair"'])


def wait(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.01)
    raise RuntimeError("timed out waiting for " + what)


def main():
    B.make_pki(os.path.join(W, "pki"))
    ports = B.free_ports(5)
    p = {"legacy": ports[0:2], "dev": ports[2], "pair": ports[3], "vip": ports[4]}
    write_configs(p)
    procs.start("dev", [B.CASTGATE, "mos", "serve", "--config", os.path.join(W, "dev.conf")],
                os.path.join(W, "dev.out"), os.path.join(W, "dev.err"))
    B.wait_listening([p["dev"]])
    nodes = [None, None]
    nodes[0] = start_node(0)
    wait(lambda: nodes[0][1].count('"what":"active"') > 0, 60, "node 0 active")
    B.wait_listening([p["legacy"][0]])
    nodes[1] = start_node(1)
    wait(lambda: nodes[1][1].count('"what":"connected"') > 0, 60, "node 1 connected")
    fwd = Forwarder(p["vip"], p["legacy"][0]).start()
    ncs = subprocess.Popen([sys.executable, MOS2PEER, "ncs", "--port", str(p["vip"]), "--mos-id", "DEV",
                            "--count", "100000000", "--retry-s", "1"], stdout=subprocess.PIPE,
                           stderr=open(os.path.join(W, "ncs.err"), "a"), text=True, bufsize=1)
    ncs.bench_name = "ncs"
    procs.procs.append(ncs)
    acks = Lines(ncs, ['"ack"'])
    active, rounds = 0, []
    for i in range(ROUNDS):
        standby = 1 - active
        mark = time.monotonic()
        wait(lambda: acks.count('"ack"', mark) >= 50, 120, "requests flowing")
        t0 = time.monotonic()
        procs.kill(nodes[active][0])
        fwd.target = p["legacy"][standby]  # the address moves at once
        wait(lambda: nodes[standby][1].first('"what":"active"', t0) is not None, 60, "the takeover")
        wait(lambda: acks.first('"ack"', t0, 2) is not None, 120, "the NCS answered again")
        took = (nodes[standby][1].first('"what":"active"', t0) - t0) * 1000
        gear = (acks.first('"ack"', t0, 2) - t0) * 1000
        rounds.append({"round": i + 1, "killed_node": active, "takeover_ms": round(took, 1),
                       "gear_answer_ms": round(gear, 1)})
        B.log("  round %2d: node %d killed; node %d active after %.0f ms, the NCS answered again after %.0f ms"
              % (i + 1, active, standby, took, gear))
        nodes[active] = start_node(active)
        back = nodes[active][1]
        wait(lambda: back.count('"what":"connected"') > 0, 60, "the killed node back as the standby")
        active = standby
    procs.stop_all()

    def stats(xs):
        return {"p50_ms": B.pct(xs, 50), "p99_ms": B.pct(xs, 99), "max_ms": max(xs), "min_ms": min(xs),
                "samples": len(xs)}
    cmd = ("castgate run --config nK.conf (two, [pair] heartbeat_ms 200, takeover_after_ms %d); "
           "castgate mos serve (the device); mos2peer.py ncs --retry-s 1 through a forwarder" % TAKEOVER_MS)
    figs = [{"name": "SIGKILL of the active -> the standby active", "contender": "castgate",
             "group": "takeover", "series": "castgate", "command": cmd, "params": {"rounds": len(rounds)},
             "metrics": stats([r["takeover_ms"] for r in rounds]), "rounds": rounds},
            {"name": "SIGKILL of the active -> the NCS's second answer", "contender": "castgate",
             "group": "gear", "series": "castgate", "command": cmd, "params": {"rounds": len(rounds)},
             "metrics": stats([r["gear_answer_ms"] for r in rounds])}]
    m = figs[0]["metrics"]
    targets = [{"target": "takeover p99 < 3 s (SIGKILL of the active -> the standby active)",
                "met": bool(m["p99_ms"] < TARGET_MS),
                "detail": "p50 %s ms, p99 %s ms, max %s ms over %d rounds" % (
                    m["p50_ms"], m["p99_ms"], m["max_ms"], len(rounds))}]
    notes = ["takeover_after_ms is %d: the standby waits that long for a heartbeat before it takes over; the "
             "rest is the epoch written and the links built from the journals and started." % TAKEOVER_MS,
             "The virtual address is a forwarder pointed at the new active at the kill; keepalived's move "
             "(tests/interop/test_pair_netns.sh: some 3-4 s with advert_int 1 s) is not included.",
             "The NCS repeats an unanswered request after 1 s (M-22); its second answer after the kill "
             "is counted, the first may have been on its way before it."]
    B.write_part("pair", "Gateway pair: takeover after the active is SIGKILLed", "milliseconds from the "
                 "SIGKILL (p50/p99/max over rounds; p99 is nearest-rank, so with few rounds it is the maximum)",
                 figs, targets, notes)


if __name__ == "__main__":
    main()
