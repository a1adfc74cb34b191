#!/usr/bin/env bash
# Who may take a legacy port (issue 12 item 6; M-21 gives MOS 2.x no
# authentication). Raw sockets from 127.0.0.1, 127.0.0.2, … (all loopback)
# and ::1 against castgate run:
#   A (no legacy_allow): a newcomer from another address does not knock the
#     live connection off (refused, the live one keeps working); one from the
#     same address replaces it (gear reconnecting after a crash);
#   B (legacy_allow = 127.0.0.1, 127.0.0.4/31, ::1): others are closed before
#     a byte is read, logged once with the address however many come;
#   C/D: IPv6: ::1 allowed on one port, refused on another.
# The gateway answers heartbeats itself (heartbeat = answer), so no far side
# is needed: an answer means the connection has the lane.
. "$(dirname "$0")/lib.sh"

PA=$(free_port); PB=$(free_port); PC=$(free_port); PD=$(free_port)
cat >"$T/gw.conf" <<EOF2
[gateway]
state_dir = $T/s-gw
[link a]
legacy = ncs
ncs_id = NCSA
mos_id = DEV
channels = ro
heartbeat = answer
legacy_listen = 127.0.0.1:0,$PA
[link b]
legacy = ncs
ncs_id = NCSB
mos_id = DEV
channels = ro
heartbeat = answer
legacy_listen = 127.0.0.1:0,$PB
legacy_allow = 127.0.0.1, 127.0.0.4/31 ,::1
[link c]
legacy = ncs
ncs_id = NCSC
mos_id = DEV
channels = ro
heartbeat = answer
legacy_listen = [::1]:0,$PC
legacy_allow = ::1
[link d]
legacy = ncs
ncs_id = NCSD
mos_id = DEV
channels = ro
heartbeat = answer
legacy_listen = [::1]:0,$PD
legacy_allow = 127.0.0.1, fd00::/8
EOF2
"$CASTGATE" run --config "$T/gw.conf" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!; PIDS+=($GW)
wait_port "$PA" && wait_port "$PB" && wait_port "$PC" && wait_port "$PD" || { cat "$T/gw.err"; exit 1; }

python3 - "$PA" "$PB" "$PC" "$PD" >"$T/result" 2>"$T/py.err" <<'PY'
import json, socket, sys, time
pa, pb, pc, pd = map(int, sys.argv[1:5])
E = lambda s: s.encode("utf-16-be")
END = E("</mos>")
mid = [0]
def conn(port, src):
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    s = socket.socket(fam)
    s.bind((src, 0))
    s.connect(("::1" if fam == socket.AF_INET6 else "127.0.0.1", port))
    s.settimeout(5)
    return s
def hb(s, ncs):
    """A heartbeat; its answer, or <closed> if the gateway closed the connection."""
    mid[0] += 1
    try:
        s.sendall(E("<mos><mosID>DEV</mosID><ncsID>%s</ncsID><messageID>%d</messageID>"
                    "<heartbeat><time>2026-12-06T12:00:00</time></heartbeat></mos>" % (ncs, mid[0])))
        data = b""
        while True:
            i = data.find(END)
            if i >= 0 and i % 2 == 0:
                return "answered" if "<heartbeat>" in data.decode("utf-16-be") else data.decode("utf-16-be")
            chunk = s.recv(65536)
            if not chunk:
                return "<closed>"
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        return "<closed>"
    except socket.timeout:
        return "<no answer>"
def until_answered(port, src, ncs):
    """The lane is free again once the gateway has seen the last one go."""
    for _ in range(50):
        s = conn(port, src)
        if hb(s, ncs) == "answered":
            return s, "answered"
        s.close()
        time.sleep(0.2)
    return None, "never answered"
r = {}
# A: no list
s1 = conn(pa, "127.0.0.1")
r["a_first"] = hb(s1, "NCSA")
s2 = conn(pa, "127.0.0.2")
r["a_other_address_while_live"] = hb(s2, "NCSA")
r["a_live_still_works"] = hb(s1, "NCSA")
s3 = conn(pa, "127.0.0.1")
r["a_same_address_replaces"] = hb(s3, "NCSA")
r["a_replaced_one"] = hb(s1, "NCSA")
s3.close()
s4, r["a_other_address_once_free"] = until_answered(pa, "127.0.0.2", "NCSA")
# B: an allow list
r["b_not_listed"] = hb(conn(pb, "127.0.0.2"), "NCSB")
s5 = conn(pb, "127.0.0.5")
r["b_listed_prefix"] = hb(s5, "NCSB")
r["b_listed_other_while_live"] = hb(conn(pb, "127.0.0.1"), "NCSB")
r["b_live_still_works"] = hb(s5, "NCSB")
flood = [hb(conn(pb, "127.0.0.3"), "NCSB") for _ in range(30)]
r["b_flood"] = sorted(set(flood))
r["b_live_after_flood"] = hb(s5, "NCSB")
# C, D: IPv6
r["c_v6_listed"] = hb(conn(pc, "::1"), "NCSC")
r["d_v6_not_listed"] = hb(conn(pd, "::1"), "NCSD")
print(json.dumps(r))
PY
cat "$T/result"
res() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/result" "$1"; }
[ -s "$T/result" ] || { cat "$T/py.err"; cat "$T/gw.err"; bad "the client ran"; finish; exit 1; }

check "A: the first connection has the lane" [ "$(res a_first)" = answered ]
check "A: a newcomer from another address is refused while the lane is live" \
  [ "$(res a_other_address_while_live)" = "<closed>" ]
check "A: the live connection still works" [ "$(res a_live_still_works)" = answered ]
check "A: a newcomer from the same address takes over" [ "$(res a_same_address_replaces)" = answered ]
check "A: the connection it replaced is closed" [ "$(res a_replaced_one)" = "<closed>" ]
check "A: without a list, another address may connect once the port is free" \
  [ "$(res a_other_address_once_free)" = answered ]
check "B: an address not listed is closed" [ "$(res b_not_listed)" = "<closed>" ]
check "B: an address in a listed prefix (127.0.0.4/31) connects" [ "$(res b_listed_prefix)" = answered ]
check "B: a listed address is refused while another one is live" \
  [ "$(res b_listed_other_while_live)" = "<closed>" ]
check "B: the live connection still works" [ "$(res b_live_still_works)" = answered ]
check "B: 30 connections from an address not listed are all closed" [ "$(res b_flood)" = "['<closed>']" ]
check "B: the live connection works after the flood" [ "$(res b_live_after_flood)" = answered ]
check "C: ::1 listed connects over IPv6" [ "$(res c_v6_listed)" = answered ]
check "D: ::1 not listed is closed" [ "$(res d_v6_not_listed)" = "<closed>" ]
n3=$(grep -c 'refused a connection from 127.0.0.3: address not in legacy_allow' "$T/gw.err")
check "B: the flood from 127.0.0.3 is logged once with the address (got $n3 lines)" [ "$n3" = 1 ]
check "B: 127.0.0.2 refused and named in the log" \
  grep -q 'NCSB ro (MOS 2.x): refused a connection from 127.0.0.2: address not in legacy_allow' "$T/gw.err"
check "A: the refusal of a live port's newcomer is logged with its address" \
  grep -q 'NCSA ro (MOS 2.x): refused a connection from 127.0.0.2: the port is in use by a live connection from another address' "$T/gw.err"
check "D: ::1 refused and named in the log" grep -q 'NCSD ro (MOS 2.x): refused a connection from ::1' "$T/gw.err"
check "a port without a list says so at start" grep -q "NCSA: MOS 2.x ro on 127.0.0.1 port $PA (any address may connect" "$T/gw.err"
printf '[gateway]\n[link x]\nlegacy = ncs\nncs_id = N\nmos_id = M\nlegacy_listen = 127.0.0.1:0,%s\nlegacy_allow = 10.1.2.3/24\n' "$(free_port)" >"$T/bad.conf"
"$CASTGATE" run --check-config --config "$T/bad.conf" >"$T/bad.out" 2>&1
check "a malformed legacy_allow is refused with its text" grep -q "legacy_allow: .*10.1.2.3/24" "$T/bad.out"
finish
