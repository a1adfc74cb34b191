#!/usr/bin/env bash
# Every response carries a Date header in IMF-fixdate (RFC 9110 §6.6.1,
# §5.6.7), seen by curl: castgate serve's 200, 404, 405, 426, 101 and a
# refused HTTP/1.0 upgrade (400, RFC 6455 §4.1), and castgate cert ocsp's
# answers. The date is the clock's (within a minute of curl's host clock).
. "$(dirname "$0")/lib.sh"

PORT=$(free_port); OCSP=$(free_port); P=$T/pki
make_pki "$P" "$(free_port)"
start_serve "$T/serve.log" --listen "127.0.0.1:$PORT" --no-ocsp \
  --cert "$P/server-ecdsa.chain.pem" --key "$P/server-ecdsa.key" || { cat "$T/serve.log"; exit 1; }
B="https://localhost:$PORT"
c() { curl -s -o /dev/null -D - --max-time 5 --cacert "$P/root-ca.pem" "$@"; }
KEY=dGhlIHNhbXBsZSBub25jZQ==
UP=(-H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY")

# has_date FILE STATUS: the head says STATUS and has one IMF-fixdate Date
# within 60 s of now.
has_date() {
  python3 - "$1" "$2" <<'PY'
import sys, re, time, email.utils
head = open(sys.argv[1], encoding="latin-1", newline="").read()
status = head.split("\r\n", 1)[0].split(" ")
dates = re.findall(r"(?im)^date: (.*)\r$", head)
if len(status) < 2 or status[1] != sys.argv[2] or len(dates) != 1:
    sys.exit("status %r, Date headers %r" % (status, dates))
if not re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT", dates[0]):
    sys.exit("not an IMF-fixdate: %r" % dates[0])
if abs(email.utils.parsedate_to_datetime(dates[0]).timestamp() - time.time()) > 60:
    sys.exit("Date %r is not the clock's" % dates[0])
PY
}

c "$B/status" >"$T/200"
check "200 /status has a Date" has_date "$T/200" 200
c "$B/no-such-path" >"$T/404"
check "404 has a Date" has_date "$T/404" 404
c -X DELETE "$B/status" >"$T/405"
check "405 has a Date" has_date "$T/405" 405
c "$B/mos/Communication" >"$T/426"
check "426 (plain GET on the WebSocket route) has a Date" has_date "$T/426" 426
c --http1.1 --max-time 2 "${UP[@]}" "$B/mos/Communication" >"$T/101"
check "101 has a Date" has_date "$T/101" 101
c --http1.0 "${UP[@]}" "$B/mos/Communication" >"$T/10"
check "HTTP/1.0 upgrade -> 400 (RFC 6455 §4.1) with a Date" has_date "$T/10" 400
check "serve stops cleanly" stop_pid "$SERVE_PID"

CA=$T/ca
"$CASTGATE" cert ca init --dir "$CA" --name DateTest --ocsp-url "http://127.0.0.1:$OCSP/" \
  --crl-url "http://127.0.0.1:$OCSP/crl.pem" >/dev/null 2>"$T/init.err"
"$CASTGATE" cert ocsp --ca "$CA" --listen "127.0.0.1:$OCSP" >"$T/ocsp.out" 2>"$T/ocsp.err" &
PIDS+=($!)
wait_port "$OCSP"
curl -s -o /dev/null -D - --max-time 5 "http://127.0.0.1:$OCSP/crl.pem" >"$T/crl"
status=$(head -1 "$T/crl" | cut -d' ' -f2)
check "cert ocsp's answer ($status) has a Date" has_date "$T/crl" "$status"
finish
