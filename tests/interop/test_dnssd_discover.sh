#!/usr/bin/env bash
# castgate discover finds two registered castgate instances (a MOS device and
# an NCS) and their TXT keys by unicast DNS-SD against a real BIND9 named.
set -euo pipefail
source "$(dirname "$0")/dnssd_lib.sh"
dn_setup
dn_start

common=(--server "127.0.0.1:$PORT" --domain example.test --type _mos._tcp --tsig-key "$T/tsig.key")
"$CASTGATE" dnssd register "${common[@]}" --instance "Device One" --host gw1.example.test --port 443 \
  --txt api_proto=wss --txt path=/mos/Communication --txt mosID=device1.example.test \
  --txt channels=mom,ro,aux --txt passive=no 2> "$T/one.err" &
PIDS+=($!)
"$CASTGATE" dnssd register "${common[@]}" --instance ncs2 --host gw2.example.test --port 8443 \
  --priority 5 --weight 7 --txt api_proto=wss --txt path=/mos/Communication \
  --txt ncsID=ncs2.example.test --txt channels=mom,ro --txt passive=yes 2> "$T/two.err" &
PIDS+=($!)
wait_for sh -c "[ \$(dig @127.0.0.1 -p $PORT +short _mos._tcp.example.test PTR | wc -l) -eq 2 ]" \
  || fail "two PTRs never appeared"

"$CASTGATE" discover _mos._tcp --domain example.test --server "127.0.0.1:$PORT" > "$T/found.json" \
  || fail "discover failed"
python3 - "$T/found.json" <<'PY' || fail "discover output: $(cat "$T/found.json")"
import json, sys
d = json.load(open(sys.argv[1]))
by = {i["name"]: i for i in d["instances"]}
assert set(by) == {"Device One", "ncs2"}, by.keys()
a, b = by["Device One"], by["ncs2"]
assert a["host"] == "gw1.example.test." and a["port"] == 443, a   # trailing dot kept (B-32)
assert a["txt"] == {"api_proto": "wss", "path": "/mos/Communication",
                    "mosID": "device1.example.test", "channels": "mom,ro,aux", "passive": "no"}, a
assert a["addresses"] == ["127.0.0.1"], a
assert b["host"] == "gw2.example.test." and b["port"] == 8443, b
assert b["priority"] == 5 and b["weight"] == 7, b
assert b["txt"]["ncsID"] == "ncs2.example.test" and b["txt"]["passive"] == "yes", b
assert sorted(b["addresses"]) == ["127.0.0.2", "::2"], b
PY
ok "discover lists both instances with host (trailing dot), port, TXT keys and addresses"

# resolve one instance by name; an unknown one is an error
"$CASTGATE" discover _mos._tcp --domain example.test --server "127.0.0.1:$PORT" --instance ncs2 \
  | grep -q '"ncsID":"ncs2.example.test"' || fail "resolve by instance name"
if "$CASTGATE" discover _mos._tcp --domain example.test --server "127.0.0.1:$PORT" \
  --instance nobody > /dev/null 2>&1; then fail "unknown instance resolved"; fi
ok "resolve by instance name"

# an empty type is an empty list, a dead server an error
"$CASTGATE" discover _nmos-register._tcp --domain example.test --server "127.0.0.1:$PORT" \
  | grep -q '"instances":\[\]' || fail "empty browse"
dead=$(free_port)
if "$CASTGATE" discover _mos._tcp --domain example.test --server "127.0.0.1:$dead" --timeout 300 \
  > /dev/null 2> "$T/dead.err"; then fail "dead server gave a result"; fi
"$CASTGATE" discover --help | grep -q "usage: castgate discover" || fail "--help"
ok "empty type, unreachable server, --help"

# withdraw one: the other stays discoverable
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" || fail "withdraw exit status"
"$CASTGATE" discover _mos._tcp --domain example.test --server "127.0.0.1:$PORT" > "$T/after.json"
grep -q '"ncs2"' "$T/after.json" && ! grep -q 'Device One' "$T/after.json" || fail "after withdraw: $(cat "$T/after.json")"
ok "after one withdraws, discover lists only the other"
# Many instances: the PTR answer no longer fits a 512-byte datagram (TC), so
# browse asks again over TCP and still lists them all.
{
  echo "server 127.0.0.1 $PORT"; echo "zone example.test"
  for i in $(seq -w 1 30); do
    n="bulk-instance-number-$i-with-a-rather-long-name._mos._tcp.example.test"
    echo "update add _mos._tcp.example.test 60 PTR $n"
    echo "update add $n 60 SRV 0 0 4$i gw1.example.test"
    echo "update add $n 60 TXT \"api_proto=wss\" \"n=$i\""
  done
  echo "send"
} | nsupdate -k "$T/tsig.key" || fail "nsupdate bulk add"
dig @127.0.0.1 -p "$PORT" +ignore +noedns _mos._tcp.example.test PTR | grep -q 'flags:.* tc' \
  || fail "the PTR answer is not truncated over UDP (test is void)"
"$CASTGATE" discover _mos._tcp --domain example.test --server "127.0.0.1:$PORT" -v \
  > "$T/many.json" 2> "$T/many.err" || { cat "$T/many.err"; fail "discover with many instances"; }
grep -q "retrying over TCP" "$T/many.err" || fail "no TCP retry logged"
python3 - "$T/many.json" <<'PY' || fail "many: $(head -c 300 "$T/many.json")"
import json, sys
d = json.load(open(sys.argv[1]))
names = {i["name"] for i in d["instances"]}
assert len(names) == 31, len(names)
b = [i for i in d["instances"] if i["name"].startswith("bulk-instance-number-07-")][0]
assert b["port"] == 407 and b["txt"] == {"api_proto": "wss", "n": "07"}, b
PY
ok "31 instances: truncated UDP answer fetched again over TCP"
echo "PASS"
