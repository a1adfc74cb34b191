#!/usr/bin/env bash
# Issue 12 item 5 / issue 13 item 5: quadratic XML stalled the process (one
# message with 200,000 attributes on one element cost libxml2 seconds of CPU
# on the event loop; the gateway's MOS 2.x port has no authentication). Now a
# bounded pre-scan refuses it (and a DOCTYPE, and too deep a nesting) before
# libxml2 sees it, with a NACK giving the reason, while another lane keeps
# answering; a large valid message is validated off the loop and its lane
# keeps its order. No timing is asserted.
. "$(dirname "$0")/lib.sh"

start_dev_and_gateway 'max_depth = 40'

python3 - "$RO" "$MOM" >"$T/result" <<'PY'
import re, socket, sys, threading
ro, mom = int(sys.argv[1]), int(sys.argv[2])
E = lambda s: s.encode("utf-16-be")
END = E("</mos>")
def msg(mid, b):
    return E("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>%d</messageID>%s</mos>" % (mid, b))
class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port)); self.s.settimeout(300); self.buf = b""
    def answer(self):
        while True:
            i = self.buf.find(END)
            while i >= 0 and i % 2 != 0:
                i = self.buf.find(END, i + 1)
            if i >= 0:
                a, self.buf = self.buf[: i + len(END)], self.buf[i + len(END):]
                return re.sub(r"\s+", " ", a.decode("utf-16-be"))
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return "<no answer>"
            if not chunk:
                return "<closed>"
            self.buf += chunk
r = {}
# another lane: 20 requests one after the other while the attack runs
other = []
started = threading.Event()
def other_lane():
    m = Conn(mom)
    for k in range(20):
        m.s.sendall(msg(100 + k, "<reqMachInfo/>"))
        other.append(m.answer())
        started.set()
t = threading.Thread(target=other_lane); t.start()
started.wait(60)
c = Conn(ro)
attrs = "".join(' a%d="%d"' % (i, i) for i in range(200000))
big = msg(1, "<roReq%s><roID>A</roID></roReq>" % attrs)
print("attack_bytes |", len(big))
c.s.sendall(big)
r["attack_200000_attributes"] = c.answer()
c.s.sendall(msg(2, '<roReq><roID>B</roID></roReq>'))
r["after_attack"] = c.answer()
t.join()
r["other_lane_answers"] = "%d of 20 answered: %s" % (
    sum(1 for k, a in enumerate(other) if "<messageID>%d</messageID>" % (100 + k) in a and "listMachInfo" in a),
    " ".join(re.findall(r"<messageID>\d+</messageID>", " ".join(other))))
c.s.sendall(msg(3, '<!DOCTYPE roReq [<!ENTITY x "y">]><roReq><roID>&x;</roID></roReq>'))
r["doctype"] = c.answer()
c.s.sendall(msg(4, "<roReq><roID>C</roID>%s%s</roReq>" % ("<a>" * 45, "</a>" * 45)))
r["too_deep"] = c.answer()
# large messages go to the thread pool; the next one on the lane waits for them
pad = "<!-- %s -->" % ("p" * 300000)
c.s.sendall(msg(5, "<roReq><roID>D</roID>%s</roReq>" % pad) + msg(6, "<roReq><roID>E</roID></roReq>"))
r["large_valid"] = c.answer()
r["small_behind_large"] = c.answer()
c.s.sendall(msg(7, "<roReq><roID>F</roID><x>%s</roReq>" % pad) + msg(8, "<roReq><roID>G</roID></roReq>"))
r["large_invalid"] = c.answer()
r["small_behind_invalid"] = c.answer()
for k, v in r.items():
    print(k, "|", v)
PY
res() { grep "^$1 |" "$T/result"; }
check "200,000 attributes: a NACK naming the limit" \
  bash -c "grep '^attack_200000_attributes |' '$T/result' | grep -q '<messageID>1</messageID>.*more than 64 attributes on one element'"
check "the other lane's 20 answers all arrived" bash -c "grep -q '^other_lane_answers | 20 of 20' '$T/result'"
check "the lane goes on after the refusal" \
  bash -c "grep '^after_attack |' '$T/result' | grep -q '<messageID>2</messageID>.*<roStatus>OK'"
check "a DOCTYPE: refused with a NACK saying so" \
  bash -c "grep '^doctype |' '$T/result' | grep -q '<messageID>3</messageID>.*DOCTYPE is not allowed'"
check "nesting deeper than the configured 40: refused" \
  bash -c "grep '^too_deep |' '$T/result' | grep -q '<messageID>4</messageID>.*nested more than 40 deep'"
check "a large valid message (validated off the loop) is answered" \
  bash -c "grep '^large_valid |' '$T/result' | grep -q '<messageID>5</messageID>.*<roStatus>OK'"
check "the message behind it on the same lane is answered after it" \
  bash -c "grep '^small_behind_large |' '$T/result' | grep -q '<messageID>6</messageID>.*<roStatus>OK'"
check "a large malformed message: NACK (not well-formed)" \
  bash -c "grep '^large_invalid |' '$T/result' | grep -q '<messageID>7</messageID>.*not well-formed'"
check "and the one behind it is answered" \
  bash -c "grep '^small_behind_invalid |' '$T/result' | grep -q '<messageID>8</messageID>.*<roStatus>OK'"
check "refused messages never reached the device" \
  bash -c "! grep -qE '\"messageID\":\"(1|3|4|7)\"' '$T/dev.out'"
check "the refusal is logged with its reason" \
  bash -c "grep -q 'refused before parsing: more than 64 attributes on one element' '$T/gw.err'"
check "the gateway is still running" kill -0 "$GW"
[ "$FAILED" -eq 0 ] || { cut -c1-400 "$T/result"; tail -20 "$T/gw.err"; }
finish
