#!/usr/bin/env python3
"""The delivery verdict for one stop-and-wait lane of numbered messages at a
legacy device (tests/interop/mos2peer.py), counted from every arrival, raw,
before the device's M-22 memory decides whether to apply it.

  mos2verdict.py FIRST N DEV-OUT NCS-OUT FAULTS [--status TEXT]

FIRST..FIRST+N-1 are the sequence numbers the NCS sent (messageID = sequence
number). FAULTS holds one "KIND UNIXTIME" line per fault injected while they
flowed, the time taken once the fault had happened. KIND is one of
  gateway-crash  a gateway SIGKILLed: may cause one repeat of the message in
                 flight at it, under its original messageID (M-22);
  device-crash   the legacy device SIGKILLed: may cause one repeat of the
                 message it had received but not answered when it died (its
                 answer never left, so the sender must repeat it, M-22);
  anything else  (wss-cut, sighup, drain, ...): may cause no repeat at all.
A fault explains at most one repeat on the lane, and only of a message that
was in flight at it (the message before it had already arrived).

Fails (exit 1) on: a lost message, an out-of-order arrival, a repeat no fault
explains, a repeat under a messageID other than the first arrival's, an
answer at the NCS other than TEXT (a NACK), a message the NCS never got an
answer for. Prints one summary line and the repeats per fault kind.
"""
import collections
import json
import sys


def main(argv):
    status = None
    if "--status" in argv:
        i = argv.index("--status")
        status = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    first, n, dev, ncs, faults_path = int(argv[1]), int(argv[2]), argv[3], argv[4], argv[5]
    want = range(first, first + n)
    ev = [json.loads(line) for line in open(dev) if line.startswith("{")]
    faults = []
    for line in open(faults_path):
        if line.strip():
            kind, t = line.split()
            faults.append([kind, float(t), False])
    faults.sort(key=lambda f: f[1])
    kinds = collections.Counter(f[0] for f in faults)

    arrivals, open_by_mid = [], {}
    for e in ev:
        if e.get("event") in ("got", "repeat") and e.get("seq") is not None and e["seq"] in want:
            a = {"seq": e["seq"], "mid": e["messageID"], "t": e["t"], "answered": False}
            arrivals.append(a)
            open_by_mid[e["messageID"]] = a
        elif e.get("event") == "answered" and e.get("messageID") in open_by_mid:
            open_by_mid.pop(e["messageID"])["answered"] = True

    problems, repeats = [], collections.Counter()
    first_of, last_of, top = {}, {}, first - 1
    for a in arrivals:
        s = a["seq"]
        if s not in first_of:
            if s != top + 1:
                problems.append("seq %d arrived after seq %d (lost or out of order)" % (s, top))
            first_of[s], last_of[s], top = a, a, max(top, s)
            continue
        prev = last_of[s]
        last_of[s] = a
        if a["mid"] != first_of[s]["mid"]:
            problems.append("seq %d repeated under messageID %s (first %s)" % (s, a["mid"], first_of[s]["mid"]))
        if s != top:
            problems.append("seq %d repeated after seq %d had arrived (out of order)" % (s, top))
        # in flight at the fault: the message before it had arrived by then
        since = first_of[s - 1]["t"] if s - 1 in first_of else 0.0
        cands = [f for f in faults if not f[2] and since <= f[1] <= a["t"]]
        why = None
        for f in reversed(cands):
            if f[0] == "gateway-crash" or (f[0] == "device-crash" and not prev["answered"]):
                why = f
                break
        if why is not None:
            why[2] = True
            repeats[why[0]] += 1
        else:
            before = [f for f in faults if f[1] <= a["t"]]
            repeats[before[-1][0] if before else "no fault"] += 1
            problems.append("seq %d arrived again (messageID %s) and no fault explains it" % (s, a["mid"]))
    missing = [s for s in want if s not in first_of]
    if missing:
        problems.append("%d never arrived (first: %d)" % (len(missing), missing[0]))

    acks = [json.loads(line) for line in open(ncs) if '"ack"' in line]
    if [x["seq"] for x in acks] != list(want):
        problems.append("the NCS got %d answers for %d requests" % (len(acks), n))
    nacks = [x for x in acks if status is not None and x.get("status") != status]
    if nacks:
        problems.append("%d unexpected answers (NACK), first: seq %d %r" % (len(nacks), nacks[0]["seq"], nacks[0]["status"]))

    print("sent %d, answered %d, arrived %d (first arrivals %d), repeats %d: %s%s" % (
        n, len(acks), len(arrivals), len(first_of), sum(repeats.values()),
        ", ".join("%d after %d %s" % (repeats[k], kinds[k], k) for k in sorted(set(kinds) | set(repeats)))
        or "no faults",
        "; " + "; ".join(problems[:5]) if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
