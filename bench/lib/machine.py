#!/usr/bin/env python3
"""The machine's state around a benchmark round: the load (/proc/loadavg) and
other benchmarks or soaks running at the same time (their figures and ours
would both be wrong). Used by bench/run.sh (before each part) and by the parts
(before each round).

    machine.py check [LABEL]   prints the load, and a warning per other run,
                               as one JSON line; exit 0 either way
"""
import json
import os
import sys

# Command lines that mean "a benchmark or a soak is running".
MARKERS = ("bench/run.sh", "bench/relay.sh", "bench/reconnect.sh", "bench/handshake.sh", "bench/scale.sh",
           "bench/echo.sh", "bench/codec.sh", "bench_mosload", "bench_wsload", "bench_codec",
           "scripts/soak/soak.py", "scripts/soak/soak.sh")


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return None


def _ppid(pid):
    try:
        stat = open("/proc/%d/stat" % pid).read()
        return int(stat[stat.rindex(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _ours(pid, root):
    """pid is root or runs under it."""
    seen = 0
    while pid > 1 and seen < 64:
        if pid == root:
            return True
        pid, seen = _ppid(pid), seen + 1
    return False


def others(root=None):
    """Other benchmark or soak processes: not under root (CG_BENCH_RUN_PID, set
    by bench/run.sh; else this process)."""
    if root is None:
        root = int(os.environ.get("CG_BENCH_RUN_PID") or os.getpid())
    me, found = os.getpid(), []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            cmd = open("/proc/%s/cmdline" % d, "rb").read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if any(m in cmd for m in MARKERS) and not _ours(int(d), root) and not _ours(root, int(d)):
            found.append("%s %s" % (d, cmd[:160]))
    return found


def state():
    """{"loadavg": [1, 5, 15 min], "others": [...]} now."""
    return {"loadavg": loadavg(), "others": others()}


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        s = state()
        s["label"] = sys.argv[2] if len(sys.argv) > 2 else ""
        print(json.dumps(s))
        for o in s["others"]:
            print("bench: WARNING: another benchmark or soak is running (figures unreliable): %s" % o,
                  file=sys.stderr)
    else:
        raise SystemExit(__doc__)
