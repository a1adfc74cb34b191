#!/usr/bin/env python3
"""A systemd notify socket for tests: notify_listen.py SOCKET OUT [PORT...].
Binds an AF_UNIX SOCK_DGRAM socket at SOCKET (like systemd's NOTIFY_SOCKET)
and appends each datagram to OUT as one line (its newlines shown as '|').
At the first READY=1 it tries to bind each PORT on 127.0.0.1 and writes
"BOUND PORT yes" when the port is taken (the service is listening there)
or "BOUND PORT no" when it was still free: READY=1 must come after every
listener is bound."""
import errno, os, socket, sys

path, out, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
ready_seen = False
with open(out, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        data = s.recv(4096).decode("utf-8", "replace")
        f.write(data.replace("\n", "|") + "\n")
        if not ready_seen and "READY=1" in data.split("\n"):
            ready_seen = True
            for p in ports:
                t = socket.socket()
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    t.bind(("127.0.0.1", p))
                    f.write("BOUND %d no\n" % p)
                except OSError as e:
                    f.write("BOUND %d %s\n" % (p, "yes" if e.errno == errno.EADDRINUSE else "error"))
                t.close()
