#!/usr/bin/env python3
"""A scripted MOS 2.x peer over plain TCP in UCS-2BE (M-21), for gateway tests.

  mos2peer.py device --port P [--status TEXT]   listen on P; answer every request with
                                                 roAck (ro) carrying TEXT and the messageID
  mos2peer.py ncs --port P --count N [--start K] connect to P; send N numbered roReq,
                                                 stop-and-wait, retry the same messageID
                                                 after 3 s without an answer

Prints one JSON line per event; a device prints {"event":"got","messageID":...,"seq":...}.
"""
import argparse, json, re, socket, sys, threading, time

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
    out(event="listening", port=args.port)
    def serve(c):
        for m in frames(c):
            mid = re.search(r"<messageID>(.*?)</messageID>", m)
            seq = re.search(r"<roSlug>seq (\d+)</roSlug>|<roID>seq (\d+)</roID>", m)
            ids = (re.search(r"<mosID>(.*?)</mosID>", m).group(1), re.search(r"<ncsID>(.*?)</ncsID>", m).group(1))
            out(event="got", messageID=mid.group(1) if mid else None,
                seq=int(next(g for g in seq.groups() if g)) if seq else None)
            ans = "<mos><mosID>%s</mosID><ncsID>%s</ncsID>%s<roAck><roID/><roStatus>%s</roStatus></roAck></mos>" % (
                ids[0], ids[1], "<messageID>%s</messageID>" % mid.group(1) if mid else "", args.status)
            c.sendall(ans.encode("utf-16-be"))
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

def ncs(args):
    def connect():
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", args.port)); s.settimeout(3); return s
            except OSError:
                time.sleep(0.2)
    s = connect(); it = frames(s)
    acked = 0
    for n in range(args.start, args.start + args.count):
        msg = ("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>%d</messageID>"
               "<roReq><roID>seq %d</roID></roReq></mos>" % (n, n)).encode("utf-16-be")
        while True:
            try:
                s.sendall(msg)
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
a = p.parse_args()
device(a) if a.role == "device" else ncs(a)
