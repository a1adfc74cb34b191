#!/usr/bin/env bash
# Bad input from legacy gear at the gateway (M-21): junk between messages,
# an oversize message, invalid UCS-2, a truncated message then a disconnect.
# Each is logged and answered with a NACK where the sender waits for one; the
# link carries on, and the other channel never notices.
. "$(dirname "$0")/lib.sh"

P=$T/pki
make_pki "$P" "$(free_port)"
RO=$(free_port); MOM=$(free_port); WSS=$(free_port); TRO=$(free_port)
cat >"$T/dev.conf" <<EOF2
[endpoint]
role = mos
id = DEV
listen = 127.0.0.1:$WSS
auth = none  # no login on this test listener (M-05)
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
ocsp = no
state_dir = $T/s-dev
[peer NCS]
channels = mom,ro
[peer NCS2]
channels = ro
EOF2
cat >"$T/gw.conf" <<EOF2
[gateway]
max_message = 32768
state_dir = $T/s-gw
[link ncs]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:$MOM,$RO
channels = mom,ro
removed_in_4 = reject
url = wss://localhost:$WSS/mos/Communication
ca = $P/root-ca.pem
[link translator]
legacy = ncs
ncs_id = NCS2
mos_id = DEV
legacy_listen = 127.0.0.1:0,$TRO
channels = ro
removed_in_4 = translate
url = wss://localhost:$WSS/mos/Communication
ca = $P/root-ca.pem
EOF2
"$CASTGATE" mos serve --config "$T/dev.conf" >"$T/dev.out" 2>"$T/dev.err" &
PIDS+=($!); wait_port "$WSS"
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!; PIDS+=($GW); wait_port "$RO"

python3 - "$RO" "$MOM" "$TRO" "${CG_SHARED_DIR:-$SRC/../shared}/fixtures/mos/spec/legacy" >"$T/result" <<'PY'
import re, socket, sys
ro, mom, tro, legacy = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
E = lambda s: s.encode("utf-16-be")
END = E("</mos>")
def msg(mid, body):
    return E("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID>%s%s</mos>" % (
        "<messageID>%d</messageID>" % mid if mid else "", body))
def answer(s):
    data = b""
    while True:
        i = data.find(END)
        if i >= 0 and i % 2 == 0:
            return data[: i + len(END)].decode("utf-16-be")
        chunk = s.recv(65536)
        if not chunk:
            return "<closed>"
        data += chunk
def conn(port):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(10); return s
r = {}
s = conn(ro)
s.sendall(E("junk between messages\r\n") + msg(1, "<roReq><roID>A</roID></roReq>"))
r["junk_then_valid"] = answer(s)
s.sendall(msg(2, "<roReq><roID>%s</roID></roReq>" % ("x" * 40000)))
r["oversize"] = answer(s)
s.sendall(E("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>3</messageID><roReq><roID>")
          + b"\xd8\x00\x00A" + E("</roID></roReq></mos>"))  # a lone high surrogate
r["bad_ucs2"] = answer(s)
s.sendall(msg(4, "<roReq><roID>B</roID></roReq>"))
r["valid_after"] = answer(s)
s.sendall(msg(5, "<roReq><roID>C</roID></roReq>")[:40])
s.close()
s = conn(ro)
s.sendall(msg(6, "<roReq><roID>D</roID></roReq>"))
r["after_truncated_disconnect"] = answer(s)
s.sendall(msg(8, "<roStoryDelete><roID>A</roID><storyID>S1</storyID></roStoryDelete>"))
r["removed_in_4"] = answer(s)
m = conn(mom)
m.sendall(msg(7, "<reqMachInfo/>"))
r["other_channel"] = answer(m)
# M-12, translate: the spec's own roStoryInsert and roStoryMove become roElementAction;
# roStoryAppend has no exact form and is refused with the reason
t = conn(tro)
def fixture(name, mid, edit=lambda x: x):
    x = open("%s/%s.xml" % (legacy, name), encoding="utf-8").read()
    x = re.sub(r"<mosID>.*?</mosID>", "<mosID>DEV</mosID>", x)
    x = re.sub(r"<ncsID>.*?</ncsID>", "<ncsID>NCS2</ncsID>", x)
    return E(edit(re.sub(r"<messageID>.*?</messageID>", "<messageID>%d</messageID>" % mid, x)))
for name, mid in (("roStoryInsert", 21), ("roStoryMove", 22), ("roStoryAppend", 23)):
    t.sendall(fixture(name, mid))
    r["translate_" + name] = answer(t)
t.sendall(fixture("roStoryMove", 24, lambda x: re.sub(r"(<storyID>[^<]*</storyID>\s*)<storyID>[^<]*</storyID>", r"\1<storyID/>", x)))
r["translate_move_to_bottom"] = answer(t)
for k, v in r.items():
    print(k, "|", re.sub(r"\s+", " ", v))
PY
check "junk between messages skipped, the next message answered" bash -c "grep '^junk_then_valid |' '$T/result' | grep -q '<messageID>1</messageID>.*<roStatus>OK'"
check "oversize message: a NACK saying so" bash -c "grep '^oversize |' '$T/result' | grep -q 'message too large'"
check "invalid UCS-2: a NACK saying so" bash -c "grep '^bad_ucs2 |' '$T/result' | grep -q 'not valid UCS-2BE'"
check "the link carries on after bad input" bash -c "grep '^valid_after |' '$T/result' | grep -q '<messageID>4</messageID>.*OK'"
check "truncated message then disconnect: the next connection works" bash -c "grep '^after_truncated_disconnect |' '$T/result' | grep -q '<messageID>6</messageID>.*OK'"
check "the other channel never noticed" bash -c "grep '^other_channel |' '$T/result' | grep -q 'listMachInfo'"
check "each problem logged (junk, too large, encoding)" bash -c "grep -q 'junk between messages' '$T/gw.err' && grep -q 'message too large' '$T/gw.err' && grep -q 'not UCS-2BE' '$T/gw.err'"
check "the device never saw the bad messages" bash -c "! grep -qE '\"messageID\":\"(2|3|5)\"' '$T/dev.out'"
check "M-12 policy reject: roStoryDelete refused with a NACK naming it" \
  bash -c "grep '^removed_in_4 |' '$T/result' | grep -q '<messageID>8</messageID>.*roStoryDelete was removed in MOS 4.0'"
check "M-12 translate: roStoryInsert reached the device as roElementAction, same messageID" \
  bash -c "grep '^translate_roStoryInsert |' '$T/result' | grep -q '<messageID>21</messageID>.*OK' && grep -q '\"message\":\"roElementAction\".*\"messageID\":\"21\"' '$T/dev.out'"
check "M-12 translate: roStoryMove too (the story above which = before which)" \
  bash -c "grep '^translate_roStoryMove |' '$T/result' | grep -q 'OK' && grep -q '\"message\":\"roElementAction\".*\"messageID\":\"22\"' '$T/dev.out'"
check "M-12 translate: roStoryAppend (no exact form) refused with a NACK saying why" \
  bash -c "grep '^translate_roStoryAppend |' '$T/result' | grep -q '<messageID>23</messageID>.*cannot translate: .*roStoryAppend'"
check "M-12 translate: a move to the bottom (blank reference) refused, never approximated" \
  bash -c "grep '^translate_move_to_bottom |' '$T/result' | grep -q '<messageID>24</messageID>.*cannot translate' && ! grep -q '\"messageID\":\"2[34]\"' '$T/dev.out'"
check "the gateway is still running" kill -0 "$GW"
finish
