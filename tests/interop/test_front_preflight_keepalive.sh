#!/usr/bin/env bash
# castgate front (issue 17, B-25): a CORS preflight the front answers itself
# leaves a keep-alive connection ready for the next request, as browsers
# reuse it: OPTIONS preflight, then GET, then a pipelined preflight + GET, on
# one TLS connection; each answer is the right one (204 with the route's
# methods, then 200 with the node's document).
. "$(dirname "$0")/lib.sh"
need "python3" python3 -c 'import ssl'

start_nmos_front ecdsa "" "cors_origin = https://ui.example.com"
timeout 60 python3 - "$FP" "$P/root-ca.pem" >"$T/client.out" 2>&1 <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=15),
                    server_hostname='localhost')
buf = b''
def response():
    global buf
    while b'\r\n\r\n' not in buf:
        d = s.recv(65536)
        if not d:
            return 'closed'
        buf += d
    head, buf = buf.split(b'\r\n\r\n', 1)
    lines = head.split(b'\r\n')
    h = {l.split(b':', 1)[0].lower(): l.split(b':', 1)[1].strip() for l in lines[1:]}
    n = int(h.get(b'content-length', b'0'))
    while len(buf) < n:
        buf += s.recv(65536)
    body, buf = buf[:n], buf[n:]
    what = 'fixture' if b'fixture node' in body else '-'
    return '%s %s %s' % (lines[0].split(b' ')[1].decode(),
                         h.get(b'access-control-allow-methods', b'-').decode(), what)
pre = (b'OPTIONS /x-nmos/node/v1.3/self HTTP/1.1\r\nHost: localhost\r\n'
       b'Origin: https://ui.example.com\r\nAccess-Control-Request-Method: GET\r\n\r\n')
get = b'GET /x-nmos/node/v1.3/self HTTP/1.1\r\nHost: localhost\r\n\r\n'
try:
    s.sendall(pre); print(response(), flush=True)
    s.sendall(get); print(response(), flush=True)
    s.sendall(pre + get); print(response(), flush=True); print(response(), flush=True)
except OSError as e:
    print('error', e)
PY
cat "$T/client.out"
check "B-25 the preflight is answered by the front" bash -c "sed -n 1p '$T/client.out' | grep -qx '204 GET, HEAD -'"
check "the GET after it on the same connection gets the node's document" \
  bash -c "sed -n 2p '$T/client.out' | grep -qx '200 - fixture'"
check "a preflight and a GET pipelined: each gets its own answer" \
  bash -c "sed -n 3p '$T/client.out' | grep -qx '204 GET, HEAD -' && sed -n 4p '$T/client.out' | grep -qx '200 - fixture'"
kill -TERM "$FRONT"; wait "$FRONT"; rc=$?
check "the front stops cleanly (exit $rc)" test "$rc" = 0
finish
