#!/usr/bin/env bash
# make demo: MOS 4.0 over secure WebSockets on built-in defaults.
#   PKI      demo/pki (made once by scripts/dev-pki.sh; root CA demo/pki/root-ca.pem)
#   OCSP     openssl ocsp on 127.0.0.1:8888 (the responder named in the certificates)
#   device   castgate mos serve --config examples/mos-device.conf:
#            wss://localhost:8443/mos/Communication on 127.0.0.1, RSA + ECDSA certificates,
#            OCSP stapling, HSTS, Basic auth from demo/mos-device.htpasswd
#   NCS      castgate mos send --config examples/ncs.conf: a running order, a roReq and a
#            reqMachInfo to the device; both sides print the exchange as JSON lines
#   gateway  castgate run --config examples/gateway.conf: a legacy MOS 2.x NCS (scripted,
#            UCS-2BE over TCP on 127.0.0.1:10541) reaches the same device through it, its
#            messageIDs unchanged end to end; its status page and /metrics on
#            https://localhost:9410/ (user admin, password in demo/admin.password)
# The device keeps serving afterwards; Ctrl-C stops all of it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CASTGATE:-$root/build/bin/castgate}
dir=$root/demo
pki=$dir/pki
ocsp_port=8888
cd "$root"

bash scripts/dev-pki.sh --dir "$pki" --host localhost --ocsp-port "$ocsp_port" >/dev/null
if [ ! -f "$dir/mos-device.htpasswd" ]; then # M-05 credentials for the demo NCS
  (umask 077; head -c 18 /dev/urandom | base64 >"$dir/ncs.password")
  "$bin" passwd "$dir/mos-device.htpasswd" ncs.castgate.demo <"$dir/ncs.password" >/dev/null
fi
if [ ! -f "$dir/gateway.htpasswd" ]; then # M-05: the device logs in when it originates
  (umask 077; head -c 18 /dev/urandom | base64 >"$dir/device.password")
  "$bin" passwd "$dir/gateway.htpasswd" mos.castgate.demo <"$dir/device.password" >/dev/null
fi
if [ ! -f "$dir/admin.htpasswd" ]; then # the gateway's admin listener (status page, /metrics)
  (umask 077; head -c 12 /dev/urandom | base64 | tr -d '/+=' >"$dir/admin.password")
  "$bin" passwd "$dir/admin.htpasswd" admin <"$dir/admin.password" >/dev/null
fi

ocsp_pid=
serve_pid=
gw_pid=
# openssl ocsp reacts to SIGTERM only at its next connection: SIGKILL it.
cleanup() {
  trap - INT TERM EXIT
  [ -n "$ocsp_pid" ] && kill -KILL "$ocsp_pid" 2>/dev/null
  [ -n "$gw_pid" ] && kill -TERM "$gw_pid" 2>/dev/null
  [ -n "$serve_pid" ] && kill -INT "$serve_pid" 2>/dev/null
  wait 2>/dev/null
  exit 0
}
trap cleanup INT TERM EXIT
if ss -Hltn "sport = :$ocsp_port" | grep -q .; then
  echo "demo: port $ocsp_port is taken: is another OCSP responder running? (stapling may fail)" >&2
else
  bash scripts/ocsp-responder.sh "$pki" "$ocsp_port" >"$dir/ocsp.log" 2>&1 &
  ocsp_pid=$!
  for _ in $(seq 100); do ss -Hltn "sport = :$ocsp_port" | grep -q . && break; sleep 0.05; done
fi

cat <<EOF2

castgate demo — MOS 4.0 over secure WebSockets (BCP-003-01)
  device  mos.castgate.demo  wss://localhost:8443/mos/Communication   (examples/mos-device.conf)
  NCS     ncs.castgate.demo  sends examples/messages/*.xml             (examples/ncs.conf)
  gateway legacy MOS 2.x NCS on 127.0.0.1:10540-10542 -> wss          (examples/gateway.conf)
  root CA $pki/root-ca.pem   OCSP http://127.0.0.1:$ocsp_port

EOF2
( exec "$bin" mos serve --config examples/mos-device.conf ) > >(sed -u 's/^/device  /') &
serve_pid=$!
for _ in $(seq 200); do ss -Hltn "sport = :8443" | grep -q . && break; sleep 0.05; done
sleep 0.5 # the first OCSP staples

"$bin" mos send --config examples/ncs.conf --peer mos.castgate.demo --channel ro \
  examples/messages/roCreate.xml examples/messages/roReq.xml | sed -u 's/^/NCS     /'
"$bin" mos send --config examples/ncs.conf --peer mos.castgate.demo --channel mom \
  examples/messages/reqMachInfo.xml | sed -u 's/^/NCS     /'

if ss -Hltn "sport = :10541" | grep -q . || ss -Hltn "sport = :9410" | grep -q .; then
  echo "demo: port 10541 or 9410 is taken: the gateway part is skipped" >&2
else
  ( exec "$bin" run --config examples/gateway.conf ) > >(sed -u 's/^/gateway /') 2>&1 &
  gw_pid=$!
  for _ in $(seq 200); do ss -Hltn "sport = :10541" | grep -q . && break; sleep 0.05; done
  python3 tests/interop/mos2peer.py ncs --port 10541 --count 3 --start 7001 \
    --mos-id mos.castgate.demo --ncs-id ncs.castgate.demo | sed -u 's/^/legacy  /'
  cat <<EOF2

The gateway's status page (each link, its sides, last messages, what is wrong):
  https://localhost:9410/          user admin   password $(cat "$dir/admin.password")
  https://localhost:9410/metrics   Prometheus, same credentials   (root CA $pki/root-ca.pem)
EOF2
fi

cat <<EOF2

The device and the gateway keep running. Try, in another shell:
  build/bin/castgate mos send --config examples/ncs.conf --peer mos.castgate.demo --channel ro examples/messages/roReq.xml
  openssl s_client -connect 127.0.0.1:8443 -servername localhost -CAfile $pki/root-ca.pem -status </dev/null
  curl -i --cacert $pki/root-ca.pem -X TRACE https://localhost:8443/mos/Communication
  python3 tests/interop/mos2peer.py ncs --port 10541 --count 5 --start 8001 --mos-id mos.castgate.demo --ncs-id ncs.castgate.demo
Ctrl-C stops the device, the gateway and the OCSP responder.

EOF2
wait "$serve_pid"
