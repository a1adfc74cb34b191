# Helpers for the DNS-SD interop tests: a private BIND9 named on 127.0.0.1
# with a dynamic zone "example.test" and a TSIG key, on a free port.
# Sourced by tests/interop/test_dnssd_*.sh (set -euo pipefail there).

CASTGATE=${CASTGATE:?CASTGATE must name the castgate binary}
T=$(mktemp -d /tmp/cg-dnssd-XXXXXX)
NAMED_PID=
PIDS=()

dn_cleanup() {
  for p in "${PIDS[@]}" $NAMED_PID; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}" $NAMED_PID; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap dn_cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$T/named.log" ] && tail -20 "$T/named.log" >&2; exit 1; }
ok() { echo "ok: $*"; }

# A port free for both UDP and TCP on 127.0.0.1.
free_port() {
  python3 - <<'PY'
import socket, random
for _ in range(200):
    p = random.randint(20000, 60000)
    try:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", p))
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", p))
        u.close(); t.close(); print(p); break
    except OSError:
        pass
PY
}

# dn_setup: writes the config, the zone and two keys (good and wrong).
dn_setup() {
  PORT=$(free_port)
  tsig-keygen -a hmac-sha256 castgate-key > "$T/tsig.key"
  chmod 600 "$T/tsig.key"
  # Same name, another secret: the server will answer BADSIG.
  tsig-keygen -a hmac-sha256 castgate-key > "$T/wrong.key"
  chmod 600 "$T/wrong.key"
  cat > "$T/named.conf" <<CONF
options {
  directory "$T";
  pid-file "$T/named.pid";
  session-keyfile "$T/session.key";
  managed-keys-directory "$T";
  listen-on port $PORT { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  allow-query { any; };
  notify no;
};
controls { };
include "$T/tsig.key";
zone "example.test" {
  type primary;
  file "$T/example.test.db";
  update-policy { grant castgate-key zonesub ANY; };
};
CONF
  dn_zone
}

# A fresh zone file (and no journal): what a server that lost its updates has.
dn_zone() {
  rm -f "$T/example.test.db.jnl"
  cat > "$T/example.test.db" <<ZONE
\$TTL 300
@    IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60
@    IN NS  ns.example.test.
ns   IN A   127.0.0.1
gw1  IN A   127.0.0.1
gw2  IN A   127.0.0.2
gw2  IN AAAA ::2
ZONE
}

dn_start() {
  named -g -c "$T/named.conf" -p "$PORT" >> "$T/named.log" 2>&1 &
  NAMED_PID=$!
  for _ in $(seq 100); do
    dig @127.0.0.1 -p "$PORT" +short +time=1 +tries=1 example.test SOA 2>/dev/null | grep -q ns.example.test && return 0
    kill -0 "$NAMED_PID" 2>/dev/null || fail "named did not start"
    sleep 0.1
  done
  fail "named did not answer on port $PORT"
}

dn_stop() {
  kill "$NAMED_PID" 2>/dev/null || true
  wait "$NAMED_PID" 2>/dev/null || true
  NAMED_PID=
}

q() { dig @127.0.0.1 -p "$PORT" +short +time=2 +tries=1 "$@"; }

# wait_for CMD...: retries a command for up to 20 s.
wait_for() {
  for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
