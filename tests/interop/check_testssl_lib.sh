# Sourced by tests/interop/test_check_tls_testssl{1,2}.sh with SERVERS set to
# the servers to compare (a subset of: ref rsaonly noocsp shorthsts incomplete
# tls11): `castgate check tls` gives the same verdicts as testssl.sh (judged as
# the AMWA NMOS Testing Tool's BCP-003-01 suite judges it) on the nine AMWA
# tests, for servers that pass and servers broken in one of those tests (issue
# 14). testssl runs offline (--ip, loopback only). Slow: about a minute per
# server for testssl, two at a time; hence two test files that ctest can run
# side by side, each well inside the 600 s limit.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
want() { [[ " $SERVERS " == *" $1 "* ]]; }

TESTSSL=$(command -v testssl || command -v testssl.sh) || { echo "testssl.sh not installed"; exit 77; }

OCSP=$(free_port)
make_pki "$T/pki" "$OCSP"
P=$T/pki
start_ocsp "$P" "$OCSP" || { bad "OCSP responder started (port $OCSP)"; finish; exit 1; }
RSA=(--cert "$P/server-rsa.chain.pem" --key "$P/server-rsa.key")
ECDSA=(--cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key")

NAMES=(); PORTS=()
serve() { # serve NAME ARGS...: castgate serve on a fresh port
  local name=$1; shift
  local port; port=$(free_port)
  start_serve "$T/$name.log" --listen "127.0.0.1:$port" "$@" || return 1
  NAMES+=("$name"); PORTS+=("$port")
}
want ref && serve ref "${RSA[@]}" "${ECDSA[@]}"
want rsaonly && serve rsaonly "${RSA[@]}"
want noocsp && serve noocsp "${RSA[@]}" "${ECDSA[@]}" --no-ocsp
want shorthsts && serve shorthsts "${RSA[@]}" "${ECDSA[@]}" --hsts 86400
want incomplete && serve incomplete --cert "$P/server-rsa.pem" --key "$P/server-rsa.key" "${ECDSA[@]}"
# TLS 1.1 on, a plain openssl s_server (no HSTS, no staple: both tools must see that too).
if want tls11; then
  SS=$(free_port)
  openssl s_server -accept "$SS" -cert "$P/server-rsa.pem" -cert_chain "$P/intermediate.pem" \
    -key "$P/server-rsa.key" -cipher 'DEFAULT:@SECLEVEL=0' -www -quiet >"$T/s_server.log" 2>&1 &
  PIDS+=($!)
  wait_port "$SS"
  NAMES+=(tls11); PORTS+=("$SS")
fi
sleep 1.5 # castgate's staples

run_testssl() { # run_testssl NAME PORT
  timeout 600 "$TESTSSL" --quiet --warnings off --color 0 --ip 127.0.0.1 --add-ca "$P/root-ca.pem" \
    -p -E -S -h --jsonfile "$T/$1.testssl.json" "https://localhost:$2/" >"$T/$1.testssl.txt" 2>&1
}
for ((i = 0; i < ${#NAMES[@]}; i += 2)); do
  run_testssl "${NAMES[$i]}" "${PORTS[$i]}" &
  a=$!
  if ((i + 1 < ${#NAMES[@]})); then run_testssl "${NAMES[$i + 1]}" "${PORTS[$i + 1]}"; fi
  wait "$a"
done
for ((i = 0; i < ${#NAMES[@]}; i++)); do
  "$CASTGATE" check tls "https://localhost:${PORTS[$i]}/" --ca "$P/root-ca.pem" --json \
    >"$T/${NAMES[$i]}.check.json" 2>"$T/${NAMES[$i]}.check.err"
done

# verdicts NAME: one line per AMWA test, "name testssl-verdict castgate-verdict".
verdicts() {
  python3 - "$T/$1.testssl.json" "$T/$1.check.json" <<'PY'
import json, re, sys
f = {}
for e in json.load(open(sys.argv[1])):
    f.setdefault(re.sub(r' <cert#\d+>$', '', e['id']), []).append(e['finding'])
g = lambda k: f.get(k, [])
ciphers = lambda v: [x for k in f if k.startswith('cipher-tls1_' + v) for x in f[k]]
hsts = re.search(r'=(\d+) seconds', (g('HSTS_time') or [''])[0])
ts = {
  'protocols': g('TLS1_2')[:1] != [] and g('TLS1_2')[0].startswith('offered') and g('TLS1_3')[0].startswith('offered')
               and all(g(p)[0] == 'not offered' for p in ('SSLv3', 'TLS1', 'TLS1_1')),
  'shall-suites': any('TLS_AES_128_GCM_SHA256' in v for v in ciphers('3'))
                  and any('ECDHE-RSA-AES128-GCM-SHA256' in v for v in ciphers('2')),
  'no-ip': not any(re.search(r'\b\d+\.\d+\.\d+\.\d+\b', v) for k in ('cert_commonName', 'cert_subjectAltName') for v in g(k)),
  'hsts': bool(hsts) and int(hsts.group(1)) >= 15552000,
  'revocation-url': all(a.startswith('http') or b.startswith('http') for a, b in zip(g('cert_crlDistributionPoints'), g('cert_ocspURL'))),
  'ocsp-stapling': all(v == 'offered' for v in g('OCSP_stapling')),
  'host-name': all(v.startswith('Ok') for v in g('cert_trust')),
  'rsa-and-ecdsa': any(v.startswith('RSA') for v in g('cert_keySize')) and any(v.startswith('EC') for v in g('cert_keySize')),
  'chain-of-trust': all(v == 'passed.' for v in g('cert_chain_of_trust')),
}
c = json.load(open(sys.argv[2]))['findings']
ok = lambda pred: all(x['verdict'] != 'fail' for x in c if pred(x))
has = lambda pred: any(pred(x) for x in c)
cg = {
  'protocols': ok(lambda x: x['id'] in ('B-01', 'B-02')) and has(lambda x: x['what'] == 'TLS 1.3 offered' and x['verdict'] == 'pass'),
  'shall-suites': has(lambda x: x['what'] == 'TLS_AES_128_GCM_SHA256 offered' and x['verdict'] == 'pass')
                  and has(lambda x: x['what'] == 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 offered' and x['verdict'] == 'pass'),
  'no-ip': ok(lambda x: x['id'] == 'B-11'),
  'hsts': ok(lambda x: x['id'] == 'B-21'),
  'revocation-url': ok(lambda x: 'revocation pointer' in x['what']),
  'ocsp-stapling': ok(lambda x: 'OCSP staple' in x['what']),
  'host-name': ok(lambda x: 'valid for the host name' in x['what']),
  'rsa-and-ecdsa': ok(lambda x: x['id'] == 'B-13'),
  'chain-of-trust': ok(lambda x: 'chain complete' in x['what']),
}
for k in ts:
    print(k, 'pass' if ts[k] else 'fail', 'pass' if cg[k] else 'fail')
PY
}

for ((i = 0; i < ${#NAMES[@]}; i++)); do
  n=${NAMES[$i]}
  if [ ! -s "$T/$n.testssl.json" ]; then bad "$n: testssl produced JSON"; tail -5 "$T/$n.testssl.txt"; continue; fi
  verdicts "$n" >"$T/$n.verdicts" || { bad "$n: verdicts"; continue; }
  while read -r test ts cg; do
    if [ "$ts" = "$cg" ]; then ok "$n $test: testssl $ts, castgate $cg"; else bad "$n $test" "testssl $ts, castgate $cg"; fi
  done <"$T/$n.verdicts"
done
# The breaks must show (so the comparison is not vacuous).
breaks() { # breaks NAME TEST WHAT
  want "$1" || return 0
  grep -q "$2 fail" "$T/$1.verdicts" 2>/dev/null; check "$1: both tools see $3" test $? -eq 0
}
breaks rsaonly rsa-and-ecdsa "one key type"
breaks noocsp ocsp-stapling "no staple"
breaks shorthsts hsts "the short max-age"
breaks incomplete chain-of-trust "the chain"
breaks tls11 protocols "TLS 1.1"
finish
