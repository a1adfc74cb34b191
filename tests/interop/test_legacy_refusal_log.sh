#!/usr/bin/env bash
# Issue 12, denial of service (connection flood): connections a MOS 2.x port
# refuses (legacy_allow) are logged once per address and reason and minute,
# also when the flood rotates over several addresses (four attackers taking
# turns used to get one line per change of address, so most connections).
# Each address is still named once. No timing is asserted.
. "$(dirname "$0")/lib.sh"

start_dev_and_gateway '' 'legacy_allow = 127.0.0.1'

python3 - "$RO" >"$T/result" <<'PY'
import socket, sys
ro = int(sys.argv[1])
closed = 0
for k in range(50):
    for a in range(20, 24):  # four addresses taking turns
        s = socket.create_connection(("127.0.0.1", ro), timeout=10, source_address=("127.0.0.%d" % a, 0))
        try:
            closed += s.recv(16) == b""
        except ConnectionResetError:
            closed += 1
        s.close()
print("closed", closed)
PY
sleep 0.5
lines=$(grep -c 'refused a connection from 127.0.0.2[0-3]: address not in legacy_allow' "$T/gw.err")
check "200 connections from 4 rotating addresses were all closed" grep -q '^closed 200$' "$T/result"
check "logged once per address: 4 lines, not one per change of address (got $lines)" [ "$lines" = 4 ]
for a in 20 21 22 23; do
  check "127.0.0.$a is named" grep -q "refused a connection from 127.0.0.$a: address not in legacy_allow" "$T/gw.err"
done
check "the gateway is still running" kill -0 "$GW"
finish
