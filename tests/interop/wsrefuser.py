#!/usr/bin/env python3
"""A wss peer that refuses (tests/interop/test_reconnect_backoff.sh).

  wsrefuser.py --port P --cert CHAIN --key KEY --plan 403x3,401x3,close --log FILE

Each TLS connection takes the next step of the plan: 403 or 401 (an HTTP
answer to the upgrade, then close), busy (503 with Retry-After: 1), close (a proper 101 upgrade, then at
once a close frame 1003 and the socket closed, as an NCS that refuses text
frames does). The last step repeats. Every attempt is one JSON line in the
log file: {"n": N, "t": seconds since start, "step": ..., "auth": bool}.
"""
import argparse, base64, hashlib, json, socket, ssl, struct, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--plan", required=True)
ap.add_argument("--log", required=True)
a = ap.parse_args()
plan = []
for item in a.plan.split(","):
    step, _, times = item.partition("x")
    plan += [step] * int(times or 1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(a.cert, a.key)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", a.port)); srv.listen()
t0 = None
n = 0
log = open(a.log, "a", buffering=1)
while True:
    raw, _ = srv.accept()
    n += 1
    now = time.monotonic()
    t0 = t0 if t0 is not None else now
    step = plan[min(n, len(plan)) - 1]
    entry = {"n": n, "t": round(now - t0, 3), "step": step, "auth": False}
    try:
        raw.settimeout(10)
        s = ctx.wrap_socket(raw, server_side=True)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        entry["auth"] = b"\nauthorization:" in head.lower()
        if step == "busy":  # a castgate listener whose hashing pool is full
            s.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
        elif step in ("403", "401"):
            reason = "Forbidden" if step == "403" else "Unauthorized"
            extra = 'WWW-Authenticate: Basic realm="x"\r\n' if step == "401" else ""
            s.sendall(("HTTP/1.1 %s %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n"
                       % (step, reason, extra)).encode())
        else:
            key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:")][0]
            acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
            s.sendall(b"\x88\x02" + struct.pack(">H", 1003))
        s.close()
    except (OSError, ssl.SSLError, IndexError) as e:
        entry["error"] = str(e)
        raw.close()
    log.write(json.dumps(entry) + "\n")
