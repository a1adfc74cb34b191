#!/usr/bin/env bash
# Handshakes that fail, many at once, on the front-door threads
# (src/net/frontdoor.c). A failed step's OpenSSL errors are carried from the
# pool thread to the loop; the file and function names OpenSSL hands out
# belong to the thread's error queue and were freed by that thread's next
# step, so the loop read freed memory (ASan: heap-use-after-free in
# restore_errors, seen in test_mos4.sh when the CPUs were busy, 2026-12-07).
# Here 400 handshakes fail (clients that do not trust the CA send an alert,
# others send plain HTTP) from 8 threads at once while busy loops keep the
# CPUs full; the device must survive them, log them, and still serve a good
# client afterwards.
# CG_SERIAL: its busy loops fill every CPU; nothing else runs beside it.
. "$(dirname "$0")/lib.sh"

start_auth_dev

start_busy_loops

PYTHONPATH="$SRC/tests/interop" python3 - "$DEV" "$P/root-ca.pem" >"$T/result" 2>&1 <<'PY'
import socket, ssl, sys, threading
from authclient import status
port, ca = int(sys.argv[1]), sys.argv[2]
untrusting = ssl.create_default_context()  # not the test CA: alert unknown_ca
done = {"alert": 0, "plain": 0}
lock = threading.Lock()
def worker(n):
    for i in range(50):
        kind = "alert" if (n + i) % 2 else "plain"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                if kind == "alert":
                    try:
                        with untrusting.wrap_socket(s, server_hostname="localhost"):
                            pass
                    except ssl.SSLCertVerificationError:
                        pass
                else:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    s.recv(100)
        except OSError:
            pass
        with lock:
            done[kind] += 1
ts = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print("failed_handshakes |", done["alert"] + done["plain"])
good = ssl.create_default_context(cafile=ca)
print("good |", status(good, port, b"GET /mos/Communication HTTP/1.1\r\nHost: localhost\r\n\r\n", 30))
PY
sed 's/^/    /' "$T/result"
check "400 failing handshakes were made" grep -q '^failed_handshakes | 400$' "$T/result"
check "the device is still running" kill -0 "$DEV_PID"
check "no sanitizer report" bash -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$T/dev.err'"
check "a trusted client is still answered over TLS afterwards" grep -q '^good | [0-9][0-9][0-9]$' "$T/result"
finish
