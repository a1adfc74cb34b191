#!/usr/bin/env bash
# Issue 12, denial of service (quadratic XML): a message the bounded pre-scan
# refuses is answered from its envelope's head only (mosID, ncsID, messageID
# and the element's name, read up to just past the refused markup), not from
# a parse of the whole message (for a 6 MB attack that whole parse was one
# ~3 ms loop turn). So the NACK carries the messageID even when what follows
# the refused markup is no valid envelope at all (here: an element that is
# never closed; and a second message element), and the log names the element.
# No timing is asserted.
. "$(dirname "$0")/lib.sh"

start_dev_and_gateway

python3 - "$RO" >"$T/result" <<'PY'
import re, socket, sys
ro = int(sys.argv[1])
E = lambda s: s.encode("utf-16-be")
END = E("</mos>")
def msg(mid, b):
    return E("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>%d</messageID>%s</mos>" % (mid, b))
s = socket.create_connection(("127.0.0.1", ro)); s.settimeout(120); buf = b""
def answer():
    global buf
    while True:
        i = buf.find(END)
        while i >= 0 and i % 2 != 0:
            i = buf.find(END, i + 1)
        if i >= 0:
            a, buf = buf[: i + len(END)], buf[i + len(END):]
            return re.sub(r"\s+", " ", a.decode("utf-16-be"))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return "<no answer>"
        if not chunk:
            return "<closed>"
        buf += chunk
attrs = "".join(' a%d="%d"' % (i, i) for i in range(5000))
r = {}
s.sendall(msg(21, "<roReq%s><roID>A</roID></roReq><roReq><roID>B</roID></roReq>" % attrs))
r["two_elements"] = answer()
s.sendall(msg(22, "<roReq%s><roID>A</roID>" % attrs))
r["not_closed"] = answer()
s.sendall(msg(23, "<roReq><roID>C</roID></roReq>"))
r["after"] = answer()
for k, v in r.items():
    print(k, "|", v[:600])
PY
check "refused, followed by a second message element: NACK with its messageID" \
  bash -c "grep '^two_elements |' '$T/result' | grep -q '<messageID>21</messageID>.*more than 64 attributes on one element'"
check "refused, and the element never closed: NACK with its messageID" \
  bash -c "grep '^not_closed |' '$T/result' | grep -q '<messageID>22</messageID>.*more than 64 attributes on one element'"
check "the lane goes on" bash -c "grep '^after |' '$T/result' | grep -q '<messageID>23</messageID>.*<roStatus>OK'"
check "the log names the refused element" \
  bash -c "grep -q '<roReq> refused before parsing: more than 64 attributes' '$T/gw.err'"
check "the gateway is still running" kill -0 "$GW"
[ "$FAILED" -eq 0 ] || { cut -c1-400 "$T/result"; grep -i 'refused\|NACK' "$T/gw.err" | tail -5; }
finish
