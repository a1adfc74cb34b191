#!/usr/bin/env bash
# castgate front (issue 17): a request that does not arrive whole within
# header_ms gets 408 and the connection closes (slowloris), also when its
# first bytes come in a read of their own and on a connection that served a
# request before; a request that arrives whole is served. No timing
# assertion: the client waits (bounded) for the answer the limit causes.
. "$(dirname "$0")/lib.sh"
need "python3" python3 -c 'import ssl'

start_nmos_front ecdsa "" "header_ms = 1000"
timeout 120 python3 - "$FP" "$P/root-ca.pem" >"$T/client.out" 2>&1 <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
def conn():
    return ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=30),
                           server_hostname='localhost')
def status(s):
    buf = b''
    while b'\r\n' not in buf:
        d = s.recv(65536)
        if not d:
            return 'closed'
        buf += d
    return buf.split(b' ')[1].decode()
def rest(s):  # all that follows until the front closes
    try:
        while s.recv(65536):
            pass
        return 'closed'
    except OSError as e:
        return 'error %s' % e
get = b'GET /x-nmos/node/v1.3/self HTTP/1.1\r\nHost: localhost\r\n\r\n'
# 1. half a head, then nothing
s = conn()
s.sendall(get[:20])
print('partial-first', status(s), rest(s), flush=True)
# 2. a whole request served, then half a head on the same connection
s = conn()
s.sendall(get)
buf = b''
while b'fixture node' not in buf:
    buf += s.recv(65536)
print('whole', buf.split(b' ')[1].decode(), flush=True)
s.sendall(get[:30])
print('partial-after', status(s), rest(s), flush=True)
PY
cat "$T/client.out"
check "half a request head: 408 from the front, then the close" grep -qx 'partial-first 408 closed' "$T/client.out"
check "a whole request is served" grep -qx 'whole 200' "$T/client.out"
check "half a head after a served request: 408, then the close" grep -qx 'partial-after 408 closed' "$T/client.out"
check "B-24 the 408s are logged" bash -c "[ \$(grep -c 'rejected 408' '$T/front.err') -ge 2 ]"
kill -TERM "$FRONT"; wait "$FRONT"; rc=$?
check "the front stops cleanly (exit $rc)" test "$rc" = 0
finish
