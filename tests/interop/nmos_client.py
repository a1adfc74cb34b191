#!/usr/bin/env python3
"""The NMOS client of tests/interop/test_front.sh (issue 17's Done-when): it
drives the fixture node + registry (nmos_fixture.py) through `castgate
front` as a controller and a node would, over TLS only, and checks both
what the specs say the APIs answer and that every URL it sees is on the
front:

- IS-04 Node API: self, the five collections, an item, a 404, PUT a
  receiver's target; api.endpoints[] and href on the front; the device's
  IS-05 control href, followed.
- IS-04 Registration API: node, device, source, flow, sender, receiver
  registered (201 + Location), the node updated (200), bad registrations
  refused (400 with an NMOS error body, 409 for an id of another type),
  heartbeats (200; 404 for a node never registered) kept up by a thread
  while the rest runs.
- IS-04 Query API: collections, basic queries, an item, a 404, RQL 501,
  paging followed by the Link header's rel="prev" URLs; subscriptions (201,
  200 for an identical one, 400, 403 on DELETE of a non-persistent one, 204
  and the socket closed for a persistent one); their wss sockets: the sync
  grain (pre == post), a grain per create (post only), update (pre and post)
  and delete (pre only) of a node, the delete of a node that stops
  heartbeating (expiry), a filtered subscription on the fixture's senders
  seeing its IS-05 activation; a non-persistent subscription gone after its
  socket closes.
- IS-05: constraints, transporttype, staged PATCHes refused (400: unknown
  member, wrong type, outside the constraints, wrong number of legs, bad
  mode), activate_immediate (200 with activation_time; /active reflects it,
  staged activation reset), the sender's transport file via its IS-04
  manifest_href, a receiver's scheduled activation (202, 423 meanwhile,
  cancel, then relative activation from the sender's SDP), bulk senders.
- Deletes: 204, then 404 from both the Registration and the Query API, a
  node's children gone with it.
- Every URL in every header and body the client saw (HTTP responses, the
  upgrade's head, every grain; JSON walked recursively, Link headers'
  <URL>s, other bodies as text) is https:// or wss:// on the front's
  host:port, and every api.endpoints[] entry is https on it.

The resources it registers name the fixture's inside address (--inside),
as the node behind the front does; what it reads back must not.
Prints one line per check, "ok   - what" or "FAIL - what: detail" (lib.sh's
`tally` counts them); exits 1 if any failed.

Usage: nmos_client.py --front HOST:PORT --ca FILE --inside HOST:PORT
                      [--expiry-ms N]"""
import argparse
import base64
import http.client
import json
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import quote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nmos_fixture as fx  # noqa: E402  (the fixture node's ids)

TS = re.compile(r'^[0-9]+:[0-9]+$')
URL_RE = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://[^\s"<>,]*')
X = '/x-nmos'


class OffFront(Exception):
    """A URL the client was given to follow is not https/wss on the front."""


class Verdict:
    def __init__(self):
        self.fails = self.checks = 0

    def need(self, cond, what, detail=None):
        self.checks += 1
        if cond:
            print('ok   - ' + what, flush=True)
        else:
            self.fails += 1
            d = '' if detail is None else ': ' + (detail if isinstance(detail, str) else
                                                 json.dumps(detail, default=str))[:400]
            print('FAIL - ' + what + d, flush=True)
        return bool(cond)


def tai_version():
    ns = time.time_ns() + 37 * 10**9
    return '%d:%d' % (ns // 10**9, ns % 10**9)


def is_error_body(doc, code):  # the NMOS error schema: {code, error, debug}
    return (isinstance(doc, dict) and doc.get('code') == code and
            isinstance(doc.get('error'), str) and 'debug' in doc)


def links(value):
    """rel -> URL of an RFC 8288 Link header."""
    out = {}
    for part in (value or '').split(','):
        m = re.match(r'\s*<([^>]*)>\s*;\s*rel="?([a-z]+)"?', part)
        if m:
            out[m.group(2)] = m.group(1)
    return out


class Resp:
    def __init__(self, method, target, status, headers, body):
        self.method, self.target, self.status = method, target, status
        self.headers, self.body = headers, body
        self.json = None
        if 'json' in (self.header('Content-Type') or ''):
            try:
                self.json = json.loads(body)
            except ValueError:
                pass

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def brief(self):
        return '%s %s -> %s %s' % (self.method, self.target, self.status, self.body[:200])


class Front:
    """HTTPS to the front on one keep-alive connection; every response noted."""

    def __init__(self, hostport, ca, seen):
        self.hostport = hostport
        self.host, port = hostport.rsplit(':', 1)
        self.port = int(port)
        self.ctx = ssl.create_default_context(cafile=ca)
        self.conn = None
        self.seen = seen

    def target_of(self, url, schemes=('https',)):
        if '://' not in url:
            return url
        u = urlsplit(url)
        if u.scheme not in schemes or u.netloc != self.hostport:
            raise OffFront(url)
        return u.path + ('?' + u.query if u.query else '')

    def request(self, method, url, doc=None, raw=None, headers=None):
        target = self.target_of(url)
        body = raw if raw is not None else (None if doc is None else json.dumps(doc).encode())
        hdrs = {'Accept': 'application/json'}
        if body is not None:
            hdrs['Content-Type'] = 'application/json'
        hdrs.update(headers or {})
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(self.host, self.port,
                                                            context=self.ctx, timeout=60)
                self.conn.request(method, target, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, http.client.CannotSendRequest,
                    http.client.BadStatusLine, ConnectionError, ssl.SSLError):
                self.conn.close()
                self.conn = None
                if attempt:  # a kept-alive connection the front had closed: once more
                    raise
        if (resp.getheader('Connection') or '').lower() == 'close':
            self.conn.close()
            self.conn = None
        r = Resp(method, target, resp.status, resp.getheaders(), data)
        self.seen.response(r)
        return r

    def get(self, url, **kw):
        return self.request('GET', url, **kw)

    def post(self, url, doc, **kw):
        return self.request('POST', url, doc, **kw)

    def patch(self, url, doc, **kw):
        return self.request('PATCH', url, doc, **kw)

    def delete(self, url, **kw):
        return self.request('DELETE', url, **kw)


class Seen:
    """Every header value and body string the client saw, to scan for URLs."""

    def __init__(self):
        self.lock = threading.Lock()
        self.texts = []      # (where, text)
        self.endpoints = []  # (where, {protocol, host, port})
        self.nresp = self.ngrains = 0

    def headers(self, where, headers):
        with self.lock:
            for k, v in headers:
                self.texts.append(('%s header %s' % (where, k), v))

    def walk(self, where, doc):
        with self.lock:
            self._walk(where, doc)

    def _walk(self, where, v):
        if isinstance(v, dict):
            if {'protocol', 'host', 'port'} <= set(v):
                self.endpoints.append((where, v))
            for k, x in v.items():
                self._walk('%s.%s' % (where, k), x)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                self._walk('%s[%d]' % (where, i), x)
        elif isinstance(v, str):
            self.texts.append((where, v))

    def response(self, r):
        where = '%s %s' % (r.method, r.target)
        with self.lock:
            self.nresp += 1
        self.headers(where, r.headers)
        if r.json is not None:
            self.walk(where + ' body', r.json)
        else:
            with self.lock:
                self.texts.append((where + ' body', r.body.decode('utf-8', 'replace')))

    def bad_urls(self, hostport):
        ok = re.compile(r'^(https|wss)://' + re.escape(hostport) + r'(/|\?|$)')
        urls, bad = 0, []
        for where, text in self.texts:
            for u in URL_RE.findall(text):
                urls += 1
                if not ok.match(u):
                    bad.append('%s: %s' % (where, u))
        return urls, bad


class Ws:
    """A WebSocket client (RFC 6455) over TLS to the front."""

    def __init__(self, front, url, seen):
        self.seen, self.n, self.pending = seen, 0, []
        self.sent_close = self.got_close = False
        target = front.target_of(url, schemes=('wss',))
        self.where = 'ws ' + target
        raw = socket.create_connection((front.host, front.port), timeout=60)
        self.s = front.ctx.wrap_socket(raw, server_hostname=front.host)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n'
                        'Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
                        'Sec-WebSocket-Version: 13\r\n\r\n' % (target, front.hostport, key))
                       .encode())
        self.buf = b''
        while b'\r\n\r\n' not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        lines = head.decode('latin-1').split('\r\n')
        self.status = int(lines[0].split()[1])
        hdrs = [tuple(x.strip() for x in ln.split(':', 1)) for ln in lines[1:] if ':' in ln]
        seen.headers(self.where + ' upgrade', hdrs)
        self.open = self.status == 101 and dict(
            (k.lower(), v) for k, v in hdrs).get('sec-websocket-accept') == fx.ws_accept(key)

    def _more(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError('the front closed the connection')
        self.buf += d

    def _need(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self):
        h = self._need(2)
        n = h[1] & 0x7F
        if n == 126:
            n = struct.unpack('!H', self._need(2))[0]
        elif n == 127:
            n = struct.unpack('!Q', self._need(8))[0]
        if h[1] & 0x80:
            raise ValueError('a masked frame from the server (RFC 6455 section 5.1)')
        return h[0] & 0x80, h[0] & 0x0F, self._need(n)

    def send(self, payload, opcode):
        self.s.sendall(fx.frame_bytes(payload, opcode, mask=os.urandom(4)))

    def message(self, timeout):
        """The next whole data message (opcode, bytes); None once the server closed."""
        self.s.settimeout(timeout)
        parts, op0 = [], None
        while True:
            fin, op, data = self._frame()
            if op == 9:
                self.send(data, 10)
                continue
            if op == 10:
                continue
            if op == 8:
                self.got_close = True
                if not self.sent_close:
                    self.sent_close = True
                    self.send(data[:2], 8)
                return None
            if op != 0:
                op0 = op
            parts.append(data)
            if fin:
                return op0, b''.join(parts)

    def grain(self, timeout=30):
        try:
            m = self.message(timeout)
        except (socket.timeout, EOFError):
            return None
        if m is None:
            return None
        doc = json.loads(m[1])
        self.n += 1
        self.seen.walk('%s grain %d' % (self.where, self.n), doc)
        return doc

    def wait_item(self, pred, timeout=30):
        """The first grain data item pred accepts (bounded wait, no timing asserted)."""
        end = time.monotonic() + timeout
        while True:
            while self.pending:
                item = self.pending.pop(0)
                if pred(item):
                    return item
            left = end - time.monotonic()
            g = self.grain(left) if left > 0 else None
            if g is None:
                return None
            self.pending.extend(g.get('grain', {}).get('data', []))

    def close(self):
        """Our close, then the server's (grains before it are still noted)."""
        try:
            if not self.sent_close:
                self.sent_close = True
                self.send(struct.pack('!H', 1000), 8)
            end = time.monotonic() + 30
            while not self.got_close and time.monotonic() < end:
                m = self.message(max(0.1, end - time.monotonic()))
                if m is not None and m[0] == 1:
                    self.n += 1
                    self.seen.walk('%s grain %d' % (self.where, self.n), json.loads(m[1]))
        except (socket.timeout, EOFError, OSError):
            pass
        self.s.close()
        return self.got_close


class Heartbeat(threading.Thread):
    """A node's heartbeats (IS-04: every 5 s by default; here every second,
    the fixture's expiry being a few seconds), on a connection of its own."""

    def __init__(self, front, node_id):
        super().__init__(daemon=True)
        self.front, self.node_id = front, node_id
        self.stopping = threading.Event()
        self.sent, self.bad = 0, []

    def run(self):
        while not self.stopping.wait(1.0):
            try:
                r = self.front.post('%s/registration/v1.3/health/nodes/%s' % (X, self.node_id),
                                    None, raw=b'')
                self.sent += 1
                if r.status != 200:
                    self.bad.append(r.brief())
            except Exception as e:  # noted, checked at the end
                self.bad.append(repr(e))


def resources(inside, label):
    """A node and its device, source, flow, sender and receiver, naming the
    node's inside address (plain http), as the node behind the front does."""
    host, port = inside.rsplit(':', 1)
    base = 'http://%s' % inside
    ids = {t: str(uuid.uuid4()) for t in ('node', 'device', 'source', 'flow', 'sender',
                                          'receiver')}
    v = tai_version()

    def core(t, **kw):
        return dict({'id': ids[t], 'version': v, 'label': '%s %s' % (label, t),
                     'description': '', 'tags': {}}, **kw)
    return ids, [
        ('node', core('node', href=base + '/', hostname='client.local', caps={}, clocks=[],
                      interfaces=[], services=[],
                      api={'versions': ['v1.3'], 'endpoints': [
                          {'host': host, 'port': int(port), 'protocol': 'http',
                           'authorization': False}]})),
        ('device', core('device', type='urn:x-nmos:device:generic', node_id=ids['node'],
                        senders=[ids['sender']], receivers=[ids['receiver']],
                        controls=[{'href': base + '/x-nmos/connection/v1.1/',
                                   'type': 'urn:x-nmos:control:sr-ctrl/v1.1',
                                   'authorization': False}])),
        ('source', core('source', caps={}, device_id=ids['device'], parents=[],
                        clock_name=None, format='urn:x-nmos:format:data')),
        ('flow', core('flow', source_id=ids['source'], device_id=ids['device'], parents=[],
                      format='urn:x-nmos:format:data', media_type='application/json')),
        ('sender', core('sender', flow_id=ids['flow'], transport='urn:x-nmos:transport:websocket',
                        device_id=ids['device'], interface_bindings=[],
                        manifest_href=base + '/x-nmos/connection/v1.1/single/senders/' +
                        ids['sender'] + '/transportfile',
                        subscription={'receiver_id': None, 'active': False})),
        ('receiver', core('receiver', device_id=ids['device'],
                          transport='urn:x-nmos:transport:websocket',
                          format='urn:x-nmos:format:data',
                          caps={'media_types': ['application/json']}, interface_bindings=[],
                          subscription={'sender_id': None, 'active': False})),
    ]


def node_only(inside, label):
    ids, res = resources(inside, label)
    return ids['node'], res[0][1]


class Client:
    def __init__(self, a):
        self.a = a
        self.V = Verdict()
        self.seen = Seen()
        self.f = Front(a.front, a.ca, self.seen)
        self.hp = a.front
        self.hb = None
        self.ctx = {}

    def on_front(self, url, path=''):
        return isinstance(url, str) and url.startswith('https://%s%s' % (self.hp, path))

    def section(self, name, fn):
        try:
            fn()
        except Exception as e:
            at = [t for t in traceback.extract_tb(e.__traceback__)
                  if t.filename.endswith('nmos_client.py')][-1]
            self.V.need(False, '%s: the client ran through it' % name,
                        '%s: %s (nmos_client.py line %d, %s)' % (type(e).__name__, e,
                                                                 at.lineno, at.line))

    # ---- IS-04 Node API ----
    def node_api(self):
        V, f = self.V, self.f
        r = f.get(X + '/node/v1.3/self')
        V.need(r.status == 200 and r.json.get('id') == fx.NODE_ID,
               'IS-04 Node API /self: 200, the fixture node', r.brief())
        eps = r.json['api']['endpoints']
        V.need(eps and all(e['protocol'] == 'https' and e['host'] == f.host and
                           e['port'] == f.port for e in eps),
               'Node API /self: api.endpoints[] https, the front\'s host and port', eps)
        V.need(r.json['href'] == 'https://%s/' % self.hp, 'Node API /self: href on the front',
               r.json['href'])
        got = {}
        for t in ('sources', 'flows', 'devices', 'senders', 'receivers'):
            r = f.get('%s/node/v1.3/%s/' % (X, t))
            got[t] = r.json if r.status == 200 and isinstance(r.json, list) else None
        V.need(all(got.values()), 'Node API: the five collections, 200 and not empty',
               {t: v is not None for t, v in got.items()})
        dev = [d for d in got['devices'] or [] if d['id'] == fx.DEVICE_ID]
        ctl = [c['href'] for d in dev for c in d['controls']
               if c['type'] == 'urn:x-nmos:control:sr-ctrl/v1.1']
        V.need(ctl == ['https://%s%s/connection/v1.1/' % (self.hp, X)],
               'Node API devices: the IS-05 control href (urn:x-nmos:control:sr-ctrl/v1.1) '
               'is https on the front', ctl)
        self.ctx['conn'] = ctl[0] if ctl else 'https://%s%s/connection/v1.1/' % (self.hp, X)
        snd = [s for s in got['senders'] or [] if s['id'] == fx.SENDER_ID]
        self.ctx['manifest'] = snd[0]['manifest_href'] if snd else None
        V.need(snd and self.on_front(snd[0]['manifest_href'], X + '/connection/v1.1/single/'),
               'Node API senders: manifest_href https on the front', snd)
        r = f.get('%s/node/v1.3/devices/%s' % (X, fx.DEVICE_ID))
        V.need(r.status == 200 and r.json['id'] == fx.DEVICE_ID, 'Node API devices/{id}: 200',
               r.brief())
        r = f.get('%s/node/v1.3/senders/%s' % (X, uuid.uuid4()))
        V.need(r.status == 404 and is_error_body(r.json, 404),
               'Node API senders/{unknown}: 404 with an NMOS error body', r.brief())
        target = '%s/node/v1.3/receivers/%s/target' % (X, fx.RECEIVER_ID)
        r = f.request('PUT', target, snd[0] if snd else {})
        r2 = f.get('%s/node/v1.3/receivers/%s' % (X, fx.RECEIVER_ID))
        r3 = f.request('PUT', target, {})
        r4 = f.get('%s/node/v1.3/receivers/%s' % (X, fx.RECEIVER_ID))
        V.need(r.status == 202 and (r.json or {}).get('id') == fx.SENDER_ID and
               (r2.json or {}).get('subscription') == {'sender_id': fx.SENDER_ID, 'active': True}
               and r3.status == 202 and (r4.json or {}).get('subscription') ==
               {'sender_id': None, 'active': False},
               'Node API PUT receivers/{id}/target: a sender -> 202, the receiver subscribed; '
               '{} -> 202, unsubscribed', [r.brief(), r2.brief(), r3.brief(), r4.brief()])

    # ---- IS-04 Registration API ----
    def register(self, t, data):
        return self.f.post(X + '/registration/v1.3/resource', {'type': t, 'data': data})

    def registration(self):
        V, f = self.V, self.f
        ids, res = resources(self.a.inside, 'client')
        self.ctx['ids'], self.ctx['res'] = ids, dict(res)
        out = []
        for t, d in res:
            r = self.register(t, d)
            loc = '%s/registration/v1.3/resource/%ss/%s' % (X, t, d['id'])
            out.append((t, r.status, r.header('Location') == 'https://%s%s' % (self.hp, loc),
                        isinstance(r.json, dict) and r.json.get('id') == d['id']))
        V.need(all(s == 201 and loc and same for _, s, loc, same in out),
               'Registration API: node, device, source, flow, sender, receiver registered: '
               '201 each, Location https on the front, the resource echoed', out)
        self.hb = Heartbeat(Front(self.hp, self.a.ca, self.seen), ids['node'])
        self.hb.start()
        node = dict(self.ctx['res']['node'], version=tai_version(), label='client node v2')
        self.ctx['res']['node'] = node
        r = self.register('node', node)
        V.need(r.status == 200 and r.header('Location') and
               r.header('Location').startswith('https://%s/' % self.hp),
               'Registration API: the same node again (new version) -> 200 (updated), '
               'Location on the front', r.brief())
        bad = [
            ('an unknown type', {'type': 'widget', 'data': node}),
            ('no data', {'type': 'node'}),
            ('a node without label', {'type': 'node', 'data': {
                k: v for k, v in node.items() if k != 'label'}}),
            ('a node whose api.endpoints[].port is a string', {'type': 'node', 'data': dict(
                node, api={'versions': ['v1.3'], 'endpoints': [
                    {'host': 'h', 'port': '80', 'protocol': 'http'}]})}),
            ('a device whose node is not registered', {'type': 'device', 'data': dict(
                self.ctx['res']['device'], id=str(uuid.uuid4()), node_id=str(uuid.uuid4()))}),
        ]
        got = []
        for why, doc in bad:
            r = f.post(X + '/registration/v1.3/resource', doc)
            got.append((why, r.status, is_error_body(r.json, 400)))
        V.need(all(s == 400 and body for _, s, body in got),
               'Registration API: bad registrations -> 400 with an NMOS error body '
               '(unknown type, no data, a required member missing or mistyped, parent '
               'not registered)', got)
        r = self.register('receiver', dict(self.ctx['res']['receiver'], id=ids['sender']))
        V.need(r.status == 409 and (r.header('Location') or '').endswith(
            '/resource/senders/' + ids['sender']) and self.on_front(r.header('Location')),
            'Registration API: an id registered as another type -> 409, Location (on the '
            'front) the existing resource', r.brief())
        hb = '%s/registration/v1.3/health/nodes/' % X
        r = f.post(hb + ids['node'], None, raw=b'')
        V.need(r.status == 200 and str(r.json.get('health', '')).isdigit(),
               'Registration API: heartbeat POST health/nodes/{id} -> 200 with health',
               r.brief())
        r2 = f.get(hb + ids['node'])
        r3 = f.post(hb + str(uuid.uuid4()), None, raw=b'')
        V.need(r2.status == 200 and r3.status == 404 and is_error_body(r3.json, 404),
               'Registration API: GET health 200; a heartbeat for a node never registered '
               '-> 404', [r2.brief(), r3.brief()])
        r = f.get('%s/registration/v1.3/resource/nodes/%s' % (X, ids['node']))
        V.need(r.status == 200 and r.json['label'] == 'client node v2',
               'Registration API: GET resource/nodes/{id} -> the updated node', r.brief())

    # ---- IS-04 Query API ----
    def query(self):
        V, f, ids = self.V, self.f, self.ctx['ids']
        q = X + '/query/v1.3/'
        r = f.get(q + 'nodes')
        every = [n['id'] for n in r.json or []]
        V.need(r.status == 200 and {ids['node'], fx.NODE_ID} <= set(every),
               'Query API nodes: the registered node and the fixture node', every)
        mine = [n for n in r.json or [] if n['id'] == ids['node']]
        V.need(mine and mine[0]['href'] == 'https://%s/' % self.hp,
               'Query API nodes: the registered node\'s href (registered as %s) is on the front'
               % self.ctx['res']['node']['href'], mine and mine[0]['href'])
        r = f.get(q + 'nodes?label=' + quote('client node v2'))
        V.need(r.status == 200 and [n['id'] for n in r.json] == [ids['node']],
               'Query API basic query ?label= -> exactly that node', r.brief())
        r = f.get(q + 'devices?node_id=' + ids['node'])
        V.need(r.status == 200 and [d['id'] for d in r.json] == [ids['device']],
               'Query API basic query devices?node_id= -> its device', r.brief())
        r = f.get(q + 'senders/' + ids['sender'])
        r2 = f.get(q + 'receivers/' + str(uuid.uuid4()))
        V.need(r.status == 200 and r.json['id'] == ids['sender'] and r2.status == 404 and
               is_error_body(r2.json, 404), 'Query API senders/{id} 200, receivers/{unknown} '
               '404 with an NMOS error body', [r.brief(), r2.brief()])
        r = f.get(q + 'nodes?query.rql=' + quote('eq(label,x)'))
        V.need(r.status == 501, 'Query API: RQL, which the fixture has not, -> 501', r.brief())
        self.paging(every)

    def paging(self, every):
        V, f = self.V, self.f
        r = f.get(X + '/query/v1.3/nodes?paging.limit=1')
        lk = links(r.header('Link'))
        V.need(r.status == 200 and len(r.json) == 1 and r.header('X-Paging-Limit') == '1' and
               TS.match(r.header('X-Paging-Since') or '') and 'prev' in lk,
               'Query API paging.limit=1: one node, X-Paging-* headers, a Link rel="prev"',
               [r.brief(), r.header('Link')])
        V.need(lk and all(self.on_front(u, X + '/query/v1.3/nodes') for u in lk.values()),
               'Query API paging: every Link URL is https on the front', r.header('Link'))
        got = [n['id'] for n in r.json]
        try:
            for _ in range(len(every) + 2):
                if 'prev' not in lk:
                    break
                r = f.get(lk['prev'])
                if r.status != 200 or not r.json:
                    break
                got += [n['id'] for n in r.json]
                lk = links(r.header('Link'))
        except OffFront as e:
            got.append('off the front: %s' % e)
        V.need(sorted(got) == sorted(every),
               'Query API paging: following rel="prev" from a one-node page walks every node',
               {'pages': got, 'all': every})

    # ---- subscriptions and their websockets ----
    def subscribe(self, path, params, persist, rate=100):
        return self.f.post(X + '/query/v1.3/subscriptions', {
            'max_update_rate_ms': rate, 'resource_path': path, 'params': params,
            'persist': persist, 'secure': True})

    def subscriptions(self):
        V, f = self.V, self.f
        r = self.subscribe('/nodes', {}, False)
        sub = r.json or {}
        V.need(r.status == 201 and self.on_front(r.header('Location')) and
               str(sub.get('ws_href', '')).startswith('wss://%s/' % self.hp) and
               sub.get('secure') is True and sub.get('resource_path') == '/nodes',
               'Query API POST subscriptions (secure) -> 201, Location on the front, ws_href '
               'wss on the front, secure true', r.brief())
        r2 = self.subscribe('/nodes', {}, False)
        V.need(r2.status == 200 and (r2.json or {}).get('id') == sub.get('id'),
               'Query API: the identical subscription again -> 200, the same one', r2.brief())
        r3 = f.get('%s/query/v1.3/subscriptions/%s' % (X, sub.get('id')))
        r4 = self.subscribe('/widgets', {}, False)
        V.need(r3.status == 200 and r3.json.get('ws_href') == sub.get('ws_href') and
               r4.status == 400 and is_error_body(r4.json, 400),
               'Query API: GET subscriptions/{id} -> it; a resource_path not in the API -> 400',
               [r3.brief(), r4.brief()])
        ws = Ws(f, sub['ws_href'], self.seen)
        V.need(ws.open, 'the subscription\'s wss ws_href opens through the front (101, '
               'Sec-WebSocket-Accept right)', ws.status)
        g = ws.grain()
        items = g['grain']['data'] if g else []
        V.need(g and g['grain_type'] == 'event' and g['flow_id'] == sub['id'] and
               g['grain']['topic'] == '/nodes/' and
               all(it['pre'] == it['post'] for it in items) and
               {self.ctx['ids']['node'], fx.NODE_ID} <= {it['path'] for it in items},
               'websocket: the sync grain on connect: event, topic /nodes/, pre == post for '
               'every node, the registered one among them', g and g.get('grain'))
        self.changes(ws)
        self.expiry(ws)
        r = f.delete('%s/query/v1.3/subscriptions/%s' % (X, sub['id']))
        V.need(r.status == 403 and is_error_body(r.json, 403),
               'Query API: DELETE a non-persistent subscription -> 403', r.brief())
        V.need(ws.close(), 'websocket: the close handshake completes through the front')
        r = f.get('%s/query/v1.3/subscriptions/%s' % (X, sub['id']))
        V.need(r.status == 404, 'Query API: the non-persistent subscription went with its '
               'last socket -> 404', r.brief())

    def changes(self, ws):
        V = self.V
        mid, m = node_only(self.a.inside, 'transient')
        r = self.register('node', m)
        it = ws.wait_item(lambda i: i['path'] == mid)
        V.need(r.status == 201 and it and 'post' in it and 'pre' not in it and
               it['post']['label'] == m['label'] and it['post']['href'] == 'https://%s/' % self.hp,
               'websocket: a node registered -> a grain with post only (its href on the front)',
               it)
        m2 = dict(m, version=tai_version(), label='transient node v2')
        r = self.register('node', m2)
        it = ws.wait_item(lambda i: i['path'] == mid)
        V.need(r.status == 200 and it and it.get('pre', {}).get('label') == m['label'] and
               it.get('post', {}).get('label') == m2['label'],
               'websocket: the node updated -> a grain with pre (old) and post (new)', it)
        reg = '%s/registration/v1.3/resource/nodes/%s' % (X, mid)
        r = self.f.delete(reg)
        it = ws.wait_item(lambda i: i['path'] == mid)
        V.need(r.status == 204 and it and 'post' not in it and
               it.get('pre', {}).get('label') == m2['label'],
               'websocket: the node deleted (204) -> a grain with pre only', [r.brief(), it])
        r1 = self.f.get('%s/query/v1.3/nodes/%s' % (X, mid))
        r2 = self.f.get(reg)
        r3 = self.f.delete(reg)
        V.need([r1.status, r2.status, r3.status] == [404, 404, 404],
               'after the DELETE: Query API 404, Registration API GET 404, DELETE again 404',
               [r1.brief(), r2.brief(), r3.brief()])

    def expiry(self, ws):
        V = self.V
        eid, e = node_only(self.a.inside, 'silent')
        r = self.register('node', e)
        wait = self.a.expiry_ms / 1000.0 * 4 + 30
        it1 = ws.wait_item(lambda i: i['path'] == eid and 'post' in i)
        it2 = ws.wait_item(lambda i: i['path'] == eid and 'post' not in i, timeout=wait)
        r2 = self.f.get('%s/query/v1.3/nodes/%s' % (X, eid))
        r3 = self.f.get('%s/query/v1.3/nodes/%s' % (X, self.ctx['ids']['node']))
        V.need(r.status == 201 and it1 and it2 and 'pre' in it2 and r2.status == 404,
               'a node that never heartbeats expires: a grain with pre only, then Query API 404',
               [r.brief(), it2, r2.brief()])
        V.need(r3.status == 200 and self.hb.sent > 0 and not self.hb.bad,
               'the heartbeated node is still registered (%d heartbeats, all 200)'
               % self.hb.sent, [r3.brief(), self.hb.bad[:2]])

    # ---- IS-05 ----
    def connection(self):
        V, f = self.V, self.f
        base = self.ctx['conn']
        r = f.get(base)
        V.need(r.status == 200 and sorted(r.json) == ['bulk/', 'single/'],
               'IS-05 via the device\'s control href: [bulk/, single/]', r.brief())
        r = f.get(base + 'single/senders/')
        V.need(r.status == 200 and fx.SENDER_ID + '/' in r.json, 'IS-05 single/senders/ lists '
               'the sender', r.brief())
        s = '%ssingle/senders/%s/' % (base, fx.SENDER_ID)
        r = f.get(s)
        r2 = f.get(s + 'constraints')
        r3 = f.get(s + 'transporttype')
        V.need(r.status == 200 and 'transportfile/' in r.json and r2.status == 200 and
               len(r2.json) == 1 and 'destination_port' in r2.json[0] and
               r3.json == 'urn:x-nmos:transport:rtp',
               'IS-05 sender: its endpoints, constraints (one leg), transporttype',
               [r.brief(), r2.brief(), r3.brief()])
        sub = self.subscribe('/senders', {'device_id': fx.DEVICE_ID}, True, rate=0).json or {}
        ws = Ws(f, sub.get('ws_href', ''), self.seen)
        g = ws.grain()
        V.need(g and [it['path'] for it in g['grain']['data']] == [fx.SENDER_ID],
               'a persistent subscription to /senders?device_id=: its sync grain holds just '
               'that device\'s sender (params filter)', g and g['grain'])
        self.sender_patch(s, ws)
        self.receiver_patch(base)
        self.bulk(base, s)
        r = f.delete('%s/query/v1.3/subscriptions/%s' % (X, sub.get('id')))
        while r.status == 204 and ws.grain(30) is not None:
            pass  # grains sent before the close (the bulk activation's)
        closed = ws.got_close
        ws.s.close()
        r2 = f.get('%s/query/v1.3/subscriptions/%s' % (X, sub.get('id')))
        V.need(r.status == 204 and closed and r2.status == 404,
               'Query API: DELETE a persistent subscription -> 204, its socket closed, then 404',
               [r.brief(), r2.brief()])

    def sender_patch(self, s, ws):
        V, f = self.V, self.f
        bad = [('an unknown member', {'master_enable': True, 'colour': 'red'}),
               ('master_enable a string', {'master_enable': 'yes'}),
               ('a port outside the constraints', {'transport_params': [
                   {'destination_port': 6000}]}),
               ('two legs for a one-leg sender', {'transport_params': [{}, {}]}),
               ('an unknown activation mode', {'activation': {'mode': 'activate_now'}}),
               ('a transport parameter a sender has not', {'transport_params': [
                   {'multicast_ip': '239.1.1.1'}]})]
        got = []
        for why, doc in bad:
            r = f.patch(s + 'staged', doc)
            got.append((why, r.status, is_error_body(r.json, 400)))
        r = f.get(s + 'staged')
        V.need(all(st == 400 and body for _, st, body in got) and r.json['master_enable'] is False,
               'IS-05 PATCH staged refused with 400 and an NMOS error body (unknown member, '
               'wrong type, outside the constraints, wrong number of legs, bad mode, a '
               'parameter of receivers); staged unchanged', got)
        p = {'master_enable': True, 'transport_params': [
            {'destination_ip': '239.10.10.10', 'destination_port': 5010}],
            'activation': {'mode': 'activate_immediate', 'requested_time': None}}
        r = f.patch(s + 'staged', p)
        act = (r.json or {}).get('activation', {})
        V.need(r.status == 200 and act.get('mode') == 'activate_immediate' and
               TS.match(act.get('activation_time') or ''),
               'IS-05 PATCH staged activate_immediate -> 200 with the activation time', r.brief())
        a = f.get(s + 'active').json
        leg = a['transport_params'][0]
        V.need(a['master_enable'] is True and leg['destination_ip'] == '239.10.10.10' and
               leg['destination_port'] == 5010 and leg['source_ip'] == fx.IFACE_IP and
               a['activation']['activation_time'] == act.get('activation_time'),
               'IS-05 GET active: the PATCH is active, "auto" resolved, the same activation '
               'time', a)
        st = f.get(s + 'staged').json
        V.need(st['activation']['mode'] is None, 'IS-05 staged after an immediate activation: '
               'activation reset', st['activation'])
        it = ws.wait_item(lambda i: i['path'] == fx.SENDER_ID)
        pre, post = (it or {}).get('pre', {}), (it or {}).get('post', {})
        V.need(pre.get('subscription', {}).get('active') is False and
               post.get('subscription', {}).get('active') is True and
               pre.get('version') != post.get('version'),
               'websocket: the activation re-registered the sender: a grain with pre (inactive) '
               'and post (active)', it)
        r = f.get(self.ctx['manifest'] or s + 'transportfile')
        sdp = r.body.decode('utf-8', 'replace')
        V.need(r.status == 200 and (r.header('Content-Type') or '').startswith('application/sdp')
               and 'c=IN IP4 239.10.10.10/' in sdp and '\nm=video 5010 ' in sdp,
               'IS-05 transportfile via the sender\'s manifest_href: SDP of the active '
               'parameters', r.brief()[:200])
        # The front here takes 64 KiB bodies; the fixture's SDP carries a 200 kB
        # pad attribute for the streaming checks: a controller passes the rest on.
        self.ctx['sdp'] = '\r\n'.join(ln for ln in sdp.split('\r\n')
                                      if not ln.startswith('a=x-castgate-pad:'))

    def receiver_patch(self, base):
        V, f = self.V, self.f
        rc = '%ssingle/receivers/%s/' % (base, fx.RECEIVER_ID)
        later = '%d:0' % (time.time() + 37 + 3600)
        r = f.patch(rc + 'staged', {'activation': {'mode': 'activate_scheduled_absolute',
                                                   'requested_time': later}})
        r2 = f.patch(rc + 'staged', {'master_enable': True})
        r3 = f.patch(rc + 'staged', {'activation': {'mode': None}})
        V.need(r.status == 202 and r.json['activation']['activation_time'] == later and
               r2.status == 423 and r3.status == 200 and r3.json['activation']['mode'] is None,
               'IS-05 receiver: activate_scheduled_absolute -> 202; a PATCH meanwhile -> 423; '
               'mode null cancels it -> 200', [r.brief(), r2.brief(), r3.brief()])
        r = f.patch(rc + 'staged', {
            'sender_id': fx.SENDER_ID, 'master_enable': True,
            'transport_file': {'data': self.ctx.get('sdp'), 'type': 'application/sdp'},
            'activation': {'mode': 'activate_scheduled_relative', 'requested_time': '0:100000000'}})
        V.need(r.status == 202 and TS.match(r.json['activation'].get('activation_time') or ''),
               'IS-05 receiver: the sender\'s SDP with activate_scheduled_relative -> 202 with '
               'the activation time', r.brief())
        a, end = None, time.monotonic() + 30
        while time.monotonic() < end:  # bounded wait for the scheduled activation
            a = f.get(rc + 'active').json
            if a.get('sender_id') == fx.SENDER_ID:
                break
            time.sleep(0.1)
        leg = (a or {}).get('transport_params', [{}])[0]
        V.need(a and a['sender_id'] == fx.SENDER_ID and a['master_enable'] is True and
               leg.get('multicast_ip') == '239.10.10.10' and leg.get('destination_port') == 5010
               and leg.get('interface_ip') == fx.IFACE_IP,
               'IS-05 receiver active after the scheduled activation: the sender, its SDP\'s '
               'multicast address and port, "auto" resolved', a)

    def bulk(self, base, s):
        V, f = self.V, self.f
        gone = str(uuid.uuid4())
        r = f.post(base + 'bulk/senders', [
            {'id': fx.SENDER_ID, 'params': {'master_enable': False, 'activation': {
                'mode': 'activate_immediate', 'requested_time': None}}},
            {'id': gone, 'params': {}}])
        a = f.get(s + 'active').json
        V.need(r.status == 200 and [(x['id'], x['code']) for x in r.json] ==
               [(fx.SENDER_ID, 200), (gone, 404)] and a['master_enable'] is False,
               'IS-05 bulk/senders: a result per item (200, 404 unknown); active follows',
               [r.brief(), a.get('master_enable')])

    # ---- deletes ----
    def deletes(self):
        V, f, ids = self.V, self.f, self.ctx['ids']
        reg = X + '/registration/v1.3/resource/'
        r = f.delete(reg + 'senders/' + ids['sender'])
        r2 = f.get(X + '/query/v1.3/senders/' + ids['sender'])
        V.need(r.status == 204 and r2.status == 404,
               'DELETE a sender -> 204, then Query API 404', [r.brief(), r2.brief()])
        self.hb.stopping.set()
        self.hb.join(30)
        r = f.delete(reg + 'nodes/' + ids['node'])
        left = [(t, f.get('%s/query/v1.3/%ss/%s' % (X, t, ids[t])).status)
                for t in ('node', 'device', 'source', 'flow', 'receiver')]
        V.need(r.status == 204 and all(st == 404 for _, st in left),
               'DELETE the node -> 204; it and its device, source, flow and receiver -> 404',
               [r.brief(), left])

    # ---- what the client saw ----
    def urls(self):
        V = self.V
        n, bad = self.seen.bad_urls(self.hp)
        V.need(n >= 40 and not bad,
               'every URL in every header and body the client saw (%d URLs in %d responses '
               'and the grains) is https or wss on %s' % (n, self.seen.nresp, self.hp),
               {'offending': bad[:4], 'of': len(bad)})
        kinds = {w.split(' header ')[1].lower() for w, t in self.seen.texts
                 if ' header ' in w and URL_RE.search(t)}
        grains = any(' grain ' in w and URL_RE.search(t) for w, t in self.seen.texts)
        V.need({'location', 'link'} <= kinds and grains,
               'the scan covered URLs in Location and Link headers and in grains', sorted(kinds))
        eps = self.seen.endpoints
        badeps = [(w, e) for w, e in eps if (e.get('protocol'), e.get('host'), e.get('port')) !=
                  ('https', self.f.host, self.f.port)]
        V.need(eps and not badeps, 'every api.endpoints[] entry seen (%d) is https on the front'
               % len(eps), badeps[:3])

    def run(self):
        self.section('Node API', self.node_api)
        self.section('Registration API', self.registration)
        if 'ids' in self.ctx:
            self.section('Query API', self.query)
            self.section('subscriptions', self.subscriptions)
        self.section('IS-05', self.connection)
        if 'ids' in self.ctx:
            self.section('deletes', self.deletes)
        if self.hb is not None:
            self.hb.stopping.set()
        self.section('URLs', self.urls)
        print('nmos_client: %d checks, %d failed' % (self.V.checks, self.V.fails), flush=True)
        return self.V.fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--front', required=True, help='HOST:PORT of the front (the TLS name)')
    ap.add_argument('--ca', required=True)
    ap.add_argument('--inside', required=True, help='HOST:PORT the fixture names itself by')
    ap.add_argument('--expiry-ms', type=int, default=12000, help="the fixture's --expiry-ms")
    sys.exit(1 if Client(ap.parse_args()).run() else 0)


if __name__ == '__main__':
    main()
