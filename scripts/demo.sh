#!/usr/bin/env bash
# make demo: a BCP-003-01 wss endpoint on built-in defaults.
#   PKI      demo/pki (made once by scripts/dev-pki.sh; root CA demo/pki/root-ca.pem)
#   OCSP     openssl ocsp on 127.0.0.1:8888 (the responder named in the certificates)
#   endpoint wss://localhost:8443/mos/Communication on 127.0.0.1, RSA + ECDSA certificates,
#            OCSP stapling, HSTS; /status (GET) and /echo (POST) over HTTPS
# Ctrl-C stops all of it. Override with DEMO_PORT, DEMO_OCSP_PORT, DEMO_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-8443}
ocsp_port=${DEMO_OCSP_PORT:-8888}
dir=${DEMO_DIR:-$root/demo}
bin=${CASTGATE:-$root/build/bin/castgate}
pki=$dir/pki

bash "$root/scripts/dev-pki.sh" --dir "$pki" --host localhost --ocsp-port "$ocsp_port" >/dev/null
ocsp_pid=
# openssl ocsp reacts to SIGTERM only at its next connection: SIGKILL it.
cleanup() { [ -n "$ocsp_pid" ] && kill -KILL "$ocsp_pid" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT
trap 'exit 0' INT TERM
if ss -Hltn "sport = :$ocsp_port" | grep -q .; then
  echo "demo: port $ocsp_port is taken: is another OCSP responder running? (stapling may fail)" >&2
else
  bash "$root/scripts/ocsp-responder.sh" "$pki" "$ocsp_port" >"$dir/ocsp.log" 2>&1 &
  ocsp_pid=$!
  for _ in $(seq 100); do ss -Hltn "sport = :$ocsp_port" | grep -q . && break; sleep 0.05; done
fi

cat <<EOF2

castgate demo — a BCP-003-01 secure endpoint
  wss://localhost:$port/mos/Communication   (WebSocket echo: MOS behaviour arrives with 'castgate mos serve')
  https://localhost:$port/status            (JSON status; every other method gets 405)
  root CA: $pki/root-ca.pem    OCSP responder: http://127.0.0.1:$ocsp_port (log: $dir/ocsp.log)

Try, in another shell:
  curl -i --cacert $pki/root-ca.pem https://localhost:$port/status
  curl -i --cacert $pki/root-ca.pem -X TRACE https://localhost:$port/status
  openssl s_client -connect 127.0.0.1:$port -servername localhost -CAfile $pki/root-ca.pem -status </dev/null
  NODE_PATH=$root/tests/interop/node_modules node $root/tests/interop/wsclient.js \\
      wss://localhost:$port/mos/Communication --ca $pki/root-ca.pem --send-binary hello --expect 1
Ctrl-C stops the endpoint and the OCSP responder.

EOF2
"$bin" serve --listen "127.0.0.1:$port" \
  --cert "$pki/server-rsa.chain.pem" --key "$pki/server-rsa.key" \
  --cert "$pki/server-ecdsa.chain.pem" --key "$pki/server-ecdsa.key" &
serve_pid=$!
trap 'kill -INT $serve_pid 2>/dev/null' INT TERM
wait "$serve_pid" || true
wait "$serve_pid" 2>/dev/null || true
