#!/usr/bin/env python3
"""castgate soak: the gateway in the WAN topology under mixed traffic and periodic faults.

    legacy NCS x N -> castgate A -> wss -> castgate B -> legacy device x N

One asyncio program plays all N legacy NCSs and all N legacy devices (MOS 2.x
over plain TCP in UCS-2BE, M-21), starts both gateways (journal on), injects a
fault every FAULT_MIN..FAULT_MAX seconds, samples both gateways' RSS and open
file descriptors, and at the end checks that every message was applied exactly
once and in order per link, channel and direction. Standard library only.

Per link i: ncsID NCSii, mosID DEVii, channels mom and ro, MOS 4.0 path
/mos/Lii. Every fifth link also carries device-originated messages (mosObj,
heartbeat on mom; roElementStat on ro) and runs in passive mode (A dials out,
M-08); the others run in standard mode. Every message is numbered per
link/channel/direction: its messageID is its sequence number, and its ID field
(roID/objID) carries a token "Lii.ch.dir.seq" the receiver checks, together
with the SHA-1 of its filler text (non-ASCII in about half the messages).

The legacy gear keeps what M-22 asks of it in a state file per endpoint
(messageIDs applied, last messageID sent and whether it was answered): a
device restart drops its memory and reads the file again, so a repeat after
the restart is recognised and answered with the original answer. Every
arrival is recorded before that (judge_repeats): a repeat must be explained
by a gateway SIGKILL or a device restart with that message in flight, at
most one per lane per fault; any other repeat, and any NACK, fails the run.

Faults rotate: wss cut (ss -K), SIGKILL + restart of a gateway, restart of a
tenth of the legacy devices, SIGHUP with an unchanged file (every link must
keep running), SIGTERM (drain) + restart. Gateway A takes the SIGKILLs and
SIGTERMs in the first sixth of the run and B in the last sixth (--victim ends;
in between the other faults go on), so each gateway has one lifetime of five
sixths of the run: that is where "RSS and fds flat" is judged (see
judge_memory). --victim half (A in the first half, B in the second: lifetimes
of half the run) was the schedule until 2026-12-07.

Faults come one at a time, aimed so that about half the run is spent between
a fault and its recovery (--in-fault-target); the summary reports the share of
messages in flight during a fault. RSS is judged by its slope after a
warm-up (--max-slope-kb-min, 20 kB/min); samples taken at rest (Soak.rest:
every --rest-every-s, no traffic, drained) are reported beside it.

Exit status: 0 when nothing was lost, applied twice, out of order, misrouted,
corrupted, NACKed or answered wrongly, every repeat was explained by a fault,
no gateway crashed, every fault check held and RSS/fds stayed flat; 1
otherwise; 2 when the setup failed.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import math
import os
import random
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request

END = "</mos>".encode("utf-16-be")
CHS = ("mom", "ro")
MAX_FRAME = 32 << 20

# What each lane sends: kind -> weight. "d": NCS -> device; "u": device -> NCS.
MIX = {
    ("ro", "d"): [("roCreate", 30), ("roReq", 20), ("roElementAction", 40), ("heartbeat", 5), ("reqMachInfo", 5)],
    ("mom", "d"): [("mosReqObj", 80), ("heartbeat", 10), ("reqMachInfo", 10)],
    ("ro", "u"): [("roElementStat", 100)],
    ("mom", "u"): [("mosObj", 85), ("heartbeat", 15)],
}
EXPECT = {"roCreate": "roAck", "roReq": "roList", "roElementAction": "roAck", "heartbeat": "heartbeat",
          "reqMachInfo": "listMachInfo", "mosReqObj": "mosObj", "roElementStat": "roAck", "mosObj": "mosAck"}
TOKENED = {"roCreate", "roReq", "roElementAction", "mosReqObj", "roElementStat", "mosObj"}

RE_MOSID = re.compile(r"<mosID>(.*?)</mosID>")
RE_NCSID = re.compile(r"<ncsID>(.*?)</ncsID>")
RE_MSGID = re.compile(r"<messageID>(.*?)</messageID>")
RE_TAG = re.compile(r"<(\w+)")
RE_TOKEN = re.compile(r"<(?:roID|objID)>([^<]*)</")
RE_SOAK = re.compile(r"<soak>sha1=([0-9a-f]{40}) n=(\d+)</soak><text>(.*?)</text>", re.S)
RE_ROSTATUS = re.compile(r"<roStatus>(.*?)</roStatus>", re.S)
RE_ACKSTATUS = re.compile(r"<status>(.*?)</status>")
RE_ACKDESC = re.compile(r"<statusDescription>(.*?)</statusDescription>", re.S)
RE_MACHID = re.compile(r"<ID>(.*?)</ID>")


def now():
    return time.monotonic()


def log(msg):
    sys.stdout.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


# ---------------------------------------------------------------- messages

WORDS_ASCII = ("news weather traffic sport culture market election council harbour bridge river "
               "storm rescue festival concert budget report interview studio anchor camera graphic "
               "lower third opener closer package live remote bulletin headline update").split()
WORDS_OTHER = ("Überschwemmung Straßenbahn café naïve Ελλάδα ειδήσεις Москва новости 東京 天気 "
               "서울 뉴스 São Paulo Zürich Kraków € — “quoted” ½ Ångström façade Ærø ĳssel").split()


def make_pool(rng, words, n):
    out, size = [], 0
    while size < n:
        w = rng.choice(words)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)


class Pools:
    def __init__(self):
        rng = random.Random(4711)
        self.ascii = make_pool(rng, WORDS_ASCII, 300_000)
        self.mixed = make_pool(rng, WORDS_ASCII + WORDS_OTHER * 2, 300_000)

    def filler(self, rng, n):
        pool = self.mixed if rng.random() < 0.5 else self.ascii
        n = max(1, min(n, len(pool) - 1))
        off = rng.randrange(0, len(pool) - n)
        return pool[off:off + n]


POOLS = None


def soak_block(rng, n, scope):
    text = POOLS.filler(rng, n)
    sha = hashlib.sha1(text.encode()).hexdigest()
    return ("<mosExternalMetadata><mosScope>%s</mosScope><mosSchema>urn:castgate:soak</mosSchema>"
            "<mosPayload><soak>sha1=%s n=%d</soak><text>%s</text></mosPayload></mosExternalMetadata>"
            % (scope, sha, len(text), text))


def log_uniform(rng, lo, hi):
    return int(lo * (hi / lo) ** rng.random())


def envelope(mos_id, ncs_id, msgid, body):
    return "<mos><mosID>%s</mosID><ncsID>%s</ncsID><messageID>%d</messageID>%s</mos>" % (
        mos_id, ncs_id, msgid, body)


def build_request(lane, msgid):
    """The message lane sends as msgid: deterministic, so a restarted sender rebuilds it."""
    rng = random.Random("%s/%d" % (lane.key, msgid))
    kinds = MIX[(lane.ch, lane.dir)]
    x = rng.randrange(sum(w for _, w in kinds))
    for kind, w in kinds:
        if x < w:
            break
        x -= w
    token = "L%02d.%s.%s.%d" % (lane.link.i, lane.ch, lane.dir, msgid)
    if kind == "roCreate":
        size = log_uniform(rng, 1024, 256 * 1024)
        body = ("<roCreate><roID>%s</roID><roSlug>soak run %d</roSlug><roEdStart>2026-11-24T12:00:00"
                "</roEdStart>%s<story><storyID>S1</storyID><storySlug>Opening</storySlug><item><itemID>1"
                "</itemID><objID>OBJ-1</objID><mosID>%s</mosID></item></story></roCreate>"
                % (token, msgid, soak_block(rng, size - 600, "PLAYLIST"), lane.link.mos_id))
    elif kind == "roReq":
        body = "<roReq><roID>%s</roID></roReq>" % token
    elif kind == "roElementAction":
        body = ("<roElementAction operation=\"INSERT\"><roID>%s</roID><element_target><storyID>S1"
                "</storyID></element_target><element_source><story><storyID>S%d</storyID><storySlug>"
                "inserted</storySlug>%s</story></element_source></roElementAction>"
                % (token, msgid, soak_block(rng, log_uniform(rng, 300, 8000), "STORY")))
    elif kind == "mosReqObj":
        body = "<mosReqObj><objID>%s</objID></mosReqObj>" % token
    elif kind == "roElementStat":
        body = ("<roElementStat element=\"STORY\"><roID>%s</roID><storyID>S1</storyID><status>PLAY"
                "</status><time>2026-11-24T12:00:00</time></roElementStat>" % token)
    elif kind == "mosObj":
        body = mos_obj(token, rng, log_uniform(rng, 500, 64 * 1024))
    elif kind == "heartbeat":
        body = "<heartbeat><time>2026-11-24T12:00:00</time></heartbeat>"
    else:
        body = "<reqMachInfo/>"
    xml = envelope(lane.link.mos_id, lane.link.ncs_id, msgid, body)
    return kind, token if kind in TOKENED else None, xml.encode("utf-16-be")


def mos_obj(token, rng, size):
    return ("<mosObj><objID>%s</objID><objSlug>soak clip</objSlug><objType>VIDEO</objType><objTB>50"
            "</objTB><objRev>1</objRev><objDur>500</objDur><status>NEW</status><objAir>READY</objAir>"
            "<createdBy>soak</createdBy><created>2026-11-24T12:00:00</created>%s</mosObj>"
            % (token, soak_block(rng, size, "OBJECT")))


def build_answer(lane, msgid, kind, token):
    """The receiver's answer: deterministic, so a repeat gets the original answer (M-22)."""
    if kind == "heartbeat":
        body = "<heartbeat><time>2026-11-24T12:00:00</time></heartbeat>"
    elif kind == "reqMachInfo":
        me = lane.link.mos_id if lane.dir == "d" else lane.link.ncs_id
        body = ("<listMachInfo><manufacturer>castgate soak</manufacturer><model>legacy</model><hwRev/>"
                "<swRev>1</swRev><DOM/><SN/><ID>%s</ID><time>2026-11-24T12:00:00</time><opTime/>"
                "<mosRev>2.8.5</mosRev></listMachInfo>" % me)
    elif kind == "roReq":
        body = ("<roList><roID>%s</roID><roSlug>soak</roSlug><story><storyID>S1</storyID><storySlug>"
                "Opening</storySlug></story></roList>" % token)
    elif kind == "mosReqObj":
        rng = random.Random("answer/" + token)
        body = mos_obj(token, rng, log_uniform(rng, 500, 100 * 1024))
    elif kind == "mosObj":
        body = "<mosAck><objID>%s</objID><objRev>1</objRev><status>ACK</status><statusDescription/></mosAck>" % token
    else:  # roCreate, roElementAction, roElementStat
        body = "<roAck><roID>%s</roID><roStatus>OK</roStatus></roAck>" % token
    return envelope(lane.link.mos_id, lane.link.ncs_id, msgid, body).encode("utf-16-be")


def parse(frame):
    """(text, mosID, ncsID, messageID text, element name) of a UCS-2BE frame; text None if undecodable."""
    try:
        s = frame.decode("utf-16-be")
    except UnicodeDecodeError:
        return None, None, None, None, None
    head = s[:4000]
    m1, m2, m3 = RE_MOSID.search(head), RE_NCSID.search(head), RE_MSGID.search(head)
    name = None
    for t in RE_TAG.finditer(head):
        if t.group(1) not in ("mos", "mosID", "ncsID", "messageID"):
            name = t.group(1)
            break
    return (s, m1.group(1) if m1 else None, m2.group(1) if m2 else None,
            m3.group(1) if m3 else None, name)


def soak_ok(s):
    """True when the message carries no filler or its filler matches its SHA-1; False if not."""
    m = RE_SOAK.search(s)
    if m is None:
        return None
    text = m.group(3)
    return int(m.group(2)) == len(text) and hashlib.sha1(text.encode()).hexdigest() == m.group(1)


class Frames:
    """Cuts a UCS-2BE byte stream at each closing </mos> at an even offset (M-21)."""

    def __init__(self, reader):
        self.r = reader
        self.buf = bytearray()
        self.scan = 0

    async def next(self):
        while True:
            i = self.buf.find(END, self.scan)
            while i >= 0 and i % 2:
                i = self.buf.find(END, i + 1)
            if i >= 0:
                n = i + len(END)
                frame = bytes(self.buf[:n])
                del self.buf[:n]
                self.scan = 0
                return frame
            self.scan = max(0, len(self.buf) - len(END) + 1)
            if len(self.buf) > MAX_FRAME:
                raise ConnectionError("frame too large")
            data = await self.r.read(262144)
            if not data:
                raise ConnectionError("peer closed")
            self.buf += data


# ---------------------------------------------------------------- the oracle

class Rec:
    __slots__ = ("msgid", "kind", "window", "t_first", "t_answer", "tries", "result", "detail", "size")

    def __init__(self, msgid, kind, window, size):
        self.msgid, self.kind, self.window, self.size = msgid, kind, window, size
        self.t_first, self.t_answer, self.tries, self.result, self.detail = now(), None, 0, None, None


class Lane:
    """One link, channel and direction: what was sent, answered and applied (the test's own view)."""

    def __init__(self, link, ch, d):
        self.link, self.ch, self.dir = link, ch, d
        self.key = "L%02d.%s.%s" % (link.i, ch, d)
        self.sent = {}
        self.applied = []
        self.repeats = []
        self.arrivals = []  # [msgid, time, answer written to the kernel]: every arrival, raw
        self.last_arrival = None
        self.bad = []  # (what, msgid, detail): misrouted, corrupt, wrong answer ...
        self.strays = self.timeouts = self.reconnects = 0
        self.last_answer = now()
        self.outstanding = None  # (msgid, since)


class Link:
    def __init__(self, i, passive, ports):
        self.i = i
        self.name = "L%02d" % i
        self.ncs_id, self.mos_id = "NCS%02d" % i, "DEV%02d" % i
        self.passive = passive
        self.p = ports  # a_lo a_hi d_lo d_hi [n_lo n_hi b_lo b_hi]
        dirs = ("d", "u") if passive else ("d",)
        self.lanes = {(ch, d): Lane(self, ch, d) for ch in CHS for d in dirs}


# ---------------------------------------------------------------- the legacy gear

class GearState:
    """What one legacy endpoint remembers across its restarts (M-11, M-22), on disk."""

    def __init__(self, path):
        self.path = path
        self.applied = {ch: set() for ch in CHS}
        self.last = {}  # ch -> [msgid, answered]
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    p = line.split()
                    if len(p) != 3:
                        continue
                    what, ch, mid = p[0], p[1], int(p[2])
                    if what == "A":
                        self.applied[ch].add(mid)
                    elif what == "S":
                        self.last[ch] = [mid, False]
                    elif what == "D" and self.last.get(ch, [None])[0] == mid:
                        self.last[ch][1] = True
        self.f = open(path, "a")

    def note(self, what, ch, mid):
        # flushed before the peer hears of it; a "restart" here is in-process, so
        # the page cache is as durable as the test needs (no fsync)
        self.f.write("%s %s %d\n" % (what, ch, mid))
        self.f.flush()

    def close(self):
        self.f.close()


class Gear:
    """One legacy NCS or device: listens where its peer originates, dials where it originates."""

    def __init__(self, soak, link, role):
        self.soak, self.link, self.role = soak, link, role  # role "ncs" or "dev"
        self.path = os.path.join(soak.out, "gear", "%s-%s.state" % (link.name, role))
        self.state = None
        self.servers = []
        self.conns = set()
        self.tasks = []
        self.incarnation = 0
        self.restarts = 0

    def in_lanes(self):
        d = "d" if self.role == "dev" else "u"
        return {ch: ln for (ch, dd), ln in self.link.lanes.items() if dd == d}

    def out_lanes(self):
        d = "u" if self.role == "dev" else "d"
        return [ln for (ch, dd), ln in self.link.lanes.items() if dd == d]

    def listen_ports(self):
        p = self.link.p
        if self.role == "dev":
            return {"mom": p["d_lo"], "ro": p["d_hi"]}
        return {"mom": p["n_lo"], "ro": p["n_hi"]} if self.link.passive else {}

    def dial_port(self, ch):
        p = self.link.p
        if self.role == "ncs":
            return p["a_lo"] if ch == "mom" else p["a_hi"]
        return p["b_lo"] if ch == "mom" else p["b_hi"]

    async def start(self):
        self.incarnation += 1
        self.state = GearState(self.path)
        inc = self.incarnation
        for ch, port in self.listen_ports().items():
            srv = await asyncio.start_server(lambda r, w, ch=ch: self.serve(inc, ch, r, w),
                                             "127.0.0.1", port, reuse_address=True, backlog=64)
            self.servers.append(srv)
        for lane in self.out_lanes():
            self.tasks.append(asyncio.create_task(Sender(self, lane, inc).run()))

    async def stop(self):
        self.incarnation += 1
        for t in self.tasks:
            t.cancel()
        # Bounded: asyncio.wait_for in Python 3.11 can swallow a cancellation
        # that comes as its inner future completes; a Sender then sees the new
        # incarnation and returns by itself (Sender.stale).
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=10)
        self.tasks = []
        for s in self.servers:
            s.close()
        for w in list(self.conns):
            w.transport.abort()
        self.conns.clear()
        for s in self.servers:
            try:
                await asyncio.wait_for(s.wait_closed(), 5)
            except (asyncio.TimeoutError, Exception):
                pass
        self.servers = []
        if self.state is not None:
            self.state.close()
            self.state = None

    async def restart(self, down_s):
        self.restarts += 1
        await self.stop()
        await asyncio.sleep(down_s)
        await self.start()

    async def serve(self, inc, ch, reader, writer):
        self.conns.add(writer)
        lane = self.in_lanes()[ch]
        fr = Frames(reader)
        try:
            while inc == self.incarnation:
                frame = await fr.next()
                if inc != self.incarnation:
                    break
                lane.last_arrival = None
                ans = self.handle(lane, frame)
                if ans is not None:
                    writer.write(ans)
                    if lane.last_arrival is not None and writer.transport.get_write_buffer_size() == 0:
                        lane.last_arrival[2] = True  # the answer is with the kernel: it leaves even if we stop
                    await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.conns.discard(writer)
            writer.transport.abort()

    def handle(self, lane, frame):
        s, mos_id, ncs_id, mid, name = parse(frame)
        if s is None:
            lane.bad.append(("undecodable", None, "not UCS-2BE"))
            return None
        if name is not None and name.lower() == "keepalive":
            lane.bad.append(("keepAlive reached legacy gear", None, ""))
            return None
        if mos_id != lane.link.mos_id or ncs_id != lane.link.ncs_id:
            lane.bad.append(("misrouted", mid, "%s/%s on %s" % (mos_id, ncs_id, lane.key)))
            return None
        try:
            msgid = int(mid)
        except (TypeError, ValueError):
            lane.bad.append(("no messageID", mid, name))
            return None
        kind = name
        token = None
        if kind in TOKENED:
            m = RE_TOKEN.search(s)
            token = m.group(1) if m else None
            want = "L%02d.%s.%s.%d" % (lane.link.i, lane.ch, lane.dir, msgid)
            if token != want:
                lane.bad.append(("misrouted", msgid, "token %s, want %s" % (token, want)))
                return None
        # Every arrival counts, before the M-22 memory below decides whether to
        # apply it: the verdict judges repeats from these (judge_repeats).
        lane.last_arrival = [msgid, now(), False]
        lane.arrivals.append(lane.last_arrival)
        seen = self.state.applied[lane.ch]
        if msgid in seen:  # M-22: a repeat: the original answer, not applied again
            lane.repeats.append(msgid)
            return build_answer(lane, msgid, kind, token)
        if soak_ok(s) is False:
            lane.bad.append(("corrupt", msgid, "filler SHA-1 differs"))
            return None  # unanswered: the sender repeats it
        rec = lane.sent.get(msgid)
        if rec is not None and rec.kind != kind:
            lane.bad.append(("wrong message", msgid, "%s, sent %s" % (kind, rec.kind)))
        seen.add(msgid)
        self.state.note("A", lane.ch, msgid)
        lane.applied.append(msgid)
        return build_answer(lane, msgid, kind, token)


class Sender:
    """One stop-and-wait lane (M-22): one request outstanding, repeated under its messageID
    on a timeout or a new connection until answered."""

    def __init__(self, gear, lane, inc):
        self.gear, self.lane, self.inc = gear, lane, inc
        self.soak = gear.soak
        self.w = None
        self.fr = None

    async def connect(self):
        backoff = 0.1
        while True:
            if self.stale():
                raise asyncio.CancelledError()
            try:
                r, w = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.gear.dial_port(self.lane.ch)), 5)
                self.w, self.fr = w, Frames(r)
                self.lane.reconnects += 1
                return
            except (OSError, asyncio.TimeoutError):
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)

    def stale(self):
        """This sender's gear has stopped (or restarted) since it began."""
        return self.inc != self.gear.incarnation

    def drop(self):
        if self.w is not None:
            self.w.transport.abort()
        self.w = self.fr = None

    async def run(self):
        st = self.gear.state
        lane = self.lane
        try:
            last = st.last.get(lane.ch)
            if last is not None and not last[1]:  # unanswered before the restart: again
                await self.exchange(last[0])
            nxt = last[0] + 1 if last is not None else 1
            while not self.soak.stop_traffic and not self.stale():
                if not self.soak.go.is_set():  # a rest (Soak.rest): nothing new until it ends
                    await self.soak.go.wait()
                    continue
                st.note("S", lane.ch, nxt)
                await self.exchange(nxt)
                nxt += 1
                await asyncio.sleep(random.uniform(0, 2 * self.soak.args.think_ms / 1000.0))
        finally:
            self.drop()

    async def exchange(self, msgid):
        lane = self.lane
        kind, token, wire = build_request(lane, msgid)
        rec = lane.sent.get(msgid)
        if rec is None:
            rec = lane.sent[msgid] = Rec(msgid, kind, self.soak.window, len(wire))
        lane.outstanding = (msgid, now())
        retry = self.soak.args.retry_s
        while True:
            if self.stale():
                raise asyncio.CancelledError()
            if self.w is None:
                await self.connect()
            try:
                self.w.write(wire)
                rec.tries += 1
                await asyncio.wait_for(self.w.drain(), retry)
                deadline = now() + retry
                while True:
                    frame = await asyncio.wait_for(self.fr.next(), max(0.01, deadline - now()))
                    s, mos_id, ncs_id, mid, name = parse(frame)
                    if mid != str(msgid):  # a late answer to an earlier request
                        lane.strays += 1
                        continue
                    rec.t_answer = now()
                    self.judge(rec, token, s, mos_id, ncs_id, name)
                    self.gear.state.note("D", lane.ch, msgid)
                    lane.outstanding = None
                    lane.last_answer = now()
                    self.soak.answered_total += 1
                    return
            except asyncio.TimeoutError:
                lane.timeouts += 1  # repeat it, same messageID
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                self.drop()
                await asyncio.sleep(random.uniform(0.1, 0.3))

    def judge(self, rec, token, s, mos_id, ncs_id, name):
        lane = self.lane
        if s is None:
            rec.result, rec.detail = "wrong", "undecodable answer"
        elif mos_id != lane.link.mos_id or ncs_id != lane.link.ncs_id:
            rec.result, rec.detail = "wrong", "answer for %s/%s" % (mos_id, ncs_id)
        elif name == "roAck" and (RE_ROSTATUS.search(s) or [None, ""])[1] != "OK":
            rec.result, rec.detail = "nack", (RE_ROSTATUS.search(s) or [None, "?"])[1]
        elif name == "mosAck" and (RE_ACKSTATUS.search(s) or [None, ""])[1].upper() == "NACK":
            rec.result, rec.detail = "nack", (RE_ACKDESC.search(s) or [None, "?"])[1]
        elif name != EXPECT[rec.kind]:
            rec.result, rec.detail = "wrong", "<%s> answers <%s>" % (name, rec.kind)
        elif token is not None and (RE_TOKEN.search(s) or [None, None])[1] != token:
            rec.result, rec.detail = "wrong", "answer names %s" % (RE_TOKEN.search(s) or [None, None])[1]
        elif rec.kind == "reqMachInfo" and (RE_MACHID.search(s) or [None, None])[1] != (
                lane.link.mos_id if lane.dir == "d" else lane.link.ncs_id):
            rec.result, rec.detail = "wrong", "listMachInfo of another device"
        elif soak_ok(s) is False:
            rec.result, rec.detail = "wrong", "answer filler SHA-1 differs"
        else:
            rec.result = "ack"
        if rec.result != "ack":
            lane.bad.append(("nack" if rec.result == "nack" else "wrong answer", rec.msgid, rec.detail))


# ---------------------------------------------------------------- gateways

def read_from(path, off):
    try:
        with open(path, "rb") as f:
            f.seek(off)
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def fsize(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def listening(port):
    r = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True, text=True)
    return bool(r.stdout.strip())


class Gateway:
    def __init__(self, soak, name, conf, probe_port, state_dir):
        self.soak, self.name, self.conf, self.probe, self.state_dir = soak, name, conf, probe_port, state_dir
        self.outp = os.path.join(soak.out, "gw%s.out" % name)
        self.errp = os.path.join(soak.out, "gw%s.err" % name)
        self.proc = None
        self.life = 0
        self.started = 0.0
        self.expect_exit = False
        self.crashes = []
        self.ready_s = []  # per start: seconds until it said it was running
        self.watch = None

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else None

    async def start(self):
        with open(self.errp, "a") as e:
            e.write("=== soak: start %s life %d at +%.0f s\n" % (self.name, self.life + 1, now() - self.soak.t0))
        off = fsize(self.outp)
        fo, fe = open(self.outp, "ab"), open(self.errp, "ab")
        t = now()
        self.proc = await asyncio.create_subprocess_exec(
            self.soak.args.castgate, "run", "--config", self.conf, stdout=fo, stderr=fe,
            stdin=subprocess.DEVNULL)
        fo.close()
        fe.close()
        self.soak.pids_changed()
        self.life += 1
        self.started = t
        self.expect_exit = False
        # ready when it says so: its listener is bound before its links (and their
        # journals) are set up, so a bound port is not yet a gateway at work
        while '"event":"running"' not in read_from(self.outp, off):
            if self.proc.returncode is not None or now() > t + 120:
                raise RuntimeError("gateway %s did not start (see %s)" % (self.name, self.errp))
            await asyncio.sleep(0.05)
        self.ready_s.append(now() - t)
        if not listening(self.probe):
            raise RuntimeError("gateway %s runs but does not listen on %d" % (self.name, self.probe))
        self.watch = asyncio.create_task(self.watcher(self.proc, self.life))
        self.soak.schedule_age_sample(self, self.life)

    async def watcher(self, proc, life):
        rc = await proc.wait()
        if not self.expect_exit and not self.soak.shutting_down:
            tail = read_from(self.errp, max(0, fsize(self.errp) - 3000))
            self.crashes.append({"life": life, "rc": rc, "t": round(now() - self.soak.t0, 1)})
            log("GATEWAY %s CRASHED (life %d, exit %s); log tail:\n%s" % (self.name, life, rc, tail))
            self.soak.fail("gateway %s exited by itself (rc %s) in life %d" % (self.name, rc, life))
            if not self.soak.stop_traffic:
                await self.start()

    async def kill(self, sig, timeout=30.0):
        """Signals the gateway and waits for it to exit: (exit status, seconds)."""
        self.expect_exit = True
        t = now()
        self.proc.send_signal(sig)
        try:
            rc = await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            self.proc.kill()
            rc = await self.proc.wait()
            rc = "timeout (%s)" % rc
        if self.watch is not None:
            await self.watch
        return rc, now() - t


class Me:
    """The driver itself, sampled like a gateway (for information: its RSS grows with the
    test's own bookkeeping of every message)."""

    def __init__(self, soak):
        self.name, self.pid, self.life, self.started = "driver", os.getpid(), 1, soak.t0
        self.state_dir = os.path.join(soak.out, "gear")


# ---------------------------------------------------------------- the run

def pick_ports(n):
    """n free loopback ports below the ephemeral range, so no outgoing connection takes one
    while its gateway restarts."""
    lo, hi = 20000, 32000
    out = []
    p = random.randrange(lo, hi - 4 * n)
    while len(out) < n:
        if p >= hi:
            p = lo
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            out.append(p)
        except OSError:
            pass
        finally:
            s.close()
        p += 1
    return out


class Soak:
    def __init__(self, args):
        self.args = args
        self.out = args.out
        self.t0 = now()
        self.window = 0
        self.windows = [("(no fault)", 0.0, {})]
        self.stop_traffic = False
        self.go = None  # asyncio.Event, set while lanes may send (cleared at a rest)
        self.shutting_down = False
        self.failures = []
        self.answered_total = 0
        self.samples = []  # dicts
        self.faults = []
        self.links = []
        self.gears = []
        self.gw = {}
        self.csv = None

    def fail(self, why):
        self.failures.append(why)

    def pids_changed(self):
        with open(os.path.join(self.out, "pids"), "w") as f:
            for g in self.gw.values():
                if g.pid:
                    f.write("%d\n" % g.pid)

    # ---- setup
    def setup(self):
        a = self.args
        os.makedirs(os.path.join(self.out, "gear"), exist_ok=True)
        pki = os.path.join(self.out, "pki")
        subprocess.run(["bash", os.path.join(a.src, "scripts/dev-pki.sh"), "--dir", pki, "--host", "localhost",
                        "--ocsp-port", "1"], check=True, stdout=subprocess.DEVNULL)
        n = a.links
        npass = sum(1 for i in range(1, n + 1) if self.passive(i))
        ports = pick_ports(3 + 4 * n + 4 * npass)
        self.wss = ports.pop()
        admin = {"A": ports.pop(), "B": ports.pop()}
        # the admin listener (/metrics: the heap beside RSS, docs/metrics.md)
        self.admin_auth = "Basic " + base64.b64encode(b"soak:soak-metrics").decode()
        # the TLS context for every heap sample (the PKI exists by now)
        self.admin_ctx = ssl.create_default_context(cafile=os.path.join(pki, "root-ca.pem"))
        htpasswd = os.path.join(self.out, "admin.htpasswd")
        subprocess.run([a.castgate, "passwd", htpasswd, "soak"], input=b"soak-metrics\n", check=True,
                       stdout=subprocess.DEVNULL)
        certs = ("cert = %s/server-rsa.chain.pem %s/server-rsa.key\n"
                 "cert = %s/server-ecdsa.chain.pem %s/server-ecdsa.key\n" % (pki, pki, pki, pki))
        for i in range(1, n + 1):
            names = ["a_lo", "a_hi", "d_lo", "d_hi"] + (["n_lo", "n_hi", "b_lo", "b_hi"] if self.passive(i) else [])
            self.links.append(Link(i, self.passive(i), {k: ports.pop() for k in names}))
        common = ("state_dir = %s\njournal = yes\nfsync = interval\nack_timeout_ms = 5000\n"
                  "drain_ms = %d\n" % ("%s", a.drain_ms))
        adm = "admin_listen = 127.0.0.1:%d\nadmin_credentials = " + htpasswd + "\n"
        ga = ["# castgate soak: gateway A (NCS side)", "[gateway]", certs + "ocsp = no",
              adm % admin["A"], common % os.path.join(self.out, "sA")]
        gb = ["# castgate soak: gateway B (device side, the wss listener)", "[gateway]",
              "listen = 127.0.0.1:%d" % self.wss, "auth = none", certs + "ocsp = no",
              adm % admin["B"], common % os.path.join(self.out, "sB")]
        for k in self.links:
            p = k.p
            ga += ["[link %s]" % k.name, "legacy = ncs", "ncs_id = %s" % k.ncs_id, "mos_id = %s" % k.mos_id,
                   "channels = mom,ro", "path = /mos/%s" % k.name,
                   "legacy_listen = 127.0.0.1:%d,%d" % (p["a_lo"], p["a_hi"]),
                   "url = wss://localhost:%d/mos/%s" % (self.wss, k.name), "ca = %s/root-ca.pem" % pki]
            gb += ["[link %s]" % k.name, "legacy = mos", "ncs_id = %s" % k.ncs_id, "mos_id = %s" % k.mos_id,
                   "channels = mom,ro", "path = /mos/%s" % k.name,
                   "legacy_dial = 127.0.0.1:%d,%d" % (p["d_lo"], p["d_hi"])]
            if k.passive:
                ga += ["mode = passive-inside", "legacy_dial = 127.0.0.1:%d,%d" % (p["n_lo"], p["n_hi"])]
                gb += ["mode = passive-outside", "legacy_listen = 127.0.0.1:%d,%d" % (p["b_lo"], p["b_hi"])]
            ga.append("")
            gb.append("")
        confs = {}
        for name, lines in (("A", ga), ("B", gb)):
            confs[name] = os.path.join(self.out, "gw%s.conf" % name)
            with open(confs[name], "w") as f:
                f.write("\n".join(lines))
            r = subprocess.run([a.castgate, "run", "--config", confs[name], "--check-config"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError("gw%s.conf refused: %s%s" % (name, r.stdout, r.stderr))
        last = self.links[-1].p
        self.gw["B"] = Gateway(self, "B", confs["B"], self.wss, os.path.join(self.out, "sB"))
        self.gw["A"] = Gateway(self, "A", confs["A"], last["a_hi"], os.path.join(self.out, "sA"))
        for name in ("A", "B"):
            self.gw[name].admin_port = admin[name]
        for k in self.links:
            self.gears += [Gear(self, k, "dev"), Gear(self, k, "ncs")]
        self.me = Me(self)
        self.csv = open(os.path.join(self.out, "monitor.csv"), "w")
        self.csv.write("t_s,process,pid,life,age_s,kind,rss_kb,fds,state_kb,answered,cpu_s,"
                       "heap_in_use_kb,heap_free_kb,heap_mmapped_kb,answers_held_kb,heap_trims,heap_trimmed_kb,"
                       "rss_file_kb,rss_brk_kb,rss_arenas_kb,rss_stacks_kb,rss_anon_other_kb\n")

    def passive(self, i):
        return i % 5 == 0 or (self.args.links < 5 and i == self.args.links)

    def lanes(self):
        for k in self.links:
            yield from k.lanes.values()

    # ---- monitoring
    def sample(self, g, kind):
        pid = g.pid
        if pid is None:
            return
        try:
            with open("/proc/%d/status" % pid) as f:
                rss = int(next(l for l in f if l.startswith("VmRSS:")).split()[1])
            fds = len(os.listdir("/proc/%d/fd" % pid))
            with open("/proc/%d/stat" % pid) as f:
                st = f.read().rsplit(")", 1)[1].split()
            cpu = (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, StopIteration, ValueError, IndexError):
            return
        state = 0
        for root, _, files in os.walk(g.state_dir):
            for fn in files:
                state += fsize(os.path.join(root, fn))
        heap = self.heap(g)
        split = rss_split(pid)
        row = {"t": now() - self.t0, "gw": g.name, "pid": pid, "life": g.life, "age": now() - g.started,
               "kind": kind, "rss": rss, "fds": fds, "state": state // 1024, "answered": self.answered_total,
               "cpu": cpu, "heap": heap.get("in_use", -1), "heap_free": heap.get("free", -1),
               "mmapped": heap.get("mmapped", -1), "answers": heap.get("answers", -1),
               "trims": heap.get("trims", -1), "trimmed": heap.get("trimmed", -1)}
        row.update(split)
        # live: what the process holds (in use + mapped); RSS beyond it is free pages kept
        row["live"] = row["heap"] + row["mmapped"] if min(row["heap"], row["mmapped"]) >= 0 else -1
        self.samples.append(row)
        self.csv.write("%.1f,%s,%d,%d,%.1f,%s,%d,%d,%d,%d,%.2f,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d\n" % (
            row["t"], g.name, pid, g.life, row["age"], kind, rss, fds, row["state"], row["answered"], cpu,
            row["heap"], row["heap_free"], row["mmapped"], row["answers"], row["trims"], row["trimmed"],
            row["rss_file"], row["rss_brk"], row["rss_arenas"], row["rss_stacks"], row["rss_anon_other"]))
        self.csv.flush()

    def heap(self, g):
        """The gateway's castgate_heap_bytes from its /metrics, in kB ({} when it cannot be
        read: -1 in the CSV). A short blocking request on loopback."""
        port = getattr(g, "admin_port", None)
        if port is None or getattr(self, "admin_ctx", None) is None:
            return {}
        try:
            req = urllib.request.Request("https://localhost:%d/metrics" % port,
                                         headers={"Authorization": self.admin_auth})
            with urllib.request.urlopen(req, context=self.admin_ctx, timeout=2) as r:
                text = r.read().decode("utf-8", "replace")
        except (OSError, ValueError, ssl.SSLError):
            return {}
        out = {}
        for m in re.finditer(r'^castgate_heap_bytes\{state="(\w+)"\} (\d+)$', text, re.M):
            out[m.group(1)] = int(m.group(2)) // 1024
        # the M-22 memory of answers, every lane (the cache answer_memory caps)
        held = [int(v) for v in re.findall(r'^castgate_lane_answers_held_bytes\{[^}]*\} (\d+)$', text, re.M)]
        if held:
            out["answers"] = sum(held) // 1024
        # free pages inside the arenas given back (cg_ctx_heap_trim, docs/metrics.md)
        m = re.search(r'^castgate_heap_trims_total (\d+)$', text, re.M)
        if m:
            out["trims"] = int(m.group(1))
        m = re.search(r'^castgate_heap_trim_released_bytes_total (\d+)$', text, re.M)
        if m:
            out["trimmed"] = int(m.group(1)) // 1024
        return out

    def schedule_age_sample(self, g, life):
        async def later():
            await asyncio.sleep(self.args.age_sample_s)
            if g.life == life and not self.stop_traffic:
                self.sample(g, "age")
        asyncio.get_running_loop().create_task(later())

    async def monitor(self):
        while True:
            for g in list(self.gw.values()) + [self.me]:
                self.sample(g, "grid")
            await asyncio.sleep(self.args.sample_s)

    async def progress(self):
        while True:
            await asyncio.sleep(60)
            stuck = [ln.key for ln in self.lanes() if ln.outstanding and now() - ln.outstanding[1] > 60]
            log("+%.0f s: %d answered, %d applied, %d repeats; %d lane(s) waiting > 60 s%s" % (
                now() - self.t0, self.answered_total, sum(len(ln.applied) for ln in self.lanes()),
                sum(len(ln.repeats) for ln in self.lanes()), len(stuck),
                (": " + " ".join(stuck[:8])) if stuck else ""))

    # ---- faults
    def rotation(self):
        """The fault order; X: the gateway that takes SIGKILL/SIGTERM (victim()).
        --faults keeps only the kinds it names (kill and term stand for kill-X and term-X)."""
        rot = ["wss-cut", "kill-X", "device-restart", "hup-A", "term-X", "wss-cut", "device-restart", "hup-B"]
        keep = set(self.args.faults.split(","))
        return [k for k in rot if k in keep or k.split("-")[0] in keep]

    def victim(self, t):
        """Who takes kill-X/term-X at t s into the run: None for nobody (the fault
        slot goes to the next kind). ends: A in the first sixth, B in the last
        sixth, nobody between, so each gateway lives five sixths of the run
        without a restart of its own: the memory verdict's window (judge_memory)
        is then about two thirds of the run, not a third (the 2-hour run of
        2026-12-07T1648 judged 40 minutes of B, where the swings of the live
        heap alone moved a least-squares slope by more than 100 kB/min)."""
        run = self.args.minutes * 60.0
        if self.args.victim in ("A", "B"):
            return self.args.victim
        if self.args.victim == "half":
            return "A" if t < run / 2 else "B"
        return "A" if t < run / 6 else ("B" if t >= run * 5 / 6 else None)

    async def faults_loop(self, until):
        """Faults aimed at the traffic: one at a time (the next only once every
        lane has been answered again after the last, so each message's fault is
        known), and the next one as soon as the time spent in faults (fault to
        recovery) falls below --in-fault-target of the run (within
        --fault-min-s .. --fault-max-s of quiet between them), so that a large
        share of the messages is in flight during a fault (reported)."""
        rot = self.rotation()
        k = 0
        covered = 0.0
        next_rest = self.t0 + self.args.rest_every_s if self.args.rest_every_s > 0 else None
        while rot:
            if next_rest is not None and now() >= next_rest and now() + 90 < until:
                await self.rest()
                next_rest = now() + self.args.rest_every_s
            want = covered / self.args.in_fault_target - (now() - self.t0)
            gap = min(self.args.fault_max_s, max(self.args.fault_min_s, want)) * random.uniform(0.8, 1.2)
            if now() + gap > until - self.args.fault_min_s / 2:
                return
            await asyncio.sleep(gap)
            x = self.victim(now() - self.t0)
            kind = rot[k % len(rot)]
            k += 1
            while x is None and kind.endswith("-X") and any(not r.endswith("-X") for r in rot):
                kind = rot[k % len(rot)]  # nobody to kill or stop now: the next kind
                k += 1
            if x is None and kind.endswith("-X"):
                await asyncio.sleep(1.0)  # only kill/term chosen (--faults) and nobody now
                continue
            kind = kind.replace("X", x or "")
            t = now()
            await self.fault(kind)
            info = self.windows[self.window][2]
            while "recovery_s" not in info and now() - t < 60 and now() < until:
                await asyncio.sleep(0.2)
            covered += info.get("recovery_s", now() - t)

    async def rest(self):
        """A rest: no new messages, every lane's last one answered, then
        --rest-settle-s of nothing (the gateways' heap checks run every 10 s and
        give free pages back), then one sample of each gateway (kind "rest"), then
        traffic again. What a process holds at rest is what it keeps: caches at
        their caps, fragmentation, a leak; not the messages in flight, whose
        coming and going moves RSS by megabytes between 30 s samples (issue 19)."""
        t = now()
        self.go.clear()
        log("rest: no new messages; waiting for every lane's last answer")
        drained = None
        while now() - t < 60:
            if not any(ln.outstanding for ln in self.lanes()):
                drained = now() - t
                break
            await asyncio.sleep(0.2)
        if drained is not None:
            await asyncio.sleep(self.args.rest_settle_s)
            for g in self.gw.values():
                self.sample(g, "rest")
        log("rest: %s; traffic again" % ("sampled after %.1f s to drain and %g s at rest" % (
            drained, self.args.rest_settle_s) if drained is not None else "a lane did not drain in 60 s: no sample"))
        self.go.set()

    async def fault(self, kind):
        t = now()
        self.window = len(self.windows)
        info = {}
        self.windows.append((kind, t - self.t0, info))
        log("fault %d: %s" % (self.window, kind))
        ok = True
        if kind == "wss-cut":
            r = subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport", "=", ":%d" % self.wss],
                               capture_output=True, text=True)
            info["sockets_cut"] = max(0, len(r.stdout.strip().splitlines()) - 1)
            ok = info["sockets_cut"] > 0
        elif kind.startswith("kill-"):
            g = self.gw[kind[-1]]
            rc, dt = await g.kill(signal.SIGKILL)
            await asyncio.sleep(random.uniform(0.2, 1.5))
            await g.start()
            info["rc"] = rc
        elif kind.startswith("term-"):
            g = self.gw[kind[-1]]
            off = fsize(g.errp)
            rc, dt = await g.kill(signal.SIGTERM, self.args.drain_ms / 1000.0 + 10)
            err = read_from(g.errp, off)
            m = re.search(r"draining (\d+) message", err)
            info.update(rc=rc, exit_ms=int(dt * 1000), in_flight=int(m.group(1)) if m else None,
                        drained="drained" in err, left=("drain time is up" in err))
            ok = rc == 0
            await g.start()
        elif kind.startswith("hup-"):
            g = self.gw[kind[-1]]
            eoff, ooff = fsize(g.errp), fsize(g.outp)
            pid = g.pid
            os.kill(pid, signal.SIGHUP)
            line = None
            for _ in range(200):
                m = re.search(r"reload: (\d+) link\(s\) kept running, (\d+) stopped, (\d+) started",
                              read_from(g.errp, eoff))
                if m:
                    line = m
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(self.args.hup_watch_s)
            out = read_from(g.outp, ooff)
            downs = len(re.findall(r'"event":"lane".*"up":false', out)) + len(
                re.findall(r'"event":"link".*"down"', out))
            info.update(kept=int(line.group(1)) if line else None, stopped=int(line.group(2)) if line else None,
                        started=int(line.group(3)) if line else None, lanes_down_after=downs,
                        same_pid=g.pid == pid)
            ok = (line is not None and int(line.group(1)) == len(self.links) and line.group(2) == "0"
                  and line.group(3) == "0" and downs == 0 and g.pid == pid)
        elif kind == "device-restart":
            devs = [x for x in self.gears if x.role == "dev"]
            pick = random.sample(devs, max(1, len(devs) // 10))
            info["devices"] = [x.link.name for x in pick]
            await asyncio.gather(*(x.restart(random.uniform(0.5, 3.0)) for x in pick))
        info["ok"] = ok
        info["took_s"] = round(now() - t, 2)
        if not ok:
            self.fail("fault %d (%s) check failed: %s" % (self.window, kind, json.dumps(info)))
        # recovery: until every lane has had an answer after the fault
        asyncio.get_running_loop().create_task(self.recovery(self.window, t))

    async def recovery(self, w, t):
        while not self.stop_traffic:
            if all(ln.last_answer > t for ln in self.lanes()):
                self.windows[w][2]["recovery_s"] = round(max(ln.last_answer for ln in self.lanes()) - t, 2)
                return
            await asyncio.sleep(0.2)

    # ---- main
    async def run(self):
        a = self.args
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, lambda s=sig: self.interrupt(s))

        def on_error(loop, ctx):  # connection tasks cancelled at shutdown are no news
            if not isinstance(ctx.get("exception"), asyncio.CancelledError):
                loop.default_exception_handler(ctx)
        loop.set_exception_handler(on_error)
        self.main_task = asyncio.current_task()
        self.go = asyncio.Event()
        self.go.set()
        for x in self.gears:
            if x.role == "dev":
                await x.start()
        await self.gw["B"].start()
        await self.gw["A"].start()
        for x in self.gears:
            if x.role == "ncs":
                await x.start()
        log("running: %d links (%d with device-originated traffic), %d lanes, %.1f min; output %s" % (
            len(self.links), sum(k.passive for k in self.links), len(list(self.lanes())), a.minutes, self.out))
        mon = asyncio.create_task(self.monitor())
        prog = asyncio.create_task(self.progress())
        until = self.t0 + a.minutes * 60
        faults = asyncio.create_task(self.faults_loop(until))
        await asyncio.sleep(max(0, until - now()))
        await faults
        self.window_end = now() - self.t0
        log("traffic stops; waiting up to %d s for every lane's last answer" % a.final_wait_s)
        self.stop_traffic = True
        senders = [t for x in self.gears for t in x.tasks]
        done, pending = await asyncio.wait(senders, timeout=a.final_wait_s)
        for t in pending:
            t.cancel()
        for k in self.gears:
            await k.stop()
        mon.cancel()
        prog.cancel()
        for g in self.gw.values():
            self.sample(g, "end")
        self.shutting_down = True
        self.final_term = {}
        for name, g in self.gw.items():
            rc, dt = await g.kill(signal.SIGTERM, a.drain_ms / 1000.0 + 10)
            self.final_term[name] = (rc, round(dt, 2))
            if rc != 0:
                self.fail("gateway %s: SIGTERM at the end: exit %s" % (name, rc))
        self.pids_changed()

    def interrupt(self, sig):
        log("signal %d: stopping" % sig)
        self.main_task.cancel()

    def cleanup(self):
        self.shutting_down = True
        for g in self.gw.values():
            if g.pid:
                try:
                    os.kill(g.pid, signal.SIGKILL)
                except OSError:
                    pass


# ---------------------------------------------------------------- the verdict

def attribute(soak):
    """Each message goes to the fault that hit it: the latest fault that came while it was
    outstanding, or before every lane had been answered again after it (its recovery);
    a message no fault hit goes to "(no fault)"."""
    faults = []
    for w, (kind, at, info) in enumerate(soak.windows):
        if w:
            t = soak.t0 + at
            faults.append((w, t, t + info.get("recovery_s", 30.0)))
    faults.reverse()
    for ln in soak.lanes():
        for rec in ln.sent.values():
            end = rec.t_answer if rec.t_answer is not None else float("inf")
            rec.window = next((w for w, t, rec_end in faults if t <= end and rec.t_first <= rec_end), 0)


def count_lane(lane, per, windows):
    """Adds lane's counts into per[window type]; returns a list of problems."""
    probs = []
    applied_at = {}
    for pos, mid in enumerate(lane.applied):
        applied_at.setdefault(mid, []).append(pos)
    for mid, rec in lane.sent.items():
        c = per.setdefault(windows[rec.window][0], new_counts())
        c["sent"] += 1
        c["bytes"] += rec.size
        n = len(applied_at.get(mid, []))
        if rec.result is not None:
            c["answered"] += 1
        if rec.result == "nack":
            c["nacks"] += 1
            c["nack_applied"] += n > 0
        if rec.result == "wrong":
            c["wrong"] += 1
        if n:
            c["applied"] += 1
        if n > 1:
            c["dup"] += 1
            probs.append("%s #%d applied %d times" % (lane.key, mid, n))
        if rec.result in ("ack", "wrong", "nack") and n == 0 or rec.result is None:
            c["lost"] += 1
            probs.append("%s #%d %s" % (lane.key, mid, "never answered" if rec.result is None
                                        else "NACKed and never applied" if rec.result == "nack"
                                        else "answered but never applied"))
    prev = 0
    for mid in lane.applied:
        if mid <= prev:
            rec = lane.sent.get(mid)
            per.setdefault(windows[rec.window][0] if rec else "?", new_counts())["disorder"] += 1
            probs.append("%s #%d applied after #%d" % (lane.key, mid, prev))
        elif mid not in lane.sent:
            probs.append("%s #%d applied but never sent" % (lane.key, mid))
        prev = max(prev, mid)
    for what, mid, detail in lane.bad:
        if what in ("nack", "wrong answer"):
            probs.append("%s %s #%s: %s" % (lane.key, what, mid, detail))
            continue  # counted above
        rec = lane.sent.get(mid) if isinstance(mid, int) else None
        per.setdefault(windows[rec.window][0] if rec else "?", new_counts())["bad"] += 1
        probs.append("%s %s #%s: %s" % (lane.key, what, mid, detail))
    return probs


def judge_repeats(soak, per):
    """Every repeat among the raw arrivals at legacy gear must be explained by
    one fault, and a fault explains at most one repeat per lane (M-22):
      kill-A/kill-B    a gateway SIGKILLed while the message was in flight (the
                       message before it had arrived by the time of the kill);
      device-restart   that lane's device restarted while the message was in
                       flight, and either it is the sender (it repeats what it
                       had no answer for) or it is the receiver and its answer
                       had not reached the kernel when it stopped;
    and nothing else: a wss cut, a SIGHUP or a SIGTERM drain may cause no
    repeat at all. Adds per[fault kind]["repeats"] (explained, by the fault
    that explains them) and ["unexplained"]; returns the problems."""
    faults = [(soak.t0 + at, kind, info) for kind, at, info in soak.windows[1:]]
    probs = []
    for ln in soak.lanes():
        first, last, used = {}, {}, set()
        for mid, t, flushed in ln.arrivals:
            if mid not in first:
                first[mid], last[mid] = t, flushed
                continue
            prev_flushed, last[mid] = last[mid], flushed
            since = first.get(mid - 1, 0.0)
            why = None
            for i in range(len(faults) - 1, -1, -1):
                ft, kind, info = faults[i]
                if i in used or not since <= ft <= t:
                    continue
                if kind.startswith("kill-") or (kind == "device-restart" and ln.link.name in info.get("devices", [])
                                                and (ln.dir == "u" or not prev_flushed)):
                    why = i
                    break
            if why is not None:
                used.add(why)
                per.setdefault(faults[why][1], new_counts())["repeats"] += 1
            else:
                rec = ln.sent.get(mid)
                per.setdefault(soak.windows[rec.window][0] if rec else "?", new_counts())["unexplained"] += 1
                probs.append("%s #%d arrived again and no fault explains it (gateway crash or device restart with "
                             "it in flight)" % (ln.key, mid))
    return probs


def in_flight_fraction(soak):
    """The share of messages in flight during a fault: outstanding at some time
    between a fault and its recovery (every lane answered again after it)."""
    recs = [rec for ln in soak.lanes() for rec in ln.sent.values()]
    hit = sum(1 for rec in recs if rec.window)
    return hit, len(recs)


def new_counts():
    return {k: 0 for k in ("sent", "bytes", "answered", "applied", "repeats", "unexplained", "nacks",
                           "nack_applied", "lost", "dup", "disorder", "wrong", "bad")}


def median(xs):
    return statistics.median(xs) if xs else None


ARENA_ALIGN = 64 << 20  # glibc: a thread arena's heaps are HEAP_MAX_SIZE (64 MiB) aligned


def rss_split(pid):
    """Where the process's resident pages are, from /proc/PID/smaps (kB): file
    pages (the program, libraries), the main arena ([heap], brk), the other
    malloc arenas (anonymous, 64 MiB aligned), thread stacks (anonymous, right
    above a guard page of their own) and the rest of the anonymous pages (blocks
    malloc mapped one by one, libraries' own mappings). -1 each when unreadable.
    What RSS gains that malloc's figures do not follow shows in one of them."""
    out = {"rss_file": 0, "rss_brk": 0, "rss_arenas": 0, "rss_stacks": 0, "rss_anon_other": 0}
    try:
        with open("/proc/%d/smaps" % pid) as f:
            text = f.read()
    except OSError:
        return {k: -1 for k in out}
    prev_end, prev_guard = None, False
    vma = None

    def flush(v):
        if v is None:
            return
        start, end, perms, path, rss, guarded = v
        if path and not path.startswith("["):
            out["rss_file"] += rss
        elif path == "[heap]":
            out["rss_brk"] += rss
        elif path.startswith("[stack"):
            out["rss_stacks"] += rss
        elif path:
            out["rss_anon_other"] += rss  # [vdso], [vvar] ...
        elif start % ARENA_ALIGN == 0 and (end - start) <= ARENA_ALIGN:
            out["rss_arenas"] += rss
        elif guarded:
            out["rss_stacks"] += rss
        else:
            out["rss_anon_other"] += rss

    for line in text.splitlines():
        head = line.split(None, 5)
        if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            flush(vma)
            lo, hi = (int(x, 16) for x in head[0].split("-"))
            path = head[5].strip() if len(head) > 5 else ""
            guarded = prev_guard and prev_end == lo and not path
            vma = [lo, hi, head[1], path, 0, guarded]
            # a thread stack's guard: an inaccessible anonymous page right below it
            prev_guard = head[1].startswith("---") and not path and hi - lo <= 64 << 10
            prev_end = hi
        elif line.startswith("Rss:") and vma is not None:
            vma[4] = int(line.split()[1])
    flush(vma)
    return out


def heap_trend(part):
    """Slopes (kB/min) and ranges of the heap figures over the judged samples: in use (a
    leak or an uncapped cache grows it), free inside the arenas (fragmentation grows it),
    mapped blocks. '' when the gateway's /metrics could not be read."""
    got = [x for x in part if x.get("heap", -1) >= 0]
    if len(got) < 6:
        return ""
    trims = [x for x in got if x.get("trims", -1) >= 0]
    out = []
    for key, what in (("heap", "in use"), ("heap_free", "free in the arenas"), ("mmapped", "mapped"),
                      ("live", "live (in use + mapped)"),
                      ("answers", "of it the M-22 answers held (capped by answer_memory)"),
                      ("rss_brk", "RSS in the main arena"), ("rss_arenas", "RSS in the other arenas"),
                      ("rss_anon_other", "RSS anonymous elsewhere (mapped blocks)"),
                      ("rss_stacks", "RSS in thread stacks"), ("rss_file", "RSS of files")):
        if any(x.get(key, -1) < 0 for x in got):
            continue
        slope, _ = slope_of(got, key)
        out.append("%s %+.1f kB/min (%d..%d kB)" % (what, slope, min(x[key] for x in got),
                                                    max(x[key] for x in got)))
    if len(trims) >= 2:  # counters: what the trims did over the judged part
        out.append("trims %d, %d kB of RSS given back" % (trims[-1]["trims"] - trims[0]["trims"],
                                                        trims[-1]["trimmed"] - trims[0]["trimmed"]))
    return "; ".join(out) + " over %d samples" % len(got)


def slope_of(part, key="rss"):
    """The least-squares slope of part's key over time (kB/min) and, for
    information, its standard error from the residuals (the samples are not
    independent, so the true uncertainty is larger)."""
    mt = statistics.fmean(x["t"] for x in part)
    mr = statistics.fmean(x[key] for x in part)
    var = sum((x["t"] - mt) ** 2 for x in part)
    slope = 60.0 * sum((x["t"] - mt) * (x[key] - mr) for x in part) / var if var else 0.0
    resid = sum((x[key] - mr - slope / 60.0 * (x["t"] - mt)) ** 2 for x in part)
    se = 60.0 * math.sqrt(resid / (len(part) - 2) / var) if var and len(part) > 2 else 0.0
    return slope, se


def judge_memory(samples, soak):
    """RSS and fds flat?

    A restart resets a process, so samples are only compared within one process
    lifetime. Gateway A takes every SIGKILL/SIGTERM in the first sixth of the
    run and B in the last sixth (Soak.victim), so each gateway has one lifetime
    spanning five sixths of the run
    (B: start .. its first restart; A: its last restart .. end) under all the
    other faults (cuts, reloads, device restarts, the other gateway's
    restarts). In that lifetime the first third of its 30 s samples is
    warm-up; the median of its last third is compared with the median of its
    second third. A leak that grows with traffic or with faults shows as the
    difference. As a second view, every lifetime is sampled once at the same
    age after its start (AGE s): those figures must not grow from restart to
    restart either (state carried across restarts: journal, state files). The
    first start is left out of that view: it begins with an empty state
    directory, a restart by reading the journals back.
    """
    tol_pct, tol_rss_kb, tol_fd = soak.args.tol_pct, soak.args.tol_rss_kb, soak.args.tol_fds
    lines, ok, judged = [], True, True

    def grew(before, after, tol_abs, pct):
        return after - before > max(tol_abs, before * pct / 100.0)

    for name in ("A", "B"):
        lives = {}
        for s in samples:
            if s["gw"] == name and s["kind"] == "grid":
                lives.setdefault(s["life"], []).append(s)
        if not lives:
            lines.append("gateway %s: no samples" % name)
            ok = False
            continue
        life, ss = max(lives.items(), key=lambda kv: len(kv[1]))
        n = len(ss)
        # the warm-up: --warmup-s and at least the first third of the lifetime
        warm = max(soak.args.warmup_s, ss[n // 3]["age"] if n else 0.0)
        judged_part = [x for x in ss if x["age"] >= warm]
        # the samples at rest (Soak.rest) of that lifetime after the warm-up, for information
        # (what the process keeps without the messages in flight; not the verdict's: at rest
        # B's RSS still moved by 4 MB sd in a 12-minute check run, and 7 such samples judge a
        # slope less well than every 30 s sample does)
        at_rest = [x for x in samples if x["gw"] == name and x["kind"] == "rest" and x["life"] == life
                   and x["age"] >= warm]
        mine = len(judged_part) >= 6
        judged &= mine
        if not mine:
            lines.append("gateway %s: NOT JUDGED: its longest lifetime (life %d, %.1f min) has %d samples after a "
                         "%.0f s warm-up (6 needed)" % (name, life, (ss[-1]["age"] if ss else 0) / 60.0,
                                                       len(judged_part), warm))
            continue
        h = len(judged_part) // 2
        r2, r3 = median([s["rss"] for s in judged_part[:h]]), median([s["rss"] for s in judged_part[h:]])
        f2, f3 = median([s["fds"] for s in judged_part[:h]]), median([s["fds"] for s in judged_part[h:]])
        st2, st3 = median([s["state"] for s in judged_part[:h]]), median([s["state"] for s in judged_part[h:]])
        # The verdict on RSS: its least-squares slope after the warm-up, in kB
        # per minute (a slope of 20 kB/min is 29 MB a day if it keeps going);
        # the medians of the two halves are shown for information.
        slope, se = slope_of(judged_part)
        rest_line = ""
        if len(at_rest) >= 3:
            rslope, rse = slope_of(at_rest)
            rest_line = ("gateway %s life %d, RSS at rest (information: %d samples after the warm-up, each "
                         "after every lane drained and %g s without traffic): slope %+.1f kB/min (standard "
                         "error %.1f), %s kB" % (name, life, len(at_rest), soak.args.rest_settle_s, rslope,
                                                 rse, " ".join(str(x["rss"]) for x in at_rest)))
        rss_bad, fd_bad = slope > soak.args.max_slope_kb_min, grew(f2, f3, tol_fd, 0)
        heap_line = heap_trend(judged_part)
        ok &= not rss_bad and not fd_bad
        lines.append(
            "gateway %s life %d (pid %d, %.1f min, %d samples every %g s; judged after a %.0f s warm-up, %d samples): "
            "RSS slope %+.1f kB/min (%s; limit %g; standard error %.1f), median %d kB -> %d kB over the two halves; fds %g -> %g (%s); "
            "min..max RSS %d..%d kB, fds %d..%d; state dir %g -> %g kB" % (
                name, life, ss[0]["pid"], (ss[-1]["t"] - ss[0]["t"]) / 60.0, n, soak.args.sample_s, warm,
                len(judged_part), slope, "GREW" if rss_bad else "flat", soak.args.max_slope_kb_min, se, r2, r3,
                f2, f3, "GREW" if fd_bad else "flat", min(s["rss"] for s in ss), max(s["rss"] for s in ss),
                min(s["fds"] for s in ss), max(s["fds"] for s in ss), st2, st3))
        if rest_line:
            lines.append(rest_line)
        if heap_line:
            lines.append("gateway %s life %d, the heap (information, from /metrics): %s" % (name, life, heap_line))
        ages = [s for s in samples if s["gw"] == name and s["kind"] == "age"]
        if ages:
            lines.append("gateway %s at %g s after each start (life: RSS kB/fds): %s" % (
                name, soak.args.age_sample_s, ", ".join("%d: %d/%d" % (s["life"], s["rss"], s["fds"]) for s in ages)))
        # the first life starts with an empty state directory, the others by reading
        # their journals back: only restarts are alike
        ages = [s for s in ages if s["life"] > 1]
        if len(ages) < 3:
            lines.append("gateway %s across restarts: %d restart(s) sampled, too few to compare" % (name, len(ages)))
        else:
            h = len(ages) // 2
            a1, a2 = median([s["rss"] for s in ages[:h]]), median([s["rss"] for s in ages[h:]])
            b1, b2 = median([s["fds"] for s in ages[:h]]), median([s["fds"] for s in ages[h:]])
            abad = grew(a1, a2, tol_rss_kb, tol_pct) or grew(b1, b2, tol_fd, 0)
            if mine:
                ok &= not abad
            lines.append("gateway %s across its %d restarts: RSS median of the earlier half %d kB, later half %d kB; "
                         "fds %g, %g (%s)" % (name, len(ages), a1, a2, b1, b2, "GREW" if abad else "flat"))
    return ok, judged, lines


def gateway_log_counts(path):
    """Lines per log level, the commonest warn/error lines (numbers blanked), and the
    lines that tell of M-22 at work."""
    levels, lines = {}, {}
    special = {"answered again from memory": 0, "delivered again after a restart (relay)": 0,
               "journal replayed after a start": 0}
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return levels, lines, special
    with f:
        for line in f:
            m = re.match(r"castgate (\w+) ", line)
            if m is None:
                continue
            lv = m.group(1)
            levels[lv] = levels.get(lv, 0) + 1
            if lv not in ("info", "debug"):
                key = "%s: %s" % (lv, re.sub(r"\d+", "N", line[m.end():].strip())[:150])
                lines[key] = lines.get(key, 0) + 1
            if "answered again from memory" in line:
                special["answered again from memory"] += 1
            elif "delivered again (relay)" in line:
                special["delivered again after a restart (relay)"] += 1
            elif re.search(r"journal: \d+ request", line):
                special["journal replayed after a start"] += 1
    return levels, lines, special


def report(soak):
    a = soak.args
    per, probs = {}, []
    attribute(soak)
    for ln in soak.lanes():
        probs += count_lane(ln, per, soak.windows)
    probs += judge_repeats(soak, per)
    types = ["(no fault)", "wss-cut", "kill-A", "kill-B", "term-A", "term-B", "hup-A", "hup-B",
             "device-restart"]
    out = []
    P = out.append
    nfaults = len(soak.windows) - 1
    P("castgate soak %s: %.1f min of traffic, %d links (%d also device-originated, passive mode), "
      "%d stop-and-wait lanes, %d faults" % (time.strftime("%Y-%m-%d"), soak.window_end / 60.0, len(soak.links),
                                              sum(k.passive for k in soak.links), len(list(soak.lanes())), nfaults))
    P("host: %s, %d cores; castgate %s; think time 0..%d ms per lane" % (
        os.uname().nodename, os.cpu_count(), a.castgate, 2 * a.think_ms))
    P("")
    P("counts by the fault that hit each message (came while it was outstanding, or it was sent before every "
      "lane had been answered again after the fault):")
    hdr = ("fault", "faults", "sent", "MB", "answered", "applied", "repeats", "unexpl", "nacks", "lost", "dup",
           "disorder", "wrong", "bad")
    P("%-15s %6s %8s %7s %9s %8s %8s %6s %6s %5s %4s %8s %6s %4s" % hdr)
    total = new_counts()
    for t in types + sorted(set(per) - set(types)):
        c = per.get(t)
        if c is None:
            continue
        nf = sum(1 for w in soak.windows[1:] if w[0] == t) if t != "(no fault)" else 0
        for k in total:
            total[k] += c[k]
        P("%-15s %6d %8d %7.1f %9d %8d %8d %6d %6d %5d %4d %8d %6d %4d" % (
            t, nf, c["sent"], c["bytes"] / 1e6, c["answered"], c["applied"], c["repeats"], c["unexplained"],
            c["nacks"], c["lost"], c["dup"], c["disorder"], c["wrong"], c["bad"]))
    P("%-15s %6d %8d %7.1f %9d %8d %8d %6d %6d %5d %4d %8d %6d %4d" % (
        "total", nfaults, total["sent"], total["bytes"] / 1e6, total["answered"], total["applied"],
        total["repeats"], total["unexplained"], total["nacks"], total["lost"], total["dup"], total["disorder"],
        total["wrong"], total["bad"]))
    P("(sent: numbered messages; MB: their UCS-2BE bytes; applied: by the receiving legacy gear, once each; "
      "repeats: arrivals again under a messageID that had arrived (counted raw, before the gear's M-22 memory "
      "answers them), in the row of the fault that explains them: at most one per lane per gateway SIGKILL "
      "or device restart, none for any other fault; unexpl: repeats no fault explains (a failure); nacks: "
      "the test gear never NACKs, so each is a failure (%d applied anyway); bad: misrouted, corrupt, "
      "undecodable or keepAlive at legacy gear)" % total["nack_applied"])
    hit, allm = in_flight_fraction(soak)
    P("messages in flight during a fault (outstanding between a fault and its recovery): %d of %d (%.1f%%; "
      "target at least a third)" % (hit, allm, 100.0 * hit / max(1, allm)))
    kinds = {}
    for ln in soak.lanes():
        for rec in ln.sent.values():
            kinds[rec.kind] = kinds.get(rec.kind, 0) + 1
    P("message mix: " + ", ".join("%s %d" % kv for kv in sorted(kinds.items(), key=lambda kv: -kv[1])))
    P("lanes: %d strays (late answers to an earlier try), %d answer timeouts (repeated), %d (re)connections "
      "by the legacy gear" % (sum(ln.strays for ln in soak.lanes()), sum(ln.timeouts for ln in soak.lanes()),
                              sum(ln.reconnects for ln in soak.lanes())))
    P("")
    P("faults:")
    by = {}
    for (t, at, info) in soak.windows[1:]:
        by.setdefault(t, []).append(info)
    for t in types[1:]:
        infos = by.get(t, [])
        if not infos:
            continue
        rec = [i["recovery_s"] for i in infos if "recovery_s" in i]
        extra = ""
        if t == "wss-cut":
            extra = "sockets cut %s" % [i.get("sockets_cut") for i in infos]
        elif t.startswith("hup"):
            extra = "links kept %s, lanes down after %s" % ([i.get("kept") for i in infos],
                                                           [i.get("lanes_down_after") for i in infos])
        elif t.startswith("term"):
            extra = "exit %s after ms %s, in flight %s" % ([i.get("rc") for i in infos],
                                                         [i.get("exit_ms") for i in infos],
                                                         [i.get("in_flight") for i in infos])
        elif t == "device-restart":
            extra = "devices %s" % [len(i.get("devices", [])) for i in infos]
        P("  %-15s x%-2d checks %s; every lane answered again after median %s s, max %s s; %s" % (
            t, len(infos), "ok" if all(i.get("ok") for i in infos) else "FAILED",
            round(median(rec), 2) if rec else "-", max(rec) if rec else "-", extra))
    cpu = {}
    for smp in soak.samples:  # the last sample of each lifetime holds its CPU seconds
        cpu.setdefault(smp["gw"], {})[smp["life"]] = smp["cpu"]
    P("  CPU (user+system, whole run, approx.): %s" % ", ".join(
        "%s %.0f%% of a core" % (k, 100.0 * sum(v.values()) / max(1.0, soak.window_end))
        for k, v in sorted(cpu.items())))
    P("  final SIGTERM: %s" % ", ".join("%s exit %s in %s s" % (k, v[0], v[1]) for k, v in soak.final_term.items()))
    P("")
    P("gateway logs:")
    for name in ("A", "B"):
        g = soak.gw[name]
        levels, lines, special = gateway_log_counts(g.errp)
        P("  %s: %d lifetimes, %d crash(es); start to \"running\" %s s; log lines %s; %s" % (
            name, g.life, len(g.crashes), [round(x, 1) for x in g.ready_s], ", ".join("%s %d" % kv for kv in sorted(levels.items())),
            ", ".join("%s %d" % kv for kv in special.items())))
        for e, n in sorted(lines.items(), key=lambda kv: (not kv[0].startswith("error"), -kv[1]))[:8]:
            P("     %5d x %s" % (n, e))
    P("")
    P("memory and descriptors (RSS: slope after the warm-up at most %g kB/min; across restarts: +%g%% or +%d kB; "
      "fds +%d):" % (a.max_slope_kb_min, a.tol_pct, a.tol_rss_kb, a.tol_fds))
    mem_ok, judged, lines = judge_memory(soak.samples, soak)
    drv = [x for x in soak.samples if x["gw"] == "driver"]
    if drv:
        lines.append("the driver itself (information): RSS %d -> %d kB, fds %d -> %d" % (
            drv[0]["rss"], drv[-1]["rss"], drv[0]["fds"], drv[-1]["fds"]))
    for l in lines:
        P("  " + l)
    P("")
    data_ok = total["lost"] == 0 and total["dup"] == 0 and total["disorder"] == 0 and total["wrong"] == 0 \
        and total["bad"] == 0 and total["nacks"] == 0 and total["unexplained"] == 0 \
        and not any("never sent" in p for p in probs)
    if probs:
        P("problems (%d, first 40):" % len(probs))
        for p in probs[:40]:
            P("  " + p)
    for f in soak.failures:
        P("FAILED: " + f)
    verdict = data_ok and mem_ok and not soak.failures
    P("verdict: %s (data: %s; RSS/fds: %s; fault checks and crashes: %s)" % (
        "PASS" if verdict else "FAIL",
        "exactly once at legacy gear that keeps M-22, in order" if data_ok else "PROBLEMS",
        ("flat" if mem_ok else "GREW") if judged else "NOT JUDGED (run too short)", "ok" if not soak.failures else "%d failed" % len(soak.failures)))
    text = "\n".join(out) + "\n"
    with open(os.path.join(soak.out, "summary.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(soak.out, "summary.json"), "w") as f:
        json.dump({"per_window_type": per, "total": total, "windows": soak.windows, "failures": soak.failures,
                   "in_flight_during_a_fault": [hit, allm],
                   "problems": probs[:1000], "verdict": verdict}, f, indent=1, default=str)
    sys.stdout.write(text)
    return verdict


def main():
    global POOLS
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--castgate", required=True)
    p.add_argument("--src", required=True, help="the source tree (for scripts/dev-pki.sh)")
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", type=float, default=float(env("SOAK_MINUTES", "30")))
    p.add_argument("--links", type=int, default=int(env("SOAK_LINKS", "50")))
    p.add_argument("--think-ms", type=int, default=int(env("SOAK_THINK_MS", "1000")),
                   help="mean pause between a lane's messages (uniform 0..2x)")
    p.add_argument("--fault-min-s", type=float, help="least quiet time between faults")
    p.add_argument("--fault-max-s", type=float, help="most quiet time between faults")
    p.add_argument("--in-fault-target", type=float, default=float(env("SOAK_IN_FAULT", "0.5")),
                   help="aim: this share of the run spent between a fault and its recovery")
    p.add_argument("--max-slope-kb-min", type=float, default=float(env("SOAK_MAX_SLOPE", "20")),
                   help="RSS slope (least squares, after the warm-up) above which memory grew")
    p.add_argument("--sample-s", type=float)
    p.add_argument("--age-sample-s", type=float)
    p.add_argument("--retry-s", type=float, default=8.0, help="legacy gear repeats an unanswered request after")
    p.add_argument("--drain-ms", type=int, default=5000)
    p.add_argument("--hup-watch-s", type=float, default=3.0)
    p.add_argument("--final-wait-s", type=float, default=180.0)
    p.add_argument("--warmup-s", type=float, default=float(env("SOAK_WARMUP_S", "300")),
                   help="RSS/fds are judged after this warm-up (and after the first third of the lifetime)")
    p.add_argument("--rest-every-s", type=float, default=float(env("SOAK_REST_EVERY_S", "600")),
                   help="a rest this often (no new messages, drained, sampled at rest; 0: none)")
    p.add_argument("--rest-settle-s", type=float, default=float(env("SOAK_REST_SETTLE_S", "20")),
                   help="how long a rest waits, drained, before it samples")
    p.add_argument("--tol-pct", type=float, default=5.0)
    p.add_argument("--tol-rss-kb", type=int, default=2048)
    p.add_argument("--tol-fds", type=int, default=2)
    p.add_argument("--faults", default=env("SOAK_FAULTS", "wss-cut,kill,term,hup-A,hup-B,device-restart"),
                   help="the kinds of fault to inject (comma list; kill and term: of A, then of B)")
    p.add_argument("--victim", default=env("SOAK_VICTIM", "ends"), choices=("ends", "half", "A", "B"),
                   help="the gateway kill-X/term-X hit: A in the first sixth and B in the last (ends), "
                        "A in the first half and B after (half), or one "
                        "of them all along (a diagnostic run: the other then has one lifetime)")
    p.add_argument("--seed", type=int, default=int(env("SOAK_SEED", "0")) or None)
    a = p.parse_args()
    # a short run scales the schedule down, so it still sees every kind of fault
    scale = min(1.0, a.minutes / 30.0)
    a.fault_min_s = a.fault_min_s or 2.0
    a.fault_max_s = a.fault_max_s or max(20.0, 120.0 * scale)
    a.sample_s = a.sample_s or max(2.0, 30.0 * scale)
    a.age_sample_s = a.age_sample_s or max(6.0, 60.0 * scale)
    seed = a.seed if a.seed is not None else int(time.time())
    random.seed(seed)
    POOLS = Pools()
    os.makedirs(a.out, exist_ok=True)
    soak = Soak(a)
    log("castgate soak: seed %d, %g min, %d links, faults every %g..%g s, samples every %g s" % (
        seed, a.minutes, a.links, a.fault_min_s, a.fault_max_s, a.sample_s))
    try:
        soak.setup()
    except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
        log("setup failed: %s" % e)
        return 2
    try:
        asyncio.run(soak.run())
    except asyncio.CancelledError:
        log("interrupted: no verdict")
        return 1
    except RuntimeError as e:
        log("run failed: %s" % e)
        return 1
    finally:
        soak.cleanup()
    return 0 if report(soak) else 1


if __name__ == "__main__":
    sys.exit(main())
