#!/usr/bin/env python3
"""A plain-HTTP/ws NMOS node + registry for the front's interop tests
(tests/interop/test_front*.sh, lib.sh start_nmos_fixture). It answers what a
client can tell the way the AMWA specs say, for what it implements:

- IS-04 v1.3 Node API (NodeAPI.raml): self, devices, sources, flows, senders,
  receivers and each by id (404 with an error body otherwise), PUT
  receivers/{id}/target (202); api.endpoints[], href, Device controls[] name
  this backend as http://127.0.0.1:PORT (the front rewrites them).
- IS-04 v1.3 Registration API (RegistrationAPI.raml): POST /resource 201 +
  Location on create, 200 on update, 400 on a missing or invalid type/data
  (the required members of each resource type checked) or a parent not
  registered, 409 (the spec's Conflict) for an id registered as another
  type; GET and DELETE
  /resource/{type}/{id} (204; a node's or device's children go with it), 404
  unknown; GET and POST /health/nodes/{id} (200 with health, 404 unknown);
  a node not heartbeated for --expiry-ms (default 12000, the spec's 12 s) is
  removed with its children. The fixture's own node is registered at start
  and keeps itself alive, and re-registers its resources when they change.
- IS-04 v1.3 Query API (QueryAPI.raml, "Query Parameters", "Websockets"):
  the six collections and each by id, basic queries (?label=, dotted
  names, arrays match on any element), paging (paging.limit/since/until/
  order, X-Paging-* and Link headers, absolute URLs on this backend as in the
  spec's example), query.rql and query.ancestry_* 501; subscriptions (201 +
  ws_href, 200 for an identical one, 501 for secure/authorization this plain
  server has not, GET/DELETE by id: 204, 403 non-persistent, 404) and their
  websocket: a sync grain (pre == post for each matching resource) on connect,
  then a grain per change (create: post; update: pre and post; delete or
  expiry: pre), at most one message per max_update_rate_ms. A non-persistent
  subscription goes when its last socket closes.
- IS-05 v1.1 Connection API (ConnectionAPI.raml, v1.1 schemas): single
  senders/receivers with constraints, staged (GET, PATCH validated against the
  staging schemas and the constraints: 400 with an error body), active,
  transportfile (senders, application/sdp) and transporttype; activation
  activate_immediate (200, activation_time, active changes at once, staged
  activation reset), activate_scheduled_relative/absolute (202, applied when
  due; 423 for a PATCH meanwhile unless it cancels with mode null); "auto"
  resolved in active; bulk senders/receivers (POST, a result per item). An
  activation updates the IS-04 subscription of the sender/receiver and the
  node re-registers it (a grain on a /senders or /receivers subscription).

Not an NMOS implementation beyond that: one API version (v1.3 / v1.1), no
IS-10, no query.downgrade across versions (only v1.3 resources exist), no
RTP redundancy (one leg). What is there for the front's sake, not the
specs': every response carries `Access-Control-Allow-Origin: *` like many
nodes (the front must replace it, B-25) and hop-by-hop headers (Keep-Alive,
one named in Connection) the front must drop; Node API senders and Query API
collections are sent chunked in 7-byte chunks; the sender's SDP carries a
200 kB `a=x-castgate-pad:` attribute (a large non-JSON body the front must
stream); a WebSocket upgrade on a path outside the Query API whose last
segment is a subscription id (a front's ws_prefix) gets a frame exercise
(the sync grain whole, a binary frame, the same grain in three fragments
with a ping between them, RFC 6455 section 5.4). Every request is logged as
a JSON line (method, path, headers, body length, client port) to LOGFILE.

Usage: nmos_fixture.py PORT LOGFILE [--expiry-ms N]
Importable (tests name the fixture node's ids): nothing runs on import."""
import argparse
import base64
import copy
import hashlib
import ipaddress
import json
import re
import socket
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode

# The fixture node's own resources: fixed ids (v4 UUIDs, as the schemas'
# pattern wants), so that tests can name them.
NODE_ID = '5b1a7d52-0c1e-4d2a-9e4f-000000000001'
DEVICE_ID = '5b1a7d52-0c1e-4d2a-9e4f-000000000002'
SOURCE_ID = '5b1a7d52-0c1e-4d2a-9e4f-000000000003'
FLOW_ID = '5b1a7d52-0c1e-4d2a-9e4f-000000000004'
SENDER_ID = '5b1a7d52-0c1e-4d2a-9e4f-000000000005'
RECEIVER_ID = '5b1a7d52-0c1e-4d2a-9e4f-000000000006'
QUERY_ID = '5b1a7d52-0c1e-4d2a-9e4f-000000000007'  # the Query API: grains' source_id
IFACE_IP = '192.0.2.10'  # the node's media interface (TEST-NET-1)
SDP_PAD = 200000
TYPES = ('nodes', 'devices', 'sources', 'flows', 'senders', 'receivers')

PORT = 0
BASE = WSBASE = ''
LOG = None
EXPIRY_S = 12.0
LOCK = threading.RLock()
REG = {t: {} for t in TYPES}  # the registry: id -> {'data', 'created', 'updated'}
HEALTH = {}                   # node id -> time.monotonic() of its last heartbeat
SUBS = {}                     # subscription id -> Sub
OWN = {t: {} for t in TYPES}  # the fixture node's resources (Node API)
CONN = {}                     # ('senders' | 'receivers', id) -> Connector

# ---- time: NMOS timestamps are TAI "seconds:nanoseconds" ----
TAI_OFFSET_NS = 37 * 10**9
TS_RE = re.compile(r'^([0-9]+):([0-9]+)$')
_last_stamp = 0


def tai_ns():
    return time.time_ns() + TAI_OFFSET_NS


def ts(ns):
    return '%d:%d' % (ns // 10**9, ns % 10**9)


def parse_ts(s):
    m = TS_RE.match(s) if isinstance(s, str) else None
    if m is None or int(m.group(2)) >= 10**9:
        raise ValueError('not a TAI timestamp "seconds:nanoseconds": %r' % (s,))
    return int(m.group(1)) * 10**9 + int(m.group(2))


def stamp():
    """A TAI time later than every one handed out before: resource versions
    and the registry's creation/update times (paging orders by these)."""
    global _last_stamp
    with LOCK:
        _last_stamp = max(_last_stamp + 1, tai_ns())
        return _last_stamp


# ---- IS-04 v1.3 resource schemas: the required members a client can miss ----
UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')


def is_uuid(v):
    return isinstance(v, str) and UUID_RE.match(v) is not None


def opt_uuid(v):
    return v is None or is_uuid(v)


def is_str(v):
    return isinstance(v, str)


def is_bool(v):
    return isinstance(v, bool)


def is_obj(v):
    return isinstance(v, dict)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def list_of(pred):
    return lambda v: isinstance(v, list) and all(pred(x) for x in v)


def is_url(v):
    return isinstance(v, str) and re.match(r'^(https?|wss?)://[^/\s]+', v) is not None


def is_version(v):
    return isinstance(v, str) and TS_RE.match(v) is not None


def is_tags(v):  # resource_core.json: tags values are arrays of strings
    return is_obj(v) and all(list_of(is_str)(x) for x in v.values())


def is_endpoint(v):  # node.json api.endpoints[]
    return (is_obj(v) and is_str(v.get('host')) and is_int(v.get('port')) and
            0 < v['port'] < 65536 and v.get('protocol') in ('http', 'https') and
            is_bool(v.get('authorization', False)))


def is_api(v):  # node.json api
    return (is_obj(v) and list_of(lambda x: is_str(x) and re.match(r'^v[0-9]+\.[0-9]+$', x))(
        v.get('versions')) and list_of(is_endpoint)(v.get('endpoints')))


def is_href_type(v):  # node.json services[], device.json controls[]
    return is_obj(v) and is_url(v.get('href')) and is_str(v.get('type'))


def is_format(v):
    return is_str(v) and v.startswith('urn:x-nmos:format:')


def sub_of(key):  # sender.json / receiver.json subscription (v1.2+)
    return lambda v: is_obj(v) and opt_uuid(v.get(key, 0)) and is_bool(v.get('active'))


CORE = [('id', is_uuid), ('version', is_version), ('label', is_str), ('description', is_str),
        ('tags', is_tags)]
SCHEMA = {  # schemas/{type}.json of IS-04 v1.3: required members and their shapes
    'node': [('href', is_url), ('api', is_api), ('services', list_of(is_href_type)),
             ('caps', is_obj), ('clocks', list_of(is_obj)), ('interfaces', list_of(is_obj))],
    'device': [('type', is_str), ('node_id', is_uuid), ('senders', list_of(is_uuid)),
               ('receivers', list_of(is_uuid)), ('controls', list_of(is_href_type))],
    'source': [('caps', is_obj), ('device_id', is_uuid), ('parents', list_of(is_uuid)),
               ('clock_name', lambda v: v is None or is_str(v)), ('format', is_format)],
    'flow': [('source_id', is_uuid), ('device_id', is_uuid), ('parents', list_of(is_uuid)),
             ('format', is_format)],
    'sender': [('flow_id', opt_uuid), ('transport', is_str), ('device_id', is_uuid),
               ('manifest_href', lambda v: v is None or is_url(v)),
               ('interface_bindings', list_of(is_str)), ('subscription', sub_of('receiver_id'))],
    'receiver': [('device_id', is_uuid), ('transport', is_str), ('format', is_format),
                 ('caps', is_obj), ('interface_bindings', list_of(is_str)),
                 ('subscription', sub_of('sender_id'))],
}
# The parents a resource names, registered first (IS-04 "Behaviour:
# Registration": a resource whose parent is not registered is refused, 400).
PARENTS = {'devices': [('node_id', 'nodes')], 'sources': [('device_id', 'devices')],
           'flows': [('source_id', 'sources'), ('device_id', 'devices')],
           'senders': [('device_id', 'devices')], 'receivers': [('device_id', 'devices')]}


def schema_error(rtype1, data):
    for key, ok in CORE + SCHEMA[rtype1]:
        if key not in data:
            return 'data.%s is required for a %s' % (key, rtype1)
        if not ok(data[key]):
            return 'data.%s is not valid for a %s: %s' % (key, rtype1, json.dumps(data[key])[:80])
    return None


# ---- the registry and its events ----
class Sub:
    def __init__(self, doc):
        self.id = doc['id']
        self.doc = doc
        self.clients = set()

    def key(self):  # "identical" (QueryAPI.raml POST /subscriptions 200)
        d = self.doc
        return (d['resource_path'], json.dumps(d['params'], sort_keys=True), d['persist'],
                d['secure'], d['max_update_rate_ms'], d['authorization'])


def matches(res, params):
    """IS-04 "Query Parameters", basic queries: each key (dotted for nested
    members) equals the value; an array matches when one element does."""
    for key, want in params.items():
        v = res
        for part in key.split('.'):
            v = v.get(part) if isinstance(v, dict) else None
        vals = v if isinstance(v, list) else [v]
        if not any(as_query_text(x) == str(want) for x in vals):
            return False
    return True


def as_query_text(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if v is None:
        return 'null'
    if isinstance(v, (dict, list)):
        return None
    return str(v)


def changed(rtype, rid, pre, post):
    """A registry change to every subscription on that resource type (LOCK
    held). Filtered subscriptions see a resource that stops matching as a
    removal (pre only) and one that starts matching as an addition (post)."""
    for sub in SUBS.values():
        if sub.doc['resource_path'] != '/' + rtype:
            continue
        item = {'path': rid}
        if pre is not None and matches(pre, sub.doc['params']):
            item['pre'] = pre
        if post is not None and matches(post, sub.doc['params']):
            item['post'] = post
        if len(item) > 1:
            for c in list(sub.clients):
                c.push(item)


def reg_put(rtype, data):
    """Register or update (LOCK held); True if created."""
    old = REG[rtype].get(data['id'])
    now = stamp()
    REG[rtype][data['id']] = {'data': data, 'created': old['created'] if old else now,
                              'updated': now}
    if rtype == 'nodes':
        HEALTH[data['id']] = time.monotonic()  # a registration starts the node's health
    changed(rtype, data['id'], old['data'] if old else None, data)
    return old is None


def reg_delete(rtype, rid):
    """Unregister a resource and, as IS-04 "Behaviour: Registration" says
    for a node that goes (DELETE or expiry), every resource under it."""
    old = REG[rtype].pop(rid, None)
    if old is None:
        return False
    HEALTH.pop(rid, None)
    changed(rtype, rid, old['data'], None)
    for ctype, links in PARENTS.items():
        for cid, c in list(REG[ctype].items()):
            if any(pt == rtype and c['data'].get(k) == rid for k, pt in links):
                reg_delete(ctype, cid)
    return True


def reaper():
    """Garbage collection: a node not heartbeated for EXPIRY_S goes with its
    children (IS-04 "Behaviour: Registration", 12 s by default)."""
    while True:
        time.sleep(min(0.5, EXPIRY_S / 4))
        with LOCK:
            if NODE_ID in REG['nodes']:
                HEALTH[NODE_ID] = time.monotonic()  # the fixture node heartbeats itself
            now = time.monotonic()
            for nid, last in list(HEALTH.items()):
                if now - last > EXPIRY_S:
                    reg_delete('nodes', nid)


def own_update(rtype, rid, fn):
    """A change to one of the node's own resources: new version, and the
    node re-registers it (LOCK held)."""
    data = copy.deepcopy(OWN[rtype][rid])
    fn(data)
    data['version'] = ts(stamp())
    OWN[rtype][rid] = data
    if NODE_ID in REG['nodes']:
        reg_put(rtype, copy.deepcopy(data))


def own_resources():
    v = ts(stamp())
    core = {'version': v, 'description': '', 'tags': {}}
    node = dict(core, id=NODE_ID, label='fixture node', href=BASE + '/', hostname='fixture.local',
                api={'versions': ['v1.3'], 'endpoints': [
                    {'host': '127.0.0.1', 'port': PORT, 'protocol': 'http', 'authorization': False}]},
                caps={}, services=[{'href': BASE + '/x-manufacturer/status/',
                                    'type': 'urn:x-manufacturer:service:status',
                                    'authorization': False}],
                clocks=[{'name': 'clk0', 'ref_type': 'internal'}],
                interfaces=[{'name': 'eth0', 'chassis_id': None, 'port_id': '02-00-00-00-00-01'}])
    device = dict(core, id=DEVICE_ID, label='fixture device', type='urn:x-nmos:device:generic',
                  node_id=NODE_ID, senders=[SENDER_ID], receivers=[RECEIVER_ID],
                  controls=[{'href': BASE + '/x-nmos/connection/v1.1/',
                             'type': 'urn:x-nmos:control:sr-ctrl/v1.1', 'authorization': False}])
    source = dict(core, id=SOURCE_ID, label='fixture source', caps={}, device_id=DEVICE_ID,
                  parents=[], clock_name='clk0', format='urn:x-nmos:format:video')
    flow = dict(core, id=FLOW_ID, label='fixture flow', source_id=SOURCE_ID, device_id=DEVICE_ID,
                parents=[], format='urn:x-nmos:format:video', media_type='video/raw',
                grain_rate={'numerator': 25, 'denominator': 1}, frame_width=1920,
                frame_height=1080, colorspace='BT709', interlace_mode='progressive',
                components=[{'name': n, 'width': w, 'height': 1080, 'bit_depth': 10}
                            for n, w in (('Y', 1920), ('Cb', 960), ('Cr', 960))])
    sender = dict(core, id=SENDER_ID, label='fixture sender', flow_id=FLOW_ID,
                  transport='urn:x-nmos:transport:rtp.mcast', device_id=DEVICE_ID,
                  manifest_href=BASE + '/x-nmos/connection/v1.1/single/senders/' + SENDER_ID +
                  '/transportfile', interface_bindings=['eth0'],
                  subscription={'receiver_id': None, 'active': False})
    receiver = dict(core, id=RECEIVER_ID, label='fixture receiver', device_id=DEVICE_ID,
                    transport='urn:x-nmos:transport:rtp.mcast', format='urn:x-nmos:format:video',
                    caps={'media_types': ['video/raw']}, interface_bindings=['eth0'],
                    subscription={'sender_id': None, 'active': False})
    return [('nodes', node), ('devices', device), ('sources', source), ('flows', flow),
            ('senders', sender), ('receivers', receiver)]


# ---- IS-05 v1.1 ----
SENDER_LEG = {'source_ip': 'auto', 'destination_ip': 'auto', 'source_port': 'auto',
              'destination_port': 'auto', 'rtp_enabled': True}
RECEIVER_LEG = {'source_ip': None, 'multicast_ip': None, 'interface_ip': 'auto',
                'destination_port': 'auto', 'rtp_enabled': True}
# constraints (constraints-schema.json): the parameters this fixture supports,
# with the limits a PATCH is checked against.
CONSTRAINTS = {
    'senders': [{'source_ip': {'enum': [IFACE_IP]}, 'destination_ip': {},
                 'source_port': {'minimum': 5000, 'maximum': 5999},
                 'destination_port': {'minimum': 5000, 'maximum': 5999}, 'rtp_enabled': {}}],
    'receivers': [{'source_ip': {}, 'multicast_ip': {}, 'interface_ip': {'enum': [IFACE_IP]},
                   'destination_port': {'minimum': 5000, 'maximum': 5999}, 'rtp_enabled': {}}],
}
# sender_transport_params_rtp.json / receiver_transport_params_rtp.json
AUTO = {'senders': {'source_ip', 'destination_ip', 'source_port', 'destination_port'},
        'receivers': {'interface_ip', 'destination_port'}}
NULLABLE = {'senders': set(), 'receivers': {'source_ip', 'multicast_ip'}}
RESOLVED = {'source_ip': IFACE_IP, 'interface_ip': IFACE_IP, 'destination_ip': '239.100.0.1',
            'source_port': 5004, 'destination_port': 5004}
MODES = (None, 'activate_immediate', 'activate_scheduled_absolute', 'activate_scheduled_relative')


def null_activation():
    return {'mode': None, 'requested_time': None, 'activation_time': None}


def param_error(kind, key, v, con):
    if v == 'auto' and key in AUTO[kind]:
        return None
    if v is None and key in NULLABLE[kind]:
        return None
    if key == 'rtp_enabled':
        ok = is_bool(v)
    elif key.endswith('_port'):
        ok = is_int(v) and 0 <= v <= 65535
    else:  # *_ip
        try:
            ok = is_str(v) and ipaddress.ip_address(v) is not None
        except ValueError:
            ok = False
    if not ok:
        return '%s: %s is not a valid value' % (key, json.dumps(v))
    if 'enum' in con and v not in con['enum']:
        return '%s: %s is not one of %s (constraints)' % (key, json.dumps(v), con['enum'])
    if ('minimum' in con and v < con['minimum']) or ('maximum' in con and v > con['maximum']):
        return '%s: %s is outside %s..%s (constraints)' % (key, v, con.get('minimum'),
                                                            con.get('maximum'))
    return None


def sdp_params(sdp):
    """A receiver's transport parameters from an SDP file (IS-05 "Interpretation
    of SDP files": c= multicast address, m= port, a=source-filter source)."""
    out = {}
    for line in sdp.splitlines():
        if line.startswith('c=IN IP'):
            out['multicast_ip'] = line.split()[2].split('/')[0]
        elif line.startswith('m=') and len(line.split()) > 1 and line.split()[1].isdigit():
            out['destination_port'] = int(line.split()[1])
        elif line.startswith('a=source-filter:') and len(line.split()) >= 6:
            out['source_ip'] = line.split()[5]
    return out


class Connector:
    """A sender's or receiver's IS-05 state (LOCK held in every method)."""

    def __init__(self, kind, rid):
        self.kind, self.id = kind, rid
        self.peer = 'receiver_id' if kind == 'senders' else 'sender_id'
        leg = SENDER_LEG if kind == 'senders' else RECEIVER_LEG
        self.staged = {self.peer: None, 'master_enable': False, 'activation': null_activation(),
                       'transport_params': [dict(leg)]}
        if kind == 'receivers':
            self.staged['transport_file'] = {'data': None, 'type': None}
        self.active = self.resolved(null_activation())
        self.timer = None

    def resolved(self, activation):
        a = copy.deepcopy(self.staged)
        a['activation'] = activation
        for leg in a['transport_params']:
            for k, v in leg.items():
                if v == 'auto':
                    leg[k] = RESOLVED[k]
        return a

    def patch_error(self, doc):
        """The staging schemas (sender-stage-schema.json, receiver-stage-schema.json,
        additionalProperties false) and the constraints."""
        if not is_obj(doc):
            return 'the body must be a JSON object'
        allowed = {self.peer, 'master_enable', 'activation', 'transport_params'}
        if self.kind == 'receivers':
            allowed.add('transport_file')
        extra = sorted(set(doc) - allowed)
        if extra:
            return 'unknown member(s) %s (allowed: %s)' % (extra, sorted(allowed))
        if self.peer in doc and not opt_uuid(doc[self.peer]):
            return '%s must be a UUID or null' % self.peer
        if 'master_enable' in doc and not is_bool(doc['master_enable']):
            return 'master_enable must be true or false'
        err = self.activation_error(doc.get('activation', {}))
        if err:
            return err
        if 'transport_params' in doc:
            tp, cons = doc['transport_params'], CONSTRAINTS[self.kind]
            if not isinstance(tp, list) or len(tp) != len(cons):
                return 'transport_params must be an array of %d leg(s)' % len(cons)
            for leg, con in zip(tp, cons):
                if not is_obj(leg):
                    return 'transport_params[] must be objects'
                for k, v in leg.items():
                    if k not in con:
                        return 'transport_params: %s is not a parameter of this %s' % (
                            k, self.kind[:-1])
                    err = param_error(self.kind, k, v, con[k])
                    if err:
                        return 'transport_params: ' + err
        tf = doc.get('transport_file', {})
        if not is_obj(tf) or set(tf) - {'data', 'type'}:
            return 'transport_file must be an object with data and type'
        if tf.get('data') is not None and (not is_str(tf['data']) or
                                           tf.get('type') != 'application/sdp'):
            return 'transport_file.data must be a string of type application/sdp'
        return None

    @staticmethod
    def activation_error(act):
        if not is_obj(act) or set(act) - {'mode', 'requested_time'}:
            return 'activation must be an object with mode and requested_time'
        mode, rt = act.get('mode'), act.get('requested_time')
        if mode not in MODES:
            return 'activation.mode must be one of %s' % (MODES,)
        if rt is not None:
            try:
                parse_ts(rt)
            except ValueError as e:
                return 'activation.requested_time: %s' % e
        if mode == 'activate_immediate' and rt is not None:
            return 'activation.requested_time must be null for activate_immediate'
        if mode in MODES[2:] and rt is None:
            return 'activation.requested_time is required for %s' % mode
        return None

    def patch(self, doc):
        """Apply a valid PATCH: (status, body) per ConnectionAPI.raml staged patch."""
        act = doc.get('activation')
        cancel = act is not None and act.get('mode') is None
        if self.timer is not None:
            if not cancel:
                return 423, error_body(423, 'a scheduled activation is pending; PATCH '
                                       'activation.mode null to cancel it first')
            self.timer.cancel()
            self.timer = None
            self.staged['activation'] = null_activation()
        for k in (self.peer, 'master_enable'):
            if k in doc:
                self.staged[k] = doc[k]
        given = [dict(x) for x in doc.get('transport_params', [{}] * len(self.staged['transport_params']))]
        if self.kind == 'receivers' and 'transport_file' in doc:
            self.staged['transport_file'].update(doc['transport_file'])
            if doc['transport_file'].get('data'):
                from_sdp = sdp_params(doc['transport_file']['data'])
                given[0] = dict(from_sdp, **given[0])  # explicit parameters win
        for leg, new in zip(self.staged['transport_params'], given):
            leg.update(new)
        mode = act.get('mode') if act else None
        if mode is None:
            return 200, self.staged
        now = tai_ns()
        if mode == 'activate_immediate':
            activation = {'mode': mode, 'requested_time': None, 'activation_time': ts(now)}
            self.activate(activation)
            body = dict(copy.deepcopy(self.staged), activation=activation)
            return 200, body
        at = parse_ts(act['requested_time'])
        if mode == 'activate_scheduled_relative':
            at += now
        self.staged['activation'] = {'mode': mode, 'requested_time': act['requested_time'],
                                     'activation_time': ts(at)}
        self.timer = threading.Timer(max(0.0, (at - now) / 1e9), self.fire)
        self.timer.daemon = True
        self.timer.start()
        return 202, self.staged

    def fire(self):
        with LOCK:
            if self.timer is None or threading.current_thread() is not self.timer:
                return
            self.timer = None
            self.activate(dict(self.staged['activation']))

    def activate(self, activation):
        """Staged becomes active ("auto" resolved), the staged activation is
        reset, and the IS-04 resource's subscription follows (re-registered)."""
        self.active = self.resolved(activation)
        self.staged['activation'] = null_activation()
        peer, on = self.staged[self.peer], self.staged['master_enable']
        own_update(self.kind, self.id,
                   lambda d: d.update(subscription={self.peer: peer, 'active': on}))

    def sdp(self):
        a = self.active
        leg = a['transport_params'][0]
        ipv = 'IP6' if ':' in leg['destination_ip'] else 'IP4'
        v = parse_ts(OWN['senders'][self.id]['version']) // 10**9
        return ('v=0\r\n'
                'o=- %d %d IN %s %s\r\n'
                's=fixture sender\r\n'
                't=0 0\r\n'
                'm=video %d RTP/AVP 96\r\n'
                'c=IN %s %s/64\r\n'
                'a=source-filter: incl IN %s %s %s\r\n'
                'a=rtpmap:96 raw/90000\r\n'
                'a=fmtp:96 sampling=YCbCr-4:2:2; width=1920; height=1080; exactframerate=25; '
                'depth=10; TCS=SDR; colorimetry=BT709; PM=2110GPM; SSN=ST2110-20:2017\r\n'
                'a=mediaclk:direct=0\r\n'
                'a=x-castgate-pad:%s\r\n') % (
                    v, v, ipv, leg['source_ip'], leg['destination_port'], ipv,
                    leg['destination_ip'], ipv, leg['destination_ip'], leg['source_ip'],
                    'z' * SDP_PAD)


def error_body(code, error, debug=None):  # the NMOS error schema (error.json)
    return {'code': code, 'error': error, 'debug': debug}


# ---- WebSocket (RFC 6455) ----
def frame_bytes(payload, opcode=1, fin=True, mask=None):
    """One frame (RFC 6455 section 5.2); a client's is masked with the 4
    bytes of mask (nmos_client.py sends these)."""
    n, b0, m = len(payload), (0x80 if fin else 0) | opcode, 0x80 if mask else 0
    if n < 126:
        h = struct.pack('!BB', b0, m | n)
    elif n < 65536:
        h = struct.pack('!BBH', b0, m | 126, n)
    else:
        h = struct.pack('!BBQ', b0, m | 127, n)
    if mask:
        return h + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return h + payload


def ws_accept(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
                                         .encode()).digest()).decode()


def read_frame(rfile):
    """(fin, opcode, payload) of a client frame, or None at EOF or garbage."""
    h = rfile.read(2)
    if len(h) < 2:
        return None
    n = h[1] & 0x7F
    if n == 126:
        n = struct.unpack('!H', rfile.read(2))[0]
    elif n == 127:
        n = struct.unpack('!Q', rfile.read(8))[0]
    if n > 1 << 20:
        return None
    mask = rfile.read(4) if h[1] & 0x80 else b'\0\0\0\0'
    data = rfile.read(n)
    if len(mask) < 4 or len(data) < n:
        return None
    return h[0] & 0x80, h[0] & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def grain(sub, items):  # queryapi-subscriptions-websocket.json
    now = ts(tai_ns())
    return {'grain_type': 'event', 'source_id': QUERY_ID, 'flow_id': sub.id,
            'origin_timestamp': now, 'sync_timestamp': now, 'creation_timestamp': now,
            'rate': {'numerator': 0, 'denominator': 1},
            'duration': {'numerator': 0, 'denominator': 1},
            'grain': {'type': 'urn:x-nmos:format:data.event',
                      'topic': sub.doc['resource_path'] + '/', 'data': items}}


class WsClient:
    """One socket on a subscription: changes queue here; a thread sends them,
    at most one grain per max_update_rate_ms (what comes meanwhile goes in
    the next grain's data, in order)."""

    def __init__(self, handler, sub):
        self.wfile, self.sub = handler.wfile, sub
        self.wlock = threading.Lock()
        self.cv = threading.Condition()
        self.items, self.closed = [], False
        self.close_sent = False

    def push(self, item):
        with self.cv:
            self.items.append(copy.deepcopy(item))
            self.cv.notify()

    def send(self, payload, opcode=1, fin=True):
        with self.wlock:
            self.wfile.write(frame_bytes(payload, opcode, fin))
            self.wfile.flush()

    def run(self):
        gap = self.sub.doc['max_update_rate_ms'] / 1000.0
        while True:
            with self.cv:
                self.cv.wait_for(lambda: self.items or self.closed)
                if self.closed:
                    return
                items, self.items = self.items, []
            try:
                self.send(json.dumps(grain(self.sub, items)).encode())
            except OSError:
                return
            with self.cv:
                self.cv.wait_for(lambda: self.closed, timeout=gap)

    def stop(self):
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def close(self, payload=b'\x03\xe8'):
        """Our close frame (once; RFC 6455 section 5.5.1)."""
        with self.cv:
            if self.close_sent:
                return
            self.close_sent = True
        try:
            self.send(payload, opcode=8)
        except OSError:
            pass


# ---- HTTP ----
def qparams(qs):
    return dict(parse_qsl(qs, keep_blank_values=True))


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def record(self, body):
        LOG.write(json.dumps({'method': self.command, 'path': self.path,
                              'headers': [[k, v] for k, v in self.headers.items()],
                              'body_len': len(body), 'client_port':
                              self.client_address[1]}) + '\n')

    def send(self, status, obj=None, ctype='application/json', chunked=False, extra=()):
        data = b'' if obj is None else (obj if isinstance(obj, bytes) else
                                       json.dumps(obj).encode())
        self.send_response(status)
        if status != 204:
            self.send_header('Content-Type', ctype)
        self.send_header('Access-Control-Allow-Origin', '*')
        self.send_header('Keep-Alive', 'timeout=5')
        self.send_header('X-Fixture-Hop', 'drop-me')
        self.send_header('Connection', 'keep-alive, X-Fixture-Hop')
        for k, v in extra:
            self.send_header(k, v)
        if status == 204:  # RFC 9110 section 8.6: no Content-Length on a 204
            self.end_headers()
            return
        body = self.command != 'HEAD'
        if chunked:
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for i in range(0, len(data) if body else 0, 7):  # small chunks on purpose
                part = data[i:i + 7]
                self.wfile.write(b'%x\r\n%s\r\n' % (len(part), part))
            if body:
                self.wfile.write(b'0\r\n\r\n')
        else:
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

    def error(self, code, msg, debug=None, extra=()):
        self.send(code, error_body(code, msg, debug), extra=extra)

    def do_GET(self):
        self.dispatch('GET')

    def do_HEAD(self):
        self.dispatch('HEAD')

    def do_POST(self):
        self.dispatch('POST')

    def do_PUT(self):
        self.dispatch('PUT')

    def do_PATCH(self):
        self.dispatch('PATCH')

    def do_DELETE(self):
        self.dispatch('DELETE')

    def do_OPTIONS(self):
        self.dispatch('OPTIONS')

    def dispatch(self, method):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else b''
        self.record(body)
        path, _, qs = self.path.partition('?')
        if method == 'GET' and self.headers.get('Upgrade', '').lower() == 'websocket':
            return self.websocket(path)
        p = path.rstrip('/') or '/'  # NMOS paths: with or without the trailing slash
        for rx, methods in ROUTES:
            m = rx.fullmatch(p)
            if m is None:
                continue
            allow = sorted(set(methods) | ({'HEAD'} if 'GET' in methods else set()))
            if method == 'OPTIONS':  # CORS preflight (IS-04 "APIs": CORS)
                return self.send(200, None, extra=[
                    ('Allow', ', '.join(allow)),
                    ('Access-Control-Allow-Methods', ', '.join(allow)),
                    ('Access-Control-Allow-Headers', 'Content-Type')])
            fn = methods.get('GET' if method == 'HEAD' else method)
            if fn is None:
                return self.error(405, '%s is not allowed on %s' % (method, p),
                                  extra=[('Allow', ', '.join(allow))])
            doc = None
            if method in ('POST', 'PUT', 'PATCH'):
                try:
                    doc = json.loads(body) if body else None
                except ValueError as e:
                    return self.error(400, 'the body is not JSON', str(e))
            return fn(self, *m.groups(), qs=qs, doc=doc)
        return self.error(404, 'no such path', p)

    # ---- WebSocket upgrades ----
    def accept_ws(self):
        self.send_response(101)
        self.send_header('Upgrade', 'websocket')
        self.send_header('Connection', 'Upgrade')
        self.send_header('Sec-WebSocket-Accept',
                         ws_accept(self.headers.get('Sec-WebSocket-Key', '')))
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True

    def websocket(self, path):
        m = re.fullmatch(r'/x-nmos/query/v1\.3/subscriptions/([^/]+)/?', path)
        sid = m.group(1) if m else path.rstrip('/').rsplit('/', 1)[-1]
        with LOCK:
            sub = SUBS.get(sid)
        if sub is None:
            return self.error(404, 'no such subscription', sid)
        self.accept_ws()
        if m is None:
            return self.frame_exercise(sub)
        client = WsClient(self, sub)
        with LOCK:  # the sync grain and the change queue from one registry state
            rtype = sub.doc['resource_path'][1:]
            items = [{'path': rid, 'pre': r['data'], 'post': r['data']}
                     for rid, r in REG[rtype].items() if matches(r['data'], sub.doc['params'])]
            first = json.dumps(grain(sub, items)).encode()
            sub.clients.add(client)
        closing = None
        try:
            client.send(first)
            threading.Thread(target=client.run, daemon=True).start()
            closing = self.ws_read(client)
        except OSError:
            pass
        finally:
            client.stop()
            with LOCK:  # a non-persistent subscription goes with its last socket
                sub.clients.discard(client)
                if not sub.doc['persist'] and not sub.clients and SUBS.get(sub.id) is sub:
                    del SUBS[sub.id]
        if closing is not None:
            client.close(closing)

    def ws_read(self, client):
        """Client frames until a close (its payload, echoed back) or EOF."""
        while True:
            f = read_frame(self.rfile)
            if f is None:
                return None
            _, op, data = f
            if op == 8:
                return data[:2]
            if op == 9:
                client.send(data, opcode=10)

    def frame_exercise(self, sub):
        """Not NMOS: the front's frame relay under a ws_prefix (see the top)."""
        with LOCK:
            rtype = sub.doc['resource_path'][1:]
            items = [{'path': rid, 'pre': r['data'], 'post': r['data']}
                     for rid, r in REG[rtype].items()]
        g = json.dumps(grain(sub, items)).encode()
        out = WsClient(self, sub)
        out.send(g)
        out.send(b'\x00\x01binary-untouched', opcode=2)
        third = len(g) // 3
        out.send(g[:third], opcode=1, fin=False)
        out.send(b'', opcode=9)
        out.send(g[third:2 * third], opcode=0, fin=False)
        out.send(g[2 * third:], opcode=0)
        try:  # until the client's close (its pong may come first), answered
            f = read_frame(self.rfile)
            while f is not None and f[1] != 8:
                f = read_frame(self.rfile)
            if f is not None:
                out.close()
        except OSError:
            pass


# ---- handlers: (handler, *path groups, qs=, doc=) ----
def listing(*items):
    return lambda h, qs, doc: h.send(200, list(items))


# IS-04 Node API
def node_self(h, qs, doc):
    with LOCK:
        body = OWN['nodes'][NODE_ID]
    h.send(200, body)


def node_list(h, rtype, qs, doc):
    with LOCK:
        body = list(OWN[rtype].values())
    h.send(200, body, chunked=rtype == 'senders')


def node_item(h, rtype, rid, qs, doc):
    with LOCK:
        r = OWN[rtype].get(rid)
    if r is None:
        return h.error(404, 'no such %s' % rtype[:-1], rid)
    h.send(200, r)


def node_target(h, rid, qs, doc):
    """NodeAPI.raml PUT /receivers/{id}/target: a sender object, or {} to
    unsubscribe; 202 with the request body."""
    if not is_obj(doc) or (doc and not is_uuid(doc.get('id'))):
        return h.error(400, 'the body must be a sender or {}')
    with LOCK:
        if rid not in OWN['receivers']:
            return h.error(404, 'no such receiver', rid)
        own_update('receivers', rid, lambda d: d.update(
            subscription={'sender_id': doc.get('id'), 'active': bool(doc)}))
    h.send(202, doc)


# IS-04 Registration API
def reg_location(rtype, rid):
    return ('Location', '%s/x-nmos/registration/v1.3/resource/%s/%s' % (BASE, rtype, rid))


def reg_post(h, qs, doc):
    if not is_obj(doc) or doc.get('type') not in SCHEMA:
        return h.error(400, 'type must be one of %s' % ', '.join(SCHEMA))
    t, d = doc['type'], doc.get('data')
    if not is_obj(d):
        return h.error(400, 'data must be a %s object' % t)
    err = schema_error(t, d)
    if err:
        return h.error(400, 'the %s does not match its schema' % t, err)
    rtype = t + 's'
    with LOCK:
        for key, ptype in PARENTS.get(rtype, []):
            if d[key] not in REG[ptype]:
                return h.error(400, 'the %s %s is not registered' % (ptype[:-1], d[key]),
                               'register a resource\'s parent first (%s)' % key)
        # RegistrationAPI.raml v1.3 409 Conflict (Location: the existing resource)
        # is for an id already registered otherwise (through another API version
        # in the spec); this one-version fixture gives it for an id of another type.
        for other in TYPES:
            if other != rtype and d['id'] in REG[other]:
                return h.error(409, 'the id is registered as a %s' % other[:-1],
                               extra=[reg_location(other, d['id'])])
        created = reg_put(rtype, copy.deepcopy(d))
    h.send(201 if created else 200, d, extra=[reg_location(rtype, d['id'])])


def reg_del(h, rtype, rid, qs, doc):
    with LOCK:
        gone = reg_delete(rtype, rid)
    if not gone:
        return h.error(404, 'no such %s registered' % rtype[:-1], rid)
    h.send(204)


def health(h, rid, qs, doc, beat=False):
    with LOCK:
        if rid not in REG['nodes']:  # the node must register (again)
            return h.error(404, 'no such node registered', rid)
        if beat:
            HEALTH[rid] = time.monotonic()
        last = time.time() - (time.monotonic() - HEALTH.get(rid, time.monotonic()))
    h.send(200, {'health': str(int(last))})


# IS-04 Query API
DEFAULT_LIMIT = MAX_LIMIT = 100


def query_list(h, rtype, qs, doc):
    params = qparams(qs)
    if 'query.rql' in params or any(k.startswith('query.ancestry') for k in params):
        return h.error(501, 'this Query API does not support RQL or ancestry queries')
    basic = {k: v for k, v in params.items() if not k.startswith(('paging.', 'query.'))}
    try:
        order = params.get('paging.order', 'update')
        if order not in ('update', 'create'):
            raise ValueError('paging.order must be update or create')
        limit = int(params.get('paging.limit', DEFAULT_LIMIT))
        if limit < 1:
            raise ValueError('paging.limit must be 1 or more')
        limit = min(limit, MAX_LIMIT)
        since = parse_ts(params['paging.since']) if 'paging.since' in params else None
        until = parse_ts(params['paging.until']) if 'paging.until' in params else None
    except ValueError as e:
        return h.error(400, 'bad query parameter', str(e))
    key = 'updated' if order == 'update' else 'created'
    with LOCK:
        rows = sorted(((r[key], r['data']) for r in REG[rtype].values()
                       if matches(r['data'], basic)), key=lambda x: x[0])
    page, psince, puntil = paged(rows, since, until, limit)
    link_q = dict(basic, **({'paging.order': order} if 'paging.order' in params else {}))

    def link(rel, **bounds):
        q = dict(link_q, **bounds)
        q['paging.limit'] = str(limit)
        return '<%s/x-nmos/query/v1.3/%s/?%s>; rel="%s"' % (BASE, rtype, urlencode(q), rel)
    h.send(200, [d for _, d in reversed(page)], chunked=True, extra=[
        ('X-Paging-Limit', str(limit)), ('X-Paging-Since', ts(psince)),
        ('X-Paging-Until', ts(puntil)),
        ('Link', ', '.join([link('prev', **{'paging.until': ts(psince)}),
                            link('next', **{'paging.since': ts(puntil)}),
                            link('first', **{'paging.since': '0:0'}), link('last')]))])


def paged(rows, since, until, limit):
    """IS-04 "Query Parameters", paging: a page is the resources whose time
    is in (since, until], newest first; with only since, the oldest `limit`
    after it, otherwise the newest `limit` up to until (default now).
    X-Paging-Since/Until bound the page exactly: rel=prev (until = since)
    and rel=next (since = until) give the pages beside it."""
    if since is not None and until is None:
        sel = [r for r in rows if r[0] > since]
        page = sel[:limit]
        return page, since, (page[-1][0] if len(sel) > limit else tai_ns())
    until = until if until is not None else tai_ns()
    sel = [r for r in rows if r[0] <= until and (since is None or r[0] > since)]
    page = sel[-limit:] if sel else []
    if len(sel) > limit:
        return page, sel[-limit - 1][0], until
    return page, (since if since is not None else 0), until


def registered(h, rtype, rid, qs, doc):
    """A registered resource: Query API /{type}/{id}, Registration API GET
    /resource/{type}/{id}; 404 with an error body otherwise."""
    with LOCK:
        r = REG[rtype].get(rid)
    if r is None:
        return h.error(404, 'no such %s' % rtype[:-1], rid)
    h.send(200, r['data'])


def sub_location(sid):
    return ('Location', '%s/x-nmos/query/v1.3/subscriptions/%s' % (BASE, sid))


def sub_post(h, qs, doc):
    """QueryAPI.raml POST /subscriptions (queryapi-subscriptions-post-request.json)."""
    if not is_obj(doc):
        return h.error(400, 'the body must be a subscription request object')
    need = {'max_update_rate_ms': lambda v: is_int(v) and v >= 0,
            'resource_path': lambda v: v in ['/' + t for t in TYPES],
            'params': lambda v: is_obj(v) and all(not isinstance(x, (dict, list))
                                                   for x in v.values()),
            'persist': is_bool}
    for k, ok in need.items():
        if k not in doc or not ok(doc[k]):
            return h.error(400, '%s is missing or not valid' % k, json.dumps(doc.get(k)))
    for k in ('secure', 'authorization'):
        if not is_bool(doc.get(k, False)):
            return h.error(400, '%s must be true or false' % k)
        if doc.get(k, False):  # 501: a combination this Query API does not support
            return h.error(501, 'this Query API has no %s websockets' % (
                'secure (wss)' if k == 'secure' else 'authorized'))
    sid = str(uuid.uuid4())
    new = Sub({'id': sid, 'ws_href': '%s/x-nmos/query/v1.3/subscriptions/%s' % (WSBASE, sid),
               'max_update_rate_ms': doc['max_update_rate_ms'], 'persist': doc['persist'],
               'resource_path': doc['resource_path'], 'params': doc['params'],
               'secure': False, 'authorization': False})
    with LOCK:
        for s in SUBS.values():
            if s.key() == new.key():
                return h.send(200, s.doc, extra=[sub_location(s.id)])
        SUBS[sid] = new
    h.send(201, new.doc, extra=[sub_location(sid)])


def sub_list(h, qs, doc):
    with LOCK:
        body = [s.doc for s in SUBS.values()]
    h.send(200, body)


def sub_get(h, sid, qs, doc):
    with LOCK:
        s = SUBS.get(sid)
    if s is None:
        return h.error(404, 'no such subscription', sid)
    h.send(200, s.doc)


def sub_delete(h, sid, qs, doc):
    with LOCK:
        s = SUBS.get(sid)
        if s is None:
            return h.error(404, 'no such subscription', sid)
        if not s.doc['persist']:  # QueryAPI.raml DELETE 403: the Query API manages these
            return h.error(403, 'a non-persistent subscription cannot be deleted')
        del SUBS[sid]
        clients = list(s.clients)
    for c in clients:  # its sockets close (1000)
        c.stop()
        c.close()
    h.send(204)


# IS-05 Connection API
def connector(h, kind, rid):
    with LOCK:
        c = CONN.get((kind, rid))
    if c is None:
        h.error(404, 'no such %s' % kind[:-1], rid)
    return c


def conn_ids(h, kind, qs, doc):
    with LOCK:
        body = [rid + '/' for (k, rid) in CONN if k == kind]
    h.send(200, body)


def conn_index(h, kind, rid, qs, doc):
    if connector(h, kind, rid) is None:
        return
    extra = ['transportfile/'] if kind == 'senders' else []
    h.send(200, ['constraints/', 'staged/', 'active/'] + extra + ['transporttype/'])


def conn_constraints(h, kind, rid, qs, doc):
    if connector(h, kind, rid) is not None:
        h.send(200, CONSTRAINTS[kind])


def conn_staged(h, kind, rid, qs, doc):
    c = connector(h, kind, rid)
    if c is not None:
        with LOCK:
            body = copy.deepcopy(c.staged)
        h.send(200, body)


def conn_patch(h, kind, rid, qs, doc):
    c = connector(h, kind, rid)
    if c is None:
        return
    with LOCK:
        err = c.patch_error(doc)
        if err:
            return h.error(400, 'the staged parameters are not valid', err)
        status, body = c.patch(doc)
        body = copy.deepcopy(body)
    h.send(status, body)


def conn_active(h, kind, rid, qs, doc):
    c = connector(h, kind, rid)
    if c is not None:
        with LOCK:
            body = copy.deepcopy(c.active)
        h.send(200, body)


def conn_transportfile(h, rid, qs, doc):
    c = connector(h, 'senders', rid)
    if c is not None:
        with LOCK:
            sdp = c.sdp().encode()
        h.send(200, sdp, ctype='application/sdp', chunked=True)


def conn_transporttype(h, kind, rid, qs, doc):
    if connector(h, kind, rid) is not None:  # v1.1: the transport, no subclassification
        h.send(200, 'urn:x-nmos:transport:rtp')


def conn_bulk(h, kind, qs, doc):
    """ConnectionAPI.raml POST /bulk/{senders,receivers}: [{id, params}] ->
    200 with a result (code, error) per item, in order."""
    if not isinstance(doc, list) or not all(is_obj(x) and 'id' in x and 'params' in x
                                            for x in doc):
        return h.error(400, 'the body must be an array of {id, params}')
    out = []
    with LOCK:
        for item in doc:
            c = CONN.get((kind, item['id']))
            if c is None:
                out.append({'id': item['id'], 'code': 404, 'error': 'no such %s' % kind[:-1]})
                continue
            err = c.patch_error(item['params'])
            if err:
                out.append({'id': item['id'], 'code': 400, 'error': err})
                continue
            status, body = c.patch(item['params'])
            out.append({'id': item['id'], 'code': status} if status < 400 else
                       {'id': item['id'], 'code': status, 'error': body['error']})
    h.send(200, out)


ID = r'([^/]+)'
T6 = r'(nodes|devices|sources|flows|senders|receivers)'
T5 = r'(devices|sources|flows|senders|receivers)'
SR = r'(senders|receivers)'
ROUTES = [(re.compile(p), m) for p, m in [
    (r'/', {'GET': listing('x-nmos/')}),
    (r'/x-nmos', {'GET': listing('node/', 'query/', 'registration/', 'connection/')}),
    (r'/x-nmos/node', {'GET': listing('v1.3/')}),
    (r'/x-nmos/node/v1\.3', {'GET': listing('self/', 'sources/', 'flows/', 'devices/',
                                            'senders/', 'receivers/')}),
    (r'/x-nmos/node/v1\.3/self', {'GET': node_self}),
    (r'/x-nmos/node/v1\.3/' + T5, {'GET': node_list}),
    (r'/x-nmos/node/v1\.3/' + T5 + '/' + ID, {'GET': node_item}),
    (r'/x-nmos/node/v1\.3/receivers/' + ID + '/target', {'PUT': node_target}),
    (r'/x-nmos/registration', {'GET': listing('v1.3/')}),
    (r'/x-nmos/registration/v1\.3', {'GET': listing('resource/', 'health/')}),
    (r'/x-nmos/registration/v1\.3/resource', {'POST': reg_post}),
    (r'/x-nmos/registration/v1\.3/resource/' + T6 + '/' + ID, {'GET': registered,
                                                                'DELETE': reg_del}),
    (r'/x-nmos/registration/v1\.3/health/nodes/' + ID,
     {'GET': health, 'POST': lambda h, rid, qs, doc: health(h, rid, qs, doc, beat=True)}),
    (r'/x-nmos/query', {'GET': listing('v1.3/')}),
    (r'/x-nmos/query/v1\.3', {'GET': listing('subscriptions/', 'flows/', 'sources/', 'nodes/',
                                             'devices/', 'senders/', 'receivers/')}),
    (r'/x-nmos/query/v1\.3/subscriptions', {'GET': sub_list, 'POST': sub_post}),
    (r'/x-nmos/query/v1\.3/subscriptions/' + ID, {'GET': sub_get, 'DELETE': sub_delete}),
    (r'/x-nmos/query/v1\.3/' + T6, {'GET': query_list}),
    (r'/x-nmos/query/v1\.3/' + T6 + '/' + ID, {'GET': registered}),
    (r'/x-nmos/connection', {'GET': listing('v1.1/')}),
    (r'/x-nmos/connection/v1\.1', {'GET': listing('bulk/', 'single/')}),
    (r'/x-nmos/connection/v1\.1/bulk', {'GET': listing('senders/', 'receivers/')}),
    (r'/x-nmos/connection/v1\.1/bulk/' + SR, {'POST': conn_bulk}),
    (r'/x-nmos/connection/v1\.1/single', {'GET': listing('senders/', 'receivers/')}),
    (r'/x-nmos/connection/v1\.1/single/' + SR, {'GET': conn_ids}),
    (r'/x-nmos/connection/v1\.1/single/' + SR + '/' + ID, {'GET': conn_index}),
    (r'/x-nmos/connection/v1\.1/single/' + SR + '/' + ID + '/constraints',
     {'GET': conn_constraints}),
    (r'/x-nmos/connection/v1\.1/single/' + SR + '/' + ID + '/staged',
     {'GET': conn_staged, 'PATCH': conn_patch}),
    (r'/x-nmos/connection/v1\.1/single/' + SR + '/' + ID + '/active', {'GET': conn_active}),
    (r'/x-nmos/connection/v1\.1/single/senders/' + ID + '/transportfile',
     {'GET': conn_transportfile}),
    (r'/x-nmos/connection/v1\.1/single/' + SR + '/' + ID + '/transporttype',
     {'GET': conn_transporttype}),
]]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    address_family = socket.AF_INET


def main():
    global PORT, BASE, WSBASE, LOG, EXPIRY_S
    ap = argparse.ArgumentParser(description='a plain-HTTP/ws NMOS node + registry fixture')
    ap.add_argument('port', type=int)
    ap.add_argument('logfile')
    ap.add_argument('--expiry-ms', type=int, default=12000,
                    help='a node without a heartbeat for this long is removed (12000)')
    a = ap.parse_args()
    PORT, EXPIRY_S = a.port, a.expiry_ms / 1000.0
    BASE, WSBASE = 'http://127.0.0.1:%d' % PORT, 'ws://127.0.0.1:%d' % PORT
    LOG = open(a.logfile, 'a', buffering=1)
    with LOCK:
        for rtype, data in own_resources():
            OWN[rtype][data['id']] = data
            reg_put(rtype, copy.deepcopy(data))  # the node registers itself
        CONN[('senders', SENDER_ID)] = Connector('senders', SENDER_ID)
        CONN[('receivers', RECEIVER_ID)] = Connector('receivers', RECEIVER_ID)
    threading.Thread(target=reaper, daemon=True).start()
    Server(('127.0.0.1', PORT), Handler).serve_forever()


if __name__ == '__main__':
    main()
