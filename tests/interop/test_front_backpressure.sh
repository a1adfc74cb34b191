#!/usr/bin/env bash
# castgate front (issue 17 items 1 and 5): backpressure both ways, and a slow
# client stalls no one else. A backend (inline python) serves a 256 MiB
# non-JSON body on an IS-05 transportfile path and takes a WebSocket it never
# reads. A client that does not read the body: the front stops reading the
# backend (the backend's progress stays far below the body and the front's
# memory stays bounded); meanwhile another client is served; then the client
# reads and gets every byte. A client that sends into the WebSocket: once the
# backend's queue is over write_queue the front stops reading the client (the
# client's progress stays bounded). No timing assertions: each wait is "until
# the number stops moving" (bounded), then a check on the numbers.
. "$(dirname "$0")/lib.sh"
need "python3" python3 -c 'import ssl'

BIG=$((256 * 1024 * 1024))
cat >"$T/backend.py" <<'PY'
import os, sys, time
from httpbackend import read_head, serve
port, big, prog = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def handle(c):
    f = c.makefile('rb')
    while True:
        head = read_head(f)
        if head is None:
            return
        if b'upgrade: websocket' in head.lower():
            c.sendall(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
                      b'Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n')
            time.sleep(3600)  # never reads: the front must stop reading its client
        if b'transportfile' in head:
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n'
                      b'Content-Length: %d\r\n\r\n' % big)
            block, sent = b'x' * 65536, 0
            while sent < big:
                c.sendall(block)
                sent += len(block)
                open(prog + '.tmp', 'w').write(str(sent))
                os.replace(prog + '.tmp', prog)  # never read half-written
        else:
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}')
serve(port, handle)
PY
echo 0 >"$T/progress"
start_front_backend "$T/backend.py" "$BIG" "$T/progress"
# ASan keeps freed memory in quarantine (256 MiB by default): make it small
# so the front's RSS means what it holds.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=8" start_front ecdsa "" "write_queue = 1048576"
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$FRONT/status"; }
# settle FILE: wait until the number in FILE stops moving (2 equal samples 1 s
# apart) or reaches $2; at most 120 s.
settle() {
  local last=-1 now i
  for ((i = 0; i < 120; i++)); do
    now=$(cat "$1" 2>/dev/null); now=${now:-0}
    if [ "$now" -ge "$2" ] || [ "$now" = "$last" ]; then break; fi
    last=$now; sleep 1
  done
}
RSS0=$(rss_kb)

# ---- a client that does not read the body ----
cat >"$T/slow.py" <<PY
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile='$P/root-ca.pem')
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', $FP)), server_hostname='localhost')
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b'GET /x-nmos/connection/v1.1/single/senders/s/transportfile HTTP/1.1\r\nHost: localhost\r\n\r\n')
open('$T/slow.ready', 'w').write('1')
while open('$T/go').read().strip() != '1':
    time.sleep(0.2)
n = 0
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    n += len(b)
    if n > $BIG:  # head + body received
        break
print(n)
PY
echo 0 >"$T/go"
python3 "$T/slow.py" >"$T/slow.out" 2>&1 &
SLOW=$!; PIDS+=($SLOW)
for ((i = 0; i < 100; i++)); do [ -f "$T/slow.ready" ] && break; sleep 0.1; done
settle "$T/progress" "$BIG"
STALLED=$(cat "$T/progress"); RSS1=$(rss_kb)
check "backend->client: the backend is not read past the stalled client ($((STALLED / 1048576)) of $((BIG / 1048576)) MiB)" \
  test "$STALLED" -lt $((64 * 1024 * 1024))
check "backend->client: the front's memory stays bounded (RSS +$(((RSS1 - RSS0) / 1024)) MiB)" \
  test $((RSS1 - RSS0)) -lt $((48 * 1024))
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/root-ca.pem" --max-time 20 "https://localhost:$FP/x-nmos/node/v1.3/self")
check "another client is served meanwhile (got $code)" test "$code" = 200
echo 1 >"$T/go"
wait "$SLOW"
check "the stalled client then gets every byte" bash -c "[ \"\$(cat '$T/slow.out')\" -gt $BIG ]"

# ---- a client that sends into a WebSocket the backend does not read ----
cat >"$T/wsend.py" <<PY
import os, socket, ssl, struct, threading
ctx = ssl.create_default_context(cafile='$P/root-ca.pem')
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', $FP)), server_hostname='localhost')
s.sendall(b'GET /x-nmos/query/v1.3/subscriptions/abc HTTP/1.1\r\nHost: localhost\r\n'
          b'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
          b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
head = b''
while not head.endswith(b'\r\n\r\n'):
    head += s.recv(1)
assert b' 101 ' in head, head
total = $BIG
s.sendall(struct.pack('!BBQ', 0x82, 0xFF, total) + b'\0\0\0\0')
block, sent = b'y' * 65536, 0
while sent < total:
    s.sendall(block)
    sent += len(block)
    open('$T/wsprog.tmp', 'w').write(str(sent))
    os.replace('$T/wsprog.tmp', '$T/wsprog')
PY
echo 0 >"$T/wsprog"
RSS0=$(rss_kb)
python3 "$T/wsend.py" >"$T/wsend.out" 2>&1 &
PIDS+=($!)
settle "$T/wsprog" "$BIG"
SENT=$(cat "$T/wsprog"); RSS2=$(rss_kb)
check "client->backend: the front stops reading the client ($((SENT / 1048576)) of $((BIG / 1048576)) MiB taken)" \
  test "$SENT" -lt $((64 * 1024 * 1024))
check "client->backend: the front's memory stays bounded (RSS +$(((RSS2 - RSS0) / 1024)) MiB)" \
  test $((RSS2 - RSS0)) -lt $((48 * 1024))
grep -q Traceback "$T/wsend.out" && cat "$T/wsend.out"
# Stopped with a tunnel open and its backend queue full: everything is freed.
kill -TERM "$FRONT"; wait "$FRONT"; rc=$?
check "SIGTERM with a full tunnel open: clean exit under ASan (exit $rc)" test "$rc" = 0
finish
