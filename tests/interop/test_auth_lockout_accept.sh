#!/usr/bin/env bash
# Issue 12, denial of service: an address over its failure budget (locked
# out, M-05 credentials) is refused at accept, before any TLS work: its next
# connections are closed without one byte sent (a ClientHello gets no
# ServerHello), so a known guesser costs an accept and a close instead of a
# handshake, an HTTP parse and a 429. Other addresses still get TLS and their
# 401. The refusals are counted and logged once a minute, not per connection.
# No timing is asserted.
. "$(dirname "$0")/lib.sh"

start_auth_dev

PYTHONPATH="$SRC/tests/interop" python3 - "$DEV" "$P/root-ca.pem" >"$T/result" 2>&1 <<'PY'
import socket, ssl, sys
from authclient import upgrade
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def hello_answer(src):
    """Bytes the server sends back for a ClientHello on a raw socket."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    got = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(src, 0)) as s:
            s.sendall(hello)
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
                if len(got) > 0:
                    break
    except ConnectionResetError:
        pass
    except socket.timeout:
        return "timeout, %d bytes" % len(got)
    return "%d bytes" % len(got)
print("before_lockout_hello |", hello_answer("127.0.0.9"))
print("wrong_passwords |", " ".join(upgrade(ctx, port, b"wrong %d" % i, "127.0.0.9") for i in range(5)))
print("locked_hello |", " ".join(hello_answer("127.0.0.9") for _ in range(20)))
print("locked_upgrade |", upgrade(ctx, port, b"correct horse", "127.0.0.9"))
print("other_address |", upgrade(ctx, port, b"wrong", "127.0.0.10"))
print("other_address_hello |", hello_answer("127.0.0.10"))
PY
check "before the lockout a ClientHello gets a ServerHello" grep -q '^before_lockout_hello | [1-9]' "$T/result"
check "5 wrong passwords: 401 each" bash -c "grep -q '^wrong_passwords | 401 401 401 401 401$' '$T/result'"
check "locked out: 20 connections closed at accept, no byte sent (no ServerHello)" \
  bash -c "[ \"\$(grep '^locked_hello |' '$T/result' | grep -o '0 bytes' | wc -l)\" = 20 ]"
check "locked out: even the right password gets no TLS handshake" \
  bash -c "grep '^locked_upgrade |' '$T/result' | grep -q 'error:'"
check "another address still gets TLS and its 401" bash -c "grep -q '^other_address | 401$' '$T/result'"
check "another address still gets a ServerHello" bash -c "! grep -q '^other_address_hello | 0 bytes' '$T/result'"
check "the lockout is logged" grep -q '127.0.0.9: 5 failures within 60 s: locked out' "$T/dev.err"
check "the refusals at accept: one line, not one per connection" \
  bash -c "[ \"\$(grep -c 'locked out: closed at accept, before TLS' '$T/dev.err')\" = 1 ]"
check "the device is still running" kill -0 "$DEV_PID"
[ "$FAILED" -eq 0 ] || { cat "$T/result"; grep -i 'lock\|refus' "$T/dev.err" | tail -8; }
finish
