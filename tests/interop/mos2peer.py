#!/usr/bin/env python3
"""A scripted MOS 2.x peer over plain TCP in UCS-2BE (M-21), for gateway tests.

  mos2peer.py device --port P [--status TEXT] [--seen FILE] [--delay-ms N]
                                                 listen on P; answer every request with
                                                 roAck (ro) carrying TEXT and the messageID;
                                                 a heartbeat with a heartbeat. --seen: the
                                                 messageIDs applied, kept across restarts
                                                 (M-22): a repeat is answered, not applied
                                                 again, and printed as "repeat"; every
                                                 arrival is printed with its time "t", and
                                                 "answered" once its answer is written
  mos2peer.py ncs --port P --count N [--start K] [--retry-s S] [--heartbeat]
                                                 connect to P; send N numbered roReq,
                                                 stop-and-wait, retry the same messageID
                                                 after S (3) s without an answer;
                                                 --heartbeat: one heartbeat first

Prints one JSON line per event; a device prints {"event":"got","messageID":...,"seq":...}.
"""
import argparse, json, os, re, socket, sys, threading, time

END = "</mos>".encode("utf-16-be")

def frames(sock):
    buf = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        buf += data
        while True:
            i = buf.find(END)
            if i < 0 or i % 2:
                break
            yield buf[: i + len(END)].decode("utf-16-be")
            buf = buf[i + len(END):]

def out(**kv):
    sys.stdout.write(json.dumps(kv) + "\n"); sys.stdout.flush()

def device(args):
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port)); srv.listen()
    seen = set()
    if args.seen:
        try: seen = set(open(args.seen).read().split())
        except FileNotFoundError: pass
    lock = threading.Lock()
    out(event="listening", port=args.port)
    def serve(c):
        for m in frames(c):
            mid = re.search(r"<messageID>(.*?)</messageID>", m)
            seq = re.search(r"<roSlug>seq (\d+)</roSlug>|<roID>seq (\d+)</roID>", m)
            ids = (re.search(r"<mosID>(.*?)</mosID>", m).group(1), re.search(r"<ncsID>(.*?)</ncsID>", m).group(1))
            env = "<mos><mosID>%s</mosID><ncsID>%s</ncsID>%s" % (
                ids[0], ids[1], "<messageID>%s</messageID>" % mid.group(1) if mid else "")
            if "<heartbeat>" in m or "<heartbeat/>" in m:
                out(event="heartbeat", messageID=mid.group(1) if mid else None)
                c.sendall((env + "<heartbeat><time>2026-11-24T12:00:00</time></heartbeat></mos>").encode("utf-16-be"))
                continue
            key = mid.group(1) if mid else None
            with lock:
                repeat = key is not None and key in seen
                if not repeat and key is not None and args.seen:
                    seen.add(key)
                    with open(args.seen, "a") as f:
                        f.write(key + "\n"); f.flush(); os.fsync(f.fileno())
            # Every arrival is printed (raw, before the M-22 check decides
            # whether to apply it): a verdict counts these, not the applied set.
            n = int(next(g for g in seq.groups() if g)) if seq else None
            out(event="repeat" if repeat else "got", messageID=key, seq=n, t=time.time())
            if args.delay_ms:
                time.sleep(args.delay_ms / 1000.0)
            c.sendall((env + "<roAck><roID/><roStatus>%s</roStatus></roAck></mos>" % args.status).encode("utf-16-be"))
            out(event="answered", messageID=key, seq=n)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

def ncs(args):
    def connect():
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", args.port)); s.settimeout(args.retry_s); return s
            except OSError:
                time.sleep(0.2)
    s = connect(); it = frames(s)
    s.settimeout(args.retry_s)
    acked = 0
    if args.heartbeat:
        s.sendall(("<mos><mosID>%s</mosID><ncsID>%s</ncsID><messageID>%d</messageID>"
                   "<heartbeat><time>2026-11-24T12:00:00</time></heartbeat></mos>"
                   % (args.mos_id, args.ncs_id, args.start)).encode("utf-16-be"))
        try:
            ans = next(it)
            out(event="heartbeat-answer", answer="<heartbeat>" in ans,
                messageID=re.search(r"<messageID>(.*?)</messageID>", ans).group(1))
        except (socket.timeout, StopIteration, OSError):
            out(event="heartbeat-unanswered")
        return
    for n in range(args.start, args.start + args.count):
        msg = ("<mos><mosID>%s</mosID><ncsID>%s</ncsID><messageID>%d</messageID>"
               "<roReq><roID>seq %d</roID></roReq></mos>" % (args.mos_id, args.ncs_id, n, n)).encode("utf-16-be")
        while True:
            try:
                s.sendall(msg)
                ans = next(it)
                mid = re.search(r"<messageID>(.*?)</messageID>", ans).group(1)
                while mid != str(n):   # a late answer to an earlier try: not ours
                    out(event="stray", messageID=mid, seq=n)
                    ans = next(it)
                    mid = re.search(r"<messageID>(.*?)</messageID>", ans).group(1)
                status = re.search(r"<roStatus>(.*?)</roStatus>", ans).group(1)
                out(event="ack", messageID=mid, seq=n, status=status)
                acked += 1
                break
            except (socket.timeout, StopIteration, OSError):   # M-22: retry, same messageID
                try: s.close()
                except OSError: pass
                s = connect(); it = frames(s)
    out(event="done", acked=acked)

p = argparse.ArgumentParser()
p.add_argument("role", choices=["device", "ncs"])
p.add_argument("--port", type=int, required=True)
p.add_argument("--count", type=int, default=1)
p.add_argument("--start", type=int, default=1)
p.add_argument("--status", default="OK")
p.add_argument("--seen")
p.add_argument("--delay-ms", type=int, default=0)
p.add_argument("--retry-s", type=float, default=3.0)
p.add_argument("--heartbeat", action="store_true")
p.add_argument("--mos-id", default="DEV")
p.add_argument("--ncs-id", default="NCS")
a = p.parse_args()
device(a) if a.role == "device" else ncs(a)
