#!/usr/bin/env bash
# Issue 12 item 4, the front door: a wss listener's TLS handshakes run on
# the process's front-door threads (cg-frontdoor, nice 10), not on
# the loop thread, within two bounds: handshake steps in flight, and
# unfinished handshakes per peer address (--limit handshakes_per_address=4
# here). Seen from outside with real sockets on 127.0.0.0/8:
#   - 4 raw clients from 127.0.0.7 send a ClientHello and stop: each gets the
#     server's flight and its handshake stays unfinished; a 5th from
#     127.0.0.7 is closed at accept without a TLS byte; a client from
#     127.0.0.8 completes its handshake meanwhile, and a WebSocket lane
#     opened before still echoes;
#   - once the 4 go away, 127.0.0.7 completes a handshake again;
#   - the handshakes ran on threads named cg-frontdoor (their CPU time,
#     /proc/PID/task/*/stat fields 14+15, is above zero after 100 RSA
#     handshakes), each nice 10 (field 19) and SCHED_OTHER (field 41 = 0),
#     while the loop thread stays at nice 0;
#   - SIGTERM stops it cleanly (ASan: no leak at exit).
# No timing is asserted: waits are bounds against hanging.
. "$(dirname "$0")/lib.sh"

P=$T/pki
make_pki "$P" "$(free_port)"
PORT=$(free_port)
start_serve "$T/serve" --listen "127.0.0.1:$PORT" --no-ocsp --path /ws \
  --cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key" \
  --limit handshakes_per_address=4 --limit handshake_ms=120000 || { bad "castgate serve starts with handshakes_per_address"; finish; exit 1; }
ok "castgate serve starts with --limit handshakes_per_address=4"

python3 - "$PORT" "$P/root-ca.pem" >"$T/py.out" 2>&1 <<'EOF'
import base64, os, socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)

def say(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)

def connect(src):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))
    return s

def full_handshake(src):
    try:
        with ctx.wrap_socket(connect(src), server_hostname="localhost") as t:
            return t.version() is not None
    except (OSError, ssl.SSLError):
        return False

def frame(text):
    data, mask = text.encode(), os.urandom(4)
    return bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))

def echo(t, text):
    t.sendall(frame(text))
    back = b""
    while len(back) < 2 + len(text):
        chunk = t.recv(4096)
        if not chunk:
            return False
        back += chunk
    return back[2:2 + len(text)] == text.encode()

# a lane, open before anything else
lane = ctx.wrap_socket(connect("127.0.0.1"), server_hostname="localhost")
key = base64.b64encode(os.urandom(16)).decode()
lane.sendall(("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n" % key).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += lane.recv(4096)
say(b" 101 " in head and echo(lane, "before"), "a WebSocket lane opens and echoes")

def raw_hello(src):
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s = connect(src)
    try:
        s.sendall(outgoing.read())
        first = s.recv(65536)
    except OSError:  # closed at accept: reset or broken pipe
        first = b""
    return s, first

held = [raw_hello("127.0.0.7") for _ in range(4)]
say(all(len(f) > 0 and f[0] == 0x16 for _, f in held),
    "4 ClientHellos from 127.0.0.7 each get the server's flight (handshakes left unfinished)")
s5, f5 = raw_hello("127.0.0.7")
say(f5 == b"", "a 5th from 127.0.0.7 is closed at accept without a TLS byte (%d bytes)" % len(f5))
s5.close()
say(full_handshake("127.0.0.8"), "meanwhile 127.0.0.8 completes a handshake")
say(echo(lane, "during"), "meanwhile the lane still echoes")
for s, _ in held:
    s.close()
again = False
for _ in range(100):  # the server notices the closes
    if full_handshake("127.0.0.7"):
        again = True
        break
    time.sleep(0.1)
say(again, "once those 4 are gone, 127.0.0.7 completes a handshake again")
n = sum(full_handshake("127.0.0.9") for _ in range(100))
say(n == 100, "100 full handshakes from 127.0.0.9 (%d completed)" % n)
say(echo(lane, "after"), "the lane still echoes after them")
lane.close()
EOF
sed 's/^/    /' "$T/py.out"
while read -r verdict rest; do
  case "$verdict" in
    ok) ok "$rest" ;;
    FAIL) bad "$rest" ;;
  esac
done <"$T/py.out"
check "the client script ran to its end" grep -q "the lane still echoes after them" "$T/py.out"

: >"$T/tasks"
for t in /proc/$SERVE_PID/task/*; do
  echo "$(cat "$t/comm") $(awk '{print $14 + $15, $19, $41}' "$t/stat")" >>"$T/tasks"
done
sed 's/^/    /' "$T/tasks"
check "front-door threads exist (cg-frontdoor)" grep -q '^cg-frontdoor ' "$T/tasks"
check "they did the handshakes' work (CPU time above zero)" \
  bash -c "grep '^cg-frontdoor ' '$T/tasks' | awk '{ t += \$2 } END { exit !(t > 0) }'"
check "each is nice 10 (below the loop thread, not SCHED_IDLE)" \
  bash -c "grep '^cg-frontdoor ' '$T/tasks' | awk '\$3 != 10 || \$4 != 0 { bad = 1 } END { exit bad }'"
check "the loop thread stays at nice 0" \
  bash -c "[ \"\$(awk '{print \$19, \$41}' /proc/$SERVE_PID/stat)\" = '0 0' ]"
check "the 5th connection's refusal is logged" grep -q 'TLS handshakes from this address unfinished' "$T/serve"
check "SIGTERM stops castgate serve cleanly (no leak under ASan)" stop_pid "$SERVE_PID"
if grep -q 'ERROR: LeakSanitizer\|ERROR: AddressSanitizer' "$T/serve"; then
  bad "no sanitizer report" "$(grep -m3 'ERROR:' "$T/serve")"
else
  ok "no sanitizer report"
fi
finish
