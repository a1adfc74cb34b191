#!/usr/bin/env bash
# castgate front (issue 17 items 3 and 5): JSON responses of every size on
# one keep-alive connection. A backend (inline python) answers the IS-04 Node
# API devices path with a JSON list of devices whose hrefs and endpoint-shaped
# objects name it (http://127.0.0.1:PORT), of the size the query asks for,
# with Content-Length or chunked. Through the front: a small body, bodies
# around one TLS record with the head (16 KB), 1 MiB, and 4 MiB + 1 KB chunked
# (over max_json_bytes: passed unchanged, logged). Each rewritten body is
# JSON, its Content-Length is its length, every URL and endpoint is https on
# the front, and nothing else changed; the connection serves the next request.
. "$(dirname "$0")/lib.sh"
need "python3" python3 -c 'import ssl'

cat >"$T/backend.py" <<'PY'
import json, sys
from httpbackend import read_head, serve
port = int(sys.argv[1])
base = 'http://127.0.0.1:%d' % port

def doc(size):
    items, n = [], 2
    while n < size:
        d = {'id': '%036d' % len(items), 'href': base + '/x-nmos/node/v1.3/devices/%d' % len(items),
             'controls': [{'href': base + '/x-nmos/connection/v1.1/', 'type': 'urn:x-nmos:control:sr-ctrl/v1.1'}],
             'api': {'host': '127.0.0.1', 'port': port, 'protocol': 'http'}, 'label': 'd'}
        items.append(d)
        n += len(json.dumps(d)) + 2
    return json.dumps(items).encode()

def handle(c):
    f = c.makefile('rb')
    while True:
        head = read_head(f)
        if head is None:
            return
        target = head.split(b' ')[1].decode()
        q = dict(kv.split('=') for kv in target.split('?', 1)[1].split('&'))
        body = doc(int(q['size']))
        if q.get('chunked') == '1':
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                      b'Transfer-Encoding: chunked\r\n\r\n')
            for i in range(0, len(body), 50000):
                part = body[i:i + 50000]
                c.sendall(b'%x\r\n%s\r\n' % (len(part), part))
            c.sendall(b'0\r\n\r\n')
        else:
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                      b'Content-Length: %d\r\n\r\n%s' % (len(body), body))

serve(port, handle)
PY
start_front_backend "$T/backend.py"
start_front ecdsa ""

# One keep-alive connection; each line: SIZE CHUNKED -> a verdict line.
python3 - "$FP" "$BP" "$P/root-ca.pem" >"$T/client.out" 2>&1 <<'PY'
import json, re, socket, ssl, sys
fp, bp, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', fp), timeout=60), server_hostname='localhost')
buf = b''
def need(n):
    global buf
    while len(buf) < n:
        d = s.recv(1 << 20)
        if not d:
            raise EOFError
        buf += d
def line():
    global buf
    while b'\r\n' not in buf:
        need(len(buf) + 1)
    l, buf = buf.split(b'\r\n', 1)
    return l
def response():
    global buf
    while b'\r\n\r\n' not in buf:
        need(len(buf) + 1)
    head, buf = buf.split(b'\r\n\r\n', 1)
    h = {l.split(b':', 1)[0].strip().lower(): l.split(b':', 1)[1].strip() for l in head.split(b'\r\n')[1:]}
    if b'content-length' in h:
        n = int(h[b'content-length']); need(n)
        body, buf = buf[:n], buf[n:]
        return head, 'length', body
    body = b''
    while True:
        n = int(line(), 16)
        need(n + 2)
        body += buf[:n]; buf = buf[n + 2:]
        if n == 0:
            return head, 'chunked', body
for size, chunked in ((300, 0), (15800, 0), (16300, 0), (1 << 20, 1), ((4 << 20) + 1024, 1), (300, 0)):
    s.sendall(b'GET /x-nmos/node/v1.3/devices/?size=%d&chunked=%d HTTP/1.1\r\nHost: localhost\r\n\r\n' % (size, chunked))
    head, framing, body = response()
    d = json.loads(body)
    text = body.decode()
    urls = re.findall(r'[a-z]+://[^"]+', text)
    inside = [u for u in urls if u.startswith('http://127.0.0.1:%d/' % bp)]
    public = [u for u in urls if u.startswith('https://localhost:%d/' % fp)]
    eps = [x['api'] for x in d]
    eps_ok = all(e == {'host': 'localhost', 'port': fp, 'protocol': 'https'} for e in eps)
    eps_in = all(e == {'host': '127.0.0.1', 'port': bp, 'protocol': 'http'} for e in eps)
    print(size, framing, head.split(b' ')[1].decode(), len(urls), len(inside), len(public),
          'rewritten' if eps_ok else 'unchanged' if eps_in else 'mixed', flush=True)
PY
cat "$T/client.out"
# SIZE FRAMING: every URL https on the front (none inside), endpoints rewritten
for sz in 300 15800 16300; do
  check "a $sz-byte JSON body rewritten whole, Content-Length its length" \
    bash -c "grep -Eq '^$sz length 200 ([0-9]+) 0 \\1 rewritten\$' '$T/client.out'"
done
check "a 1 MiB chunked JSON body rewritten whole (held up to max_json_bytes), sent with its length" \
  bash -c "grep -Eq '^1048576 length 200 ([0-9]+) 0 \\1 rewritten\$' '$T/client.out'"
check "a body over max_json_bytes passes unchanged, chunked (issue 17 item 5: not held)" \
  bash -c "grep -Eq '^4195328 chunked 200 ([0-9]+) \\1 0 unchanged\$' '$T/client.out'"
check "the front logs the JSON body passed without rewriting" grep -q 'passed without rewriting' "$T/front.err"
check "the same connection serves a request after them" \
  bash -c "[ \$(grep -c '^300 length 200' '$T/client.out') = 2 ]"
kill -TERM "$FRONT"; wait "$FRONT"; rc=$?
check "the front stops cleanly (exit $rc)" test "$rc" = 0
finish
