#!/usr/bin/env bash
# Issue 12 items 2 and 3 (M-21): junk of odd length on a UCS-2BE legacy
# connection (three stray bytes, a UTF-8 message sent to a UCS-2BE port) put
# the framer on the wrong byte parity and every later message on that
# connection was swallowed. Now the gateway re-aligns and answers each valid
# message after the junk, and logs how many bytes it skipped. A leading byte
# order mark is accepted quietly (no junk line).
. "$(dirname "$0")/lib.sh"

start_dev_and_gateway

python3 - "$RO" "$MOM" >"$T/result" <<'PY'
import re, socket, sys
ro, mom = int(sys.argv[1]), int(sys.argv[2])
E = lambda s: s.encode("utf-16-be")
END = E("</mos>")
def body(mid, b):
    return "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>%d</messageID>%s</mos>" % (mid, b)
def msg(mid, b="<roReq><roID>A</roID></roReq>"):
    return E(body(mid, b))
buf = b""
def answer(s):
    # answers are UCS-2BE from the gateway: cut at an even `</mos>`
    global buf
    while True:
        i = buf.find(END)
        while i >= 0 and i % 2 != 0:
            i = buf.find(END, i + 1)
        if i >= 0:
            a, buf = buf[: i + len(END)], buf[i + len(END):]
            return a.decode("utf-16-be")
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return "<no answer>"
        if not chunk:
            return "<closed>"
        buf += chunk
s = socket.create_connection(("127.0.0.1", ro)); s.settimeout(20)
r = {}
s.sendall(b"xyz" + msg(1))                      # three stray bytes
r["after_3_stray_bytes"] = answer(s)
s.sendall(msg(2))
r["next_on_same_conn"] = answer(s)
s.sendall(body(3, "<roReq/>x").encode() + msg(4))  # UTF-8 message, odd length
r["after_utf8_message"] = answer(s)
s.sendall(b"\x00")                              # one byte: the next '<' straddles it
s.sendall(msg(5)[:7]); s.sendall(msg(5)[7:])    # and a split at an odd byte
r["after_1_stray_byte_split"] = answer(s)
s.sendall(b"\xfe\xff" + msg(6))                 # a byte order mark
r["after_bom"] = answer(s)
m = socket.create_connection(("127.0.0.1", mom)); m.settimeout(20)
m.sendall(msg(7, "<reqMachInfo/>"))
r["other_channel"] = answer(m)
for k, v in r.items():
    print(k, "|", re.sub(r"\s+", " ", v))
PY
for pair in "after_3_stray_bytes 1" "next_on_same_conn 2" "after_utf8_message 4" \
            "after_1_stray_byte_split 5" "after_bom 6"; do
  set -- $pair
  check "$1: answered (messageID $2, roStatus OK)" \
    bash -c "grep '^$1 |' '$T/result' | grep -q '<messageID>$2</messageID>.*<roStatus>OK'"
done
check "the other channel answered" bash -c "grep '^other_channel |' '$T/result' | grep -q listMachInfo"
check "the UTF-8 message (junk on this port) never reached the device" \
  bash -c "! grep -q '\"messageID\":\"3\"' '$T/dev.out'"
check "the log says how many bytes were skipped and where" \
  bash -c "grep -q '3 bytes of junk skipped from byte 0 (odd count: re-aligned)' '$T/gw.err'"
check "exactly three junk runs logged (the BOM is not one)" \
  bash -c "[ \$(grep -c 'bytes of junk skipped' '$T/gw.err') -eq 3 ]"
check "the gateway is still running" kill -0 "$GW"
[ "$FAILED" -eq 0 ] || { cat "$T/result"; grep -i 'junk\|mos' "$T/gw.err" | head -20; }
finish
