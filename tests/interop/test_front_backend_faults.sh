#!/usr/bin/env bash
# castgate front (issue 17): what a client sees when the backend misbehaves.
# An inline backend, one behaviour per Node API path: never answers (504
# after backend_timeout_ms), answers garbage (502), a 101 nobody asked for
# (502), cuts a body short (the client's connection is cut: it never takes a
# short body for a whole one), a read-until-close body (chunked to the client,
# whole), a chunked JSON body over max_json_bytes (passed unchanged, logged,
# never held whole). Each 5xx is logged (B-24) and the front keeps serving.
# A pooled connection the backend drops: GET retried, POST not put at risk.
# FRONT_EXTRA adds configuration lines (later lines win), to see checks fail.
. "$(dirname "$0")/lib.sh"
need "python3" python3 -c 'import socket'

cat >"$T/backend.py" <<'PY'
import json, sys, time
from httpbackend import read_head, serve
port = int(sys.argv[1])
def handle(c):
    f = c.makefile('rb')
    served = 0
    while True:
        head = read_head(f)
        if head is None:
            return
        n = int(([l.split(b':')[1] for l in head.split(b'\r\n') if l.lower().startswith(b'content-length')] or [b'0'])[0])
        f.read(n)
        path = head.split(b' ')[1].decode()
        if path.endswith('/sources/ka'):  # keep-alive: the connection is pooled
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}')
            served += 1
            continue
        if '/health/nodes/' in path:
            if served:  # as if it had closed the idle connection just as the request came
                c.close()
                return
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}')
            served += 1
            continue
        one(c, path, port)
        time.sleep(0.2)
        c.close()
        return

def one(c, path, port):
    if path.endswith('/self'):
        time.sleep(30)                      # never answers
    elif path.endswith('/devices'):
        c.sendall(b'SSH-2.0-OpenSSH_9.2\r\n')  # not HTTP
    elif path.endswith('/receivers'):
        c.sendall(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
    elif path.endswith('/senders'):
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n' + b'x' * 1000)
    elif path.endswith('/sources'):
        body = json.dumps([{'href': 'http://127.0.0.1:%d/' % port}] * 3).encode()
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n' + body)
    elif path.endswith('/flows'):
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n')
        item = json.dumps({'href': 'http://127.0.0.1:%d/' % port, 'pad': 'p' * 1000}).encode()
        c.sendall(b'1\r\n[\r\n')
        for i in range(3000):  # about 3 MB of JSON
            part = (b',' if i else b'') + item
            c.sendall(b'%x\r\n%s\r\n' % (len(part), part))
        c.sendall(b'1\r\n]\r\n0\r\n\r\n')

serve(port, handle)
PY
start_front_backend "$T/backend.py"
start_front ecdsa "" "backend_timeout_ms = 1500" "max_json_bytes = 1048576" "${FRONT_EXTRA:-}"
U=https://localhost:$FP/x-nmos/node/v1.3
C=(curl -s -o "$T/body" -D "$T/head" --cacert "$P/root-ca.pem" --max-time 20)
status_is() { head -1 "$T/head" | grep -q " $1 "; }

"${C[@]}" "$U/self"
check "a backend that never answers -> 504 after backend_timeout_ms" status_is 504
"${C[@]}" "$U/devices"
check "a backend that is not HTTP -> 502" status_is 502
"${C[@]}" "$U/receivers"
check "a 101 nobody asked for -> 502" status_is 502
"${C[@]}" "$U/senders"; rc=$?
check "a body cut short: the client's connection is cut (curl exit $rc, 18 = partial)" test "$rc" = 18
"${C[@]}" "$U/sources"
check "a body read until the backend closes arrives whole, rewritten" bash -c \
  "head -1 '$T/head' | grep -q ' 200 ' && python3 -c \"import json,sys; d=json.load(open('$T/body')); sys.exit(0 if len(d)==3 and d[0]['href']=='https://localhost:$FP/' else 1)\""
"${C[@]}" "$U/flows"
check "a chunked JSON body over max_json_bytes passes whole and unchanged" bash -c \
  "head -1 '$T/head' | grep -q ' 200 ' && python3 -c \"import json,sys; d=json.load(open('$T/body')); sys.exit(0 if len(d)==3000 and d[0]['href'].startswith('http://127.0.0.1') else 1)\""
check "... and the front says so in its log" grep -q 'passed without rewriting' "$T/front.err"
check "B-24 the gateway errors are logged" bash -c "grep -q 'rejected 504' '$T/front.err' && grep -q 'rejected 502' '$T/front.err'"
"${C[@]}" "$U/sources"
check "the front still serves afterwards" status_is 200

# A pooled connection the backend closes as the request arrives: a GET is
# sent again on a fresh connection; a POST (not to be sent twice) does not
# take a connection that has been idle a while.
R=https://localhost:$FP/x-nmos/registration/v1.3/health/nodes/n1
"${C[@]}" "$U/sources/ka"
"${C[@]}" "$R"
check "a GET on a pooled connection the backend dropped is retried -> 200" status_is 200
"${C[@]}" "$U/sources/ka"
sleep 1.5  # the pooled connection is now idle for longer than a POST trusts
"${C[@]}" -X POST "$R"
check "a POST takes no long-idle pooled connection -> 200" status_is 200
kill -TERM "$FRONT"; wait "$FRONT"; rc=$?
check "clean exit under ASan (exit $rc)" test "$rc" = 0
finish
