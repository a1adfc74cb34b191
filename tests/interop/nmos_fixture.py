#!/usr/bin/env python3
"""A small plain-HTTP/ws NMOS node + registry for the front's interop tests
(tests/interop/test_front.sh). Not an NMOS implementation: just enough of
IS-04 v1.3 (Node API self/devices/senders, Registration API resource POST/
DELETE, Query API nodes/devices and subscriptions with a websocket sending
grains) and IS-05 v1.1 (staged GET/PATCH, transportfile) to carry URLs the
way real nodes do, all naming this backend as http://127.0.0.1:PORT and
ws://127.0.0.1:PORT. It sends `Access-Control-Allow-Origin: *` like many
nodes (the front must replace it, B-25), some responses chunked, and logs
every request it receives (method, path, headers, body length, client port)
as JSON lines to LOGFILE so the test can see what the front passed on.

Usage: nmos_fixture.py PORT LOGFILE"""
import base64
import hashlib
import json
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
LOG = open(sys.argv[2], 'a', buffering=1)
BASE = f'http://127.0.0.1:{PORT}'
WSBASE = f'ws://127.0.0.1:{PORT}'
LOCK = threading.Lock()

NODE_ID = str(uuid.UUID(int=1))
DEVICE_ID = str(uuid.UUID(int=2))
SENDER_ID = str(uuid.UUID(int=3))
VER = '1700000000:0'

SELF = {
    'id': NODE_ID, 'version': VER, 'label': 'fixture node', 'description': '', 'tags': {},
    'href': BASE + '/', 'hostname': 'fixture.local',
    'api': {'versions': ['v1.3'],
            'endpoints': [{'host': '127.0.0.1', 'port': PORT, 'protocol': 'http',
                           'authorization': False}]},
    'caps': {}, 'services': [{'href': BASE + '/x-nmos/events/v1.0/', 'type':
                              'urn:x-nmos:service:events', 'authorization': False}],
    'clocks': [], 'interfaces': [],
}
DEVICE = {
    'id': DEVICE_ID, 'version': VER, 'label': 'dev', 'description': '', 'tags': {},
    'type': 'urn:x-nmos:device:generic', 'node_id': NODE_ID, 'senders': [SENDER_ID],
    'receivers': [], 'controls': [{'href': BASE + '/x-nmos/connection/v1.1/',
                                   'type': 'urn:x-nmos:control:sr-ctrl/v1.1',
                                   'authorization': False}],
}
SENDER = {
    'id': SENDER_ID, 'version': VER, 'label': 'snd', 'description': '', 'tags': {},
    'flow_id': None, 'transport': 'urn:x-nmos:transport:rtp.mcast', 'device_id': DEVICE_ID,
    'manifest_href': BASE + '/x-nmos/connection/v1.1/single/senders/' + SENDER_ID +
    '/transportfile', 'interface_bindings': [], 'subscription': {'receiver_id': None,
                                                                 'active': False},
}
REGISTRY = {'nodes': {}, 'devices': {}, 'sources': {}, 'flows': {}, 'senders': {},
            'receivers': {}}
SUBS = {}
STAGED = {'master_enable': False, 'activation': {'mode': None, 'requested_time': None},
          'transport_params': [{'destination_ip': '239.0.0.1', 'destination_port': 5004}]}


def grain(sub, items):
    return {'grain_type': 'event', 'source_id': NODE_ID, 'flow_id': sub['id'],
            'origin_timestamp': VER, 'sync_timestamp': VER, 'creation_timestamp': VER,
            'rate': {'numerator': 0, 'denominator': 1}, 'duration': {'numerator': 0,
                                                                     'denominator': 1},
            'grain': {'type': 'urn:x-nmos:format:data.event', 'topic': '/nodes/',
                      'data': items}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def record(self, body):
        LOG.write(json.dumps({'method': self.command, 'path': self.path,
                              'headers': [[k, v] for k, v in self.headers.items()],
                              'body_len': len(body), 'client_port':
                              self.client_address[1]}) + '\n')

    def body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n else b''

    def send(self, status, obj=None, ctype='application/json', chunked=False, extra=()):
        data = b'' if obj is None else (obj if isinstance(obj, bytes) else
                                       json.dumps(obj).encode())
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Access-Control-Allow-Origin', '*')
        self.send_header('Keep-Alive', 'timeout=5')
        self.send_header('X-Fixture-Hop', 'drop-me')
        self.send_header('Connection', 'keep-alive, X-Fixture-Hop')
        for k, v in extra:
            self.send_header(k, v)
        if chunked:
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for i in range(0, len(data), 7):  # small chunks on purpose
                part = data[i:i + 7]
                self.wfile.write(b'%x\r\n%s\r\n' % (len(part), part))
            self.wfile.write(b'0\r\n\r\n')
        else:
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(data)

    # ---- GET ----
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.record(b'')
        p = self.path.split('?')[0].rstrip('/')
        if self.headers.get('Upgrade', '').lower() == 'websocket':
            return self.websocket(p)
        if p == '/x-nmos/node/v1.3/self':
            return self.send(200, SELF)
        if p == '/x-nmos/node/v1.3/devices':
            return self.send(200, [DEVICE])
        if p == '/x-nmos/node/v1.3/senders':
            return self.send(200, [SENDER], chunked=True)
        if p.startswith('/x-nmos/query/v1.3/nodes'):
            with LOCK:
                nodes = list(REGISTRY['nodes'].values())
            return self.send(200, nodes, chunked=True)
        if p == '/x-nmos/query/v1.3/subscriptions':
            return self.send(200, list(SUBS.values()))
        if p.endswith('/staged'):
            return self.send(200, STAGED)
        if p.endswith('/transportfile'):
            sdp = ('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=fixture\r\n' + 'a=x-pad:' +
                   'z' * 200000 + '\r\n').encode()
            return self.send(200, sdp, ctype='application/sdp', chunked=True)
        if p == '/x-nmos/node/v1.3/receivers/x/redirect':
            return self.send(307, None, extra=[('Location', BASE + '/x-nmos/node/v1.3/')])
        return self.send(404, {'code': 404, 'error': 'not found', 'debug': p})

    # ---- bodies ----
    def do_POST(self):
        b = self.body()
        self.record(b)
        p = self.path.rstrip('/')
        try:
            doc = json.loads(b) if b else None
        except ValueError:
            return self.send(400, {'code': 400, 'error': 'backend saw bad JSON', 'debug': None})
        if p == '/x-nmos/registration/v1.3/resource':
            t, d = doc['type'], doc['data']
            with LOCK:
                REGISTRY[t + 's'][d['id']] = d
            loc = f'{BASE}/x-nmos/registration/v1.3/resource/{t}s/{d["id"]}'
            return self.send(201, d, extra=[('Location', loc)])
        if p == '/x-nmos/query/v1.3/subscriptions':
            if doc.get('secure'):
                return self.send(400, {'code': 400, 'error': 'this backend has no wss'})
            sid = str(uuid.uuid4())
            sub = dict(doc, id=sid, ws_href=f'{WSBASE}/x-nmos/query/v1.3/subscriptions/{sid}',
                       secure=False)
            SUBS[sid] = sub
            return self.send(201, sub)
        if p.startswith('/x-nmos/registration/v1.3/health/nodes/'):
            return self.send(200, {'health': str(int(time.time()))})
        return self.send(404, {'code': 404, 'error': 'not found'})

    def do_PATCH(self):
        b = self.body()
        self.record(b)
        doc = json.loads(b)
        if self.path.rstrip('/').endswith('/staged'):
            STAGED.update(doc)
            return self.send(200, STAGED)
        return self.send(404, {'code': 404, 'error': 'not found'})

    def do_DELETE(self):
        self.record(b'')
        return self.send(204)

    do_PUT = do_PATCH

    # ---- the Query API websocket ----
    def websocket(self, p):
        sid = p.rsplit('/', 1)[-1]
        sub = SUBS.get(sid)
        if sub is None:
            return self.send(404, {'code': 404, 'error': 'no such subscription'})
        key = self.headers['Sec-WebSocket-Key']
        acc = base64.b64encode(hashlib.sha1((key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
                                            .encode()).digest()).decode()
        self.send_response(101)
        self.send_header('Upgrade', 'websocket')
        self.send_header('Connection', 'Upgrade')
        self.send_header('Sec-WebSocket-Accept', acc)
        self.end_headers()
        self.wfile.flush()
        with LOCK:
            items = [{'path': n['id'], 'post': n} for n in REGISTRY['nodes'].values()]
        g = json.dumps(grain(sub, items)).encode()
        self.frame(g)
        self.frame(b'\x00\x01binary-untouched', opcode=2)
        # the same grain again in three fragments, a ping between them (RFC 6455 §5.4)
        third = len(g) // 3
        self.frame(g[:third], opcode=1, fin=False)
        self.frame(b'', opcode=9)
        self.frame(g[third:2 * third], opcode=0, fin=False)
        self.frame(g[2 * third:], opcode=0)
        self.close_connection = True
        # Wait for the client's close frame (or EOF), answer it.
        try:
            hdr = self.rfile.read(2)
            if len(hdr) == 2 and hdr[0] & 0x0F == 8:
                self.frame(b'\x03\xe8', opcode=8)
        except OSError:
            pass

    def frame(self, payload, opcode=1, fin=True):
        n, fin = len(payload), 0x80 if fin else 0
        if n < 126:
            h = struct.pack('!BB', fin | opcode, n)
        elif n < 65536:
            h = struct.pack('!BBH', fin | opcode, 126, n)
        else:
            h = struct.pack('!BBQ', fin | opcode, 127, n)
        self.wfile.write(h + payload)
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    address_family = socket.AF_INET


Server(('127.0.0.1', PORT), Handler).serve_forever()
