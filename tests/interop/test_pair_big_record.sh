#!/usr/bin/env bash
# A gateway pair replicates a record as large as the messages the gateway
# takes (issue 18, docs/redundancy.md "What is replicated, and when the
# sender gets its answer"; tools/pair_build.h pairb_max_record). [gateway]
# max_message = 32 MiB; a legacy NCS (MOS 2.x, UCS-2BE, M-21) sends one
# roReq of about 17 MB (whitespace inside it) to node 0, the active, with
# node 1 its standby. Checked: the NCS gets its answer; node 0 replicated
# every record (no "not replicated", its numbers in step with the pair's);
# node 1 stored the 17 MB request record. Before: the replication link
# took records of 16 MiB less 32 bytes at most, so node 0 logged "journal
# record 1 not replicated: the data is too large" and released the answer
# once the next (small) record was acknowledged: the sender had its answer,
# and the standby never had the request.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pair_lib.sh"

pair_setup
for n in 0 1; do
  pair_conf "$n" "$([ "$n" = 0 ] && echo "$A0" || echo "$A1")" >"$T/n$n.conf"
  sed -i "/^\[gateway\]/a max_message = 33554432" "$T/n$n.conf"
  sed -i "s/^ack_timeout_ms = .*/ack_timeout_ms = 20000/" "$T/n$n.conf"
done
check "node 0's file is accepted" "$CASTGATE" run --config "$T/n0.conf" --check-config

start_mos4_device DEV "$WSS"
start_pair

# the NCS: one roReq of ~17 MB in UCS-2BE, then its answer (ncs.out: "ack")
python3 - "$A0" >"$T/ncs.out" 2>"$T/ncs.err" <<'EOF' &
import json, socket, sys
pad = " " * (8600 * 1000)
msg = ("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>1</messageID>"
       "<roReq><roID>seq 1</roID>%s</roReq></mos>" % pad).encode("utf-16-be")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(180)
s.sendall(msg)
end, buf, done = "</mos>".encode("utf-16-be"), b"", False
while not done:
    d = s.recv(65536)
    if not d:
        break
    buf += d
    while True:  # each whole message received; the answer is the one with messageID 1
        i = buf.find(end)
        while i >= 0 and i % 2:
            i = buf.find(end, i + 1)
        if i < 0:
            break
        m, buf = buf[: i + len(end)].decode("utf-16-be"), buf[i + len(end):]
        if "<messageID>1</messageID>" in m:
            print(json.dumps({"event": "ack", "seq": 1, "bytes": len(msg),
                              "messageID1": True}), flush=True)
            done = True
            break
EOF
NCS=$!; PIDS+=($NCS)
step "the NCS gets the answer to its 17 MB request" 180 \
  'any(x["event"] == "ack" and x["messageID1"] for x in n)'
check "node 0 replicated every record (no 'not replicated' in its log)" \
  bash -c "! grep -q 'not replicated' '$T/n0.err'"
check "node 0's record numbers stayed in step with the pair's" \
  bash -c "! grep -q 'out of step' '$T/n0.err'"
check "node 1 stored the 17 MB request record" \
  bash -c "find '$T/s-1' -type f -size +16384k | grep -q ."
check "node 1 stayed a standby" wait_until 1 'not pair(g1, "active")'
check "node 0 stops cleanly" stop_pid "$G0"
check "node 1 stops cleanly" stop_pid "$G1"
finish
