#!/usr/bin/env bash
# MOS 2.x ports (M-21) under a hostile sender (issue 12 follow-ups):
# 1. one legacy connection floods attribute-heavy messages (refused by the
#    pre-scan, each NACKed) mixed with junk as fast as it can, without
#    waiting for answers; meanwhile another lane's stop-and-wait requests
#    (M-22) are all answered. The gateway reads a bounded amount from one
#    connection per loop turn, so the other lane is served; no timing is
#    asserted, only that every answer arrives and every flood message is
#    NACKed in order.
# 2. a run of junk still open when a connection closes gets its line
#    ("N bytes of junk skipped"): legacy/conn.c ends the framer at close
#    (cg_mos_framer_finish).
. "$(dirname "$0")/lib.sh"

start_dev_and_gateway

python3 - "$RO" "$MOM" >"$T/result" 2>"$T/py.err" <<'PY'
import re, socket, sys, threading
ro, mom = int(sys.argv[1]), int(sys.argv[2])
E = lambda s: s.encode("utf-16-be")
END = E("</mos>")
def body(mid, b):
    return "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>%d</messageID>%s</mos>" % (mid, b)
class Reader:
    def __init__(self, s): self.s, self.buf = s, b""
    def answer(self):
        while True:
            i = self.buf.find(END)
            while i >= 0 and i % 2 != 0:
                i = self.buf.find(END, i + 1)
            if i >= 0:
                a, self.buf = self.buf[: i + len(END)], self.buf[i + len(END):]
                return a.decode("utf-16-be")
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return "<no answer>"
            if not chunk:
                return "<closed>"
            self.buf += chunk
FLOOD = 400
ATTRS = "".join(' a%d="%d"' % (i, i) for i in range(2000))  # over the 64 allowed per element
flood_msg = lambda mid: E(body(mid, "<roReq%s><roID>F</roID></roReq>" % ATTRS))
junk = E("junk " * 2000)
f = socket.create_connection(("127.0.0.1", ro)); f.settimeout(120)
def flooder():
    data = b"".join(junk + flood_msg(1000 + i) for i in range(FLOOD))
    f.sendall(data)
naks = []
def flood_reader():
    r = Reader(f)
    for _ in range(FLOOD):
        naks.append(r.answer())
t1 = threading.Thread(target=flooder); t2 = threading.Thread(target=flood_reader)
t1.start(); t2.start()
m = socket.create_connection(("127.0.0.1", mom)); m.settimeout(120)
rm = Reader(m)
answered = 0
for i in range(20):
    m.sendall(E(body(1 + i, "<reqMachInfo/>")))
    if "listMachInfo" in rm.answer():
        answered += 1
t1.join(); t2.join()
ids = [re.search(r"<messageID>(\d+)</messageID>", a) for a in naks]
nacked_in_order = all(x is not None and int(x.group(1)) == 1000 + i and "<roStatus>message refused" in a
                      for i, (x, a) in enumerate(zip(ids, naks)))
print("other_lane_answered", answered)
print("flood_answers", len([a for a in naks if a.startswith("<mos")]))
print("flood_nacked_in_order", nacked_in_order)
if naks: print("flood_first |", re.sub(r"\s+", " ", naks[0])[:300])
f.close(); m.close()
# a junk run still open at close
j = socket.create_connection(("127.0.0.1", ro)); j.settimeout(60)
rj = Reader(j)
j.sendall(E(body(5000, "<roReq><roID>A</roID></roReq>")))
print("before_junk |", re.sub(r"\s+", " ", rj.answer())[:200])
j.sendall(E("trailing junk!"))  # 14 characters, 28 bytes, then the peer goes
j.close()
PY
for _ in $(seq 100); do grep -q '28 bytes of junk skipped' "$T/gw.err" && break; sleep 0.1; done
check "the other lane's 20 requests were all answered" grep -qx 'other_lane_answered 20' "$T/result"
check "every flood message was answered" grep -qx 'flood_answers 400' "$T/result"
check "each with a NACK, in order" grep -qx 'flood_nacked_in_order True' "$T/result"
check "the message before the trailing junk was answered" \
  bash -c "grep '^before_junk |' '$T/result' | grep -q '<messageID>5000</messageID>.*<roStatus>OK'"
check "junk still open at close is logged with its byte count" \
  grep -q '28 bytes of junk skipped' "$T/gw.err"
check "the gateway is still running" kill -0 "$GW"
[ "$FAILED" -eq 0 ] || { cat "$T/result" "$T/py.err"; grep -i 'junk' "$T/gw.err" | tail -5; }
finish
