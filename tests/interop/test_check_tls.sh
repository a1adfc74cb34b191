#!/usr/bin/env bash
# `castgate check tls` (issue 14) against servers that keep BCP-003-01 and
# servers each broken in one way: castgate serve and a reference nginx pass
# with no failure; every broken variant fails with exactly the B-xx IDs of its
# break (the test compares the whole set of failing IDs, so nothing else may
# fail). Servers: castgate serve for certificate, staple and HSTS breaks,
# nginx for protocol, suite, order and HTTP-method breaks.
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || { echo "nginx not installed (scripts/deps.sh)"; exit 77; }

OCSP=$(free_port)
make_pki "$T/pki" "$OCSP"
P=$T/pki
start_ocsp "$P" "$OCSP" || { bad "OCSP responder started (port $OCSP)"; finish; exit 1; }

# A wildcard leaf from the same intermediate (B-11): SAN localhost and *.localhost.
(cd "$P" && export CG_SAN='localhost,DNS:*.localhost' && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out wild.key 2>/dev/null &&
  chmod 600 wild.key &&
  openssl req -config ca.cnf -new -key wild.key -subj "/O=castgate dev/CN=localhost" -out wild.csr &&
  openssl ca -config ca.cnf -batch -notext -extensions v3_leaf \
    -in wild.csr -out wild.pem 2>/dev/null && cat wild.pem intermediate.pem > wild.chain.pem)

# fails_of JSON: the sorted, unique B-xx IDs with a failing verdict.
fails_of() { grep -o '"id":"B-[0-9]*","verdict":"fail"' "$1" | cut -d'"' -f4 | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# expect NAME "IDS" PORT [check options]: runs the check; IDS is the exact set
# of failing rule IDs (space separated, sorted; "" for none). Exit status 0
# exactly when IDS is empty.
expect() {
  local name=$1 want=$2 port=$3; shift 3
  "$CASTGATE" check tls "https://localhost:$port/status" --ca "$P/root-ca.pem" --json "$@" \
    >"$T/$name.json" 2>"$T/$name.err"
  local rc=$? got
  got=$(fails_of "$T/$name.json")
  local want_rc=1; [ -z "$want" ] && want_rc=0
  if [ "$got" = "$want" ] && [ "$rc" = "$want_rc" ]; then
    ok "$name: failing IDs {${want}} (exit $rc)"
  else
    bad "$name" "want {${want}} exit $want_rc, got {${got}} exit $rc"
    grep -o '{"id":"B-[0-9]*","verdict":"fail"[^}]*}' "$T/$name.json" | head -5
    cat "$T/$name.err"
  fi
}

# ---- castgate serve ----
# serve_variant LOG ARGS: starts castgate serve on a fresh port ($SP), waits for
# its OCSP staples when it staples.
serve_variant() {
  local log=$1; shift
  SP=$(free_port)
  start_serve "$T/$log.log" --listen "127.0.0.1:$SP" "$@" || return 1
  local i
  for ((i = 0; i < 50; i++)); do
    grep -q 'OCSP status' "$T/$log.log" && break
    sleep 0.1
  done
  sleep 0.3 # the second leaf's staple
}
RSA=(--cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key")
ECDSA=(--cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key")

serve_variant ref "${RSA[@]}" "${ECDSA[@]}"
start=$(date +%s%N)
expect "castgate serve" "" "$SP"
end=$(date +%s%N)
echo "# full run against castgate serve: $(((end - start) / 1000000)) ms (ASan build)"
"$CASTGATE" check tls "https://localhost:$SP/status" --ca "$P/root-ca.pem" >"$T/table.txt"
check "table: one row per finding and the summary line" \
  grep -q 'checks: .* pass, 0 warn, 0 fail' "$T/table.txt"
check "table: no colour when stdout is not a terminal" bash -c "! grep -q $'\033' '$T/table.txt'"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["fail"] == 0 and len(d["findings"]) >= 50
assert all(set(f) == {"id", "verdict", "what", "evidence"} for f in d["findings"])' "$T/castgate serve.json"
check "--json: valid JSON, every finding with id, verdict, what, evidence" test $? -eq 0
if command -v script >/dev/null; then
  script -qec "$CASTGATE check tls https://localhost:$SP/status --ca $P/root-ca.pem" /dev/null >"$T/tty.txt"
  check "table: coloured on a terminal" grep -q $'\033\[32mpass' "$T/tty.txt"
fi

# The MOS 4.0 device endpoint (castgate mos serve), checked on its WebSocket path.
printf 'correct horse\n' | "$CASTGATE" passwd "$T/dev.htpasswd" ncs.castgate.demo >/dev/null 2>&1
MP=$(free_port)
cat >"$T/device.conf" <<CONF
[endpoint]
role = mos
id = mos.castgate.demo
state_dir = $T/state-device
listen = 127.0.0.1:$MP
cert = $P/server-rsa.chain.pem $P/server-rsa.key
cert = $P/server-ecdsa.chain.pem $P/server-ecdsa.key
credentials = $T/dev.htpasswd
[peer ncs.castgate.demo]
mode = standard
channels = mom,ro,aux
CONF
"$CASTGATE" mos serve --config "$T/device.conf" >"$T/device.out" 2>"$T/device.err" &
PIDS+=($!)
for i in $(seq 100); do grep -q '"listening"' "$T/device.out" 2>/dev/null && break; sleep 0.05; done
for i in $(seq 50); do [ "$(grep -c 'OCSP status good' "$T/device.err")" -ge 2 ] && break; sleep 0.1; done
"$CASTGATE" check tls "https://localhost:$MP/mos/Communication" --ca "$P/root-ca.pem" --json \
  >"$T/device.json" 2>"$T/device.check.err"
rc=$?
got=$(fails_of "$T/device.json")
if [ -z "$got" ] && [ "$rc" = 0 ]; then ok "castgate mos serve (device) on /mos/Communication: failing IDs {} (exit 0)"
else bad "castgate mos serve (device)" "got {$got} exit $rc"; grep -o '{"id":"B-[0-9]*","verdict":"fail"[^}]*}' "$T/device.json"; tail -3 "$T/device.err"; fi

serve_variant noocsp "${RSA[@]}" "${ECDSA[@]}" --no-ocsp
expect "no staple" "B-12" "$SP"
serve_variant revoked --cert "$P/revoked-rsa.chain.pem" --key "$P/revoked-rsa.key" "${ECDSA[@]}"
expect "revoked staple" "B-12" "$SP"
serve_variant rsaonly "${RSA[@]}"
expect "RSA only" "B-13" "$SP"
serve_variant expired --cert "$P/expired-rsa.chain.pem" --key "$P/expired-rsa.key" "${ECDSA[@]}"
expect "expired leaf" "B-10" "$SP"
# Without the intermediate castgate cannot ask for a staple either, and a
# client cannot check one: the break shows under B-10 and B-12.
serve_variant incomplete --cert "$P/server-rsa.pem" --key "$P/server-rsa.key" "${ECDSA[@]}"
expect "incomplete chain" "B-10 B-12" "$SP"
serve_variant wronghost --cert "$P/wronghost-rsa.chain.pem" --key "$P/wronghost-rsa.key" "${ECDSA[@]}"
expect "RSA leaf for another host name" "B-11" "$SP"
serve_variant nohsts "${RSA[@]}" "${ECDSA[@]}" --hsts 0
expect "no HSTS" "B-21" "$SP"
serve_variant shorthsts "${RSA[@]}" "${ECDSA[@]}" --hsts 86400
expect "short HSTS (1 day)" "B-21" "$SP"
serve_variant wild --cert "$P/wild.chain.pem" --key "$P/wild.key" "${ECDSA[@]}"
expect "wildcard SAN" "B-11" "$SP"
expect "wildcard SAN with --allow-wildcard" "" "$SP" --allow-wildcard

# A server that accepts connections and never says a word: a report with
# every probe's "not testable"/"no answer", not a hang and not an abort.
QP=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(512); time.sleep(600)' "$QP" &
PIDS+=($!)
wait_port "$QP"
timeout 120 "$CASTGATE" check tls "https://localhost:$QP/" --ca "$P/root-ca.pem" --json --timeout 300 \
  >"$T/silent.json" 2>"$T/silent.err"
rc=$?
check "silent server: exit 1 with a report (TLS 1.2 not offered, no certificate, no HTTP)" \
  bash -c "[ $rc = 1 ] && [ \"\$(grep -o '\"id\":\"B-[0-9]*\",\"verdict\":\"fail\"' '$T/silent.json' | cut -d'\"' -f4 | sort -u | tr '\n' ' ')\" = 'B-01 B-13 B-21 B-22 ' ]"

# ---- nginx ----
openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048 -out "$T/dh.pem" 2>/dev/null
BCP12=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256
BCP13=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256

# nginx_variant NAME: an nginx configured per BCP-003-01, changed by the
# variables PROTOCOLS CIPHERS PREFER METHODS PLAIN EXTRA DHPARAM; port in $NP.
nginx_variant() {
  local name=$1 d=$T/nginx-$1
  NP=$(free_port)
  mkdir -p "$d"
  local methods='if ($request_method !~ ^(GET|HEAD)$) { return 405; }'
  [ "${METHODS:-}" = deny ] && methods='limit_except GET { deny all; }'
  local plain='error_page 497 = @close; location @close { return 444; }'
  [ "${PLAIN:-}" = answer ] && plain=''
  cat >"$d/nginx.conf" <<CONF
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fcgi;
  uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
  server {
    listen 127.0.0.1:$NP ssl;
    server_name localhost;
    ssl_certificate $P/server-rsa.chain.pem; ssl_certificate_key $P/server-rsa.key;
    ssl_certificate $P/server-ecdsa.chain.pem; ssl_certificate_key $P/server-ecdsa.key;
    ssl_protocols ${PROTOCOLS:-TLSv1.2 TLSv1.3};
    ssl_ciphers ${CIPHERS:-$BCP12};
    ssl_conf_command Ciphersuites $BCP13;
    ssl_prefer_server_ciphers ${PREFER:-on};
    ssl_dhparam ${DHPARAM:-$T/dh.pem};
    ssl_session_tickets off;
    ssl_stapling on;
    add_header Strict-Transport-Security "max-age=31536000" always;
    add_header Allow "GET, HEAD" always;
    ${EXTRA:-}
    $plain
    location / {
      $methods
      return 200 "ok\n";
    }
  }
}
CONF
  nginx -c "$d/nginx.conf" -p "$d" >"$d/out.log" 2>&1 &
  PIDS+=($!)
  wait_port "$NP" || { cat "$d/out.log" "$d/error.log"; return 1; }
  # nginx fetches a staple at the first handshake that asks: ask with each key type.
  local i sig
  for sig in 'ECDSA+SHA256' 'rsa_pss_rsae_sha256:RSA+SHA256'; do
    for ((i = 0; i < 50; i++)); do
      timeout 5 openssl s_client -connect "127.0.0.1:$NP" -servername localhost -status \
        -sigalgs "$sig" </dev/null 2>/dev/null | grep -q 'OCSP Response Status: successful' && break
      sleep 0.1
    done
  done
}

nginx_variant ref
expect "nginx per BCP-003-01" "" "$NP"
PROTOCOLS="TLSv1.1 TLSv1.2 TLSv1.3" CIPHERS="$BCP12:ECDHE-RSA-AES128-SHA:@SECLEVEL=0" nginx_variant tls11
expect "nginx TLS 1.1 on" "B-02" "$NP"
CIPHERS=${BCP12/ECDHE-RSA-AES128-GCM-SHA256:/} nginx_variant missing
expect "nginx without ECDHE-RSA-AES128-GCM-SHA256" "B-04" "$NP"
CIPHERS=${BCP12/ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384/ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256} \
  nginx_variant order
expect "nginx wrong suite order" "B-04" "$NP"
openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:dh_1024_160 -out "$T/dh1024.pem" 2>/dev/null
CIPHERS="$BCP12:@SECLEVEL=0" DHPARAM=$T/dh1024.pem nginx_variant weakdh
expect "nginx with a 1024-bit DH group" "B-04" "$NP"
PREFER=off nginx_variant client
expect "nginx client order" "B-05" "$NP"
METHODS=deny nginx_variant deny
expect "nginx 403 instead of 405" "B-22" "$NP"
PLAIN=answer nginx_variant plain
expect "nginx answers plain HTTP" "B-20" "$NP"
EXTRA='add_header Access-Control-Allow-Origin "*" always;' nginx_variant cors
expect "nginx CORS *" "B-25" "$NP"
finish
