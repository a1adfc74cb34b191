#!/usr/bin/env bash
# A burst of 200 pipelined requests from legacy gear through the gateway
# (issue 12 item 16). "<roAck> answers messageID N, not the one outstanding:
# dropped" was logged for answers the NCS did receive: the log was true, the
# path was wrong. The gateway forwards the next held request from inside the
# completion of the last, and the OUT lane then sent it a second time; the
# device answered the repeat from memory (M-22) and that second answer was
# dropped. Now: each request reaches the device once, every request is
# answered once, and no answer is dropped.
. "$(dirname "$0")/lib.sh"

start_dev_and_gateway
for ((i = 0; i < 200; i++)); do
  grep -q '"side":"mos4".*"channel":"ro","dir":"out","up":true' "$T/gw.out" && break
  sleep 0.1
done
timeout 150 python3 - "$RO" 200 >"$T/ncs.out" <<'PY'
import json, re, socket, sys, time
ro, n = int(sys.argv[1]), int(sys.argv[2])
E = lambda s: s.encode("utf-16-be")
END = E("</mos>")
msg = lambda i: E("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>%d</messageID><roCreate>"
                  "<roID>RO%d</roID><roSlug>burst %d</roSlug></roCreate></mos>" % (i, i, i))
s = socket.create_connection(("127.0.0.1", ro)); s.settimeout(1)
s.sendall(b"".join(msg(i) for i in range(1, n + 1)))  # pipelined: no waiting
got, buf, t0 = {}, b"", time.time()
while time.time() - t0 < 120 and len(got) < n:
    try:
        buf += s.recv(65536)
    except socket.timeout:
        pass
    while True:
        i = buf.find(END)
        if i < 0 or i % 2:
            break
        m, buf = buf[: i + len(END)].decode("utf-16-be"), buf[i + len(END):]
        got.setdefault(re.search(r"<messageID>(\d+)", m).group(1), []).append(
            re.search(r"<roStatus>(.*?)</roStatus>", m).group(1))
time.sleep(1)  # any extra answer would come now
try:
    buf += s.recv(65536)
except socket.timeout:
    pass
print(json.dumps({"answered": len(got), "twice": sum(len(v) - 1 for v in got.values()) + buf.count(END),
                  "ok": sum(1 for v in got.values() if v[0] == "OK")}))
PY
cat "$T/ncs.out"
delivered=$(grep -c '"message":"roCreate"' "$T/dev.out")
repeats=$(grep -c 'answered again from memory\|while it is being answered' "$T/dev.err")
dropped=$(grep -c 'not the one outstanding\|does not answer' "$T/gw.err")
echo "device: $delivered roCreate delivered, $repeats repeated messageIDs; gateway: $dropped answers dropped"
v() { python3 -c "import json,sys; d=json.load(open('$T/ncs.out')); sys.exit(0 if ($1) else 1)"; }
check "every one of the 200 requests was answered exactly once" v "d['answered'] == 200 and d['twice'] == 0"
check "each forwarded request reached the device once (no repeats at the device)" test "$repeats" = 0
check "as many delivered as acknowledged OK" v "d['ok'] == $delivered"
check "no answer dropped as 'not the one outstanding'" test "$dropped" = 0
finish
