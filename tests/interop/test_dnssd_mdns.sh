#!/usr/bin/env bash
# Multicast fallback (B-41) through a real avahi-daemon: castgate publishes on
# the named interface only when no DNS server is configured; avahi-browse sees
# the service, its subtype and TXT keys; SIGTERM withdraws it; with a DNS
# server configured nothing goes to multicast. Runs in private network and
# mount namespaces (loopback with multicast on, a private D-Bus bus, a
# private /run/avahi-daemon), so nothing leaves this test.
set -euo pipefail
CASTGATE=${CASTGATE:?}
if [ -z "${CG_IN_NS:-}" ]; then
  if ! unshare -n -m true 2>/dev/null; then
    echo "SKIP: cannot create network/mount namespaces here (need CAP_SYS_ADMIN)"; exit 77
  fi
  command -v avahi-daemon >/dev/null && command -v dbus-daemon >/dev/null \
    || { echo "FAIL: avahi-daemon/dbus-daemon missing (make deps)"; exit 1; }
  CG_IN_NS=1 exec unshare -n -m --propagation private bash "$0" "$@"
fi

T=$(mktemp -d /tmp/cg-mdns-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -f "$T/dbus.pid" ] && kill "$(cat "$T/dbus.pid")" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -5 "$T/avahi.log" >&2 || true; exit 1; }
ok() { echo "ok: $*"; }
wait_for() { for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

ip link set lo up
ip link set lo multicast on
mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon
cat > "$T/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
CONF
cat > "$T/avahi.conf" <<CONF
[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
enable-reflector=no
CONF
dbus-daemon --config-file="$T/bus.conf" --fork --print-pid > "$T/dbus.pid"
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus"
wait_for test -S "$T/bus" || fail "dbus-daemon did not start"
stdbuf -oL -eL avahi-daemon -f "$T/avahi.conf" --no-drop-root --no-chroot --no-rlimits > "$T/avahi.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q "Server startup complete" "$T/avahi.log" 2>/dev/null && break; sleep 0.2; done; grep -q "Server startup complete" "$T/avahi.log" || { cat "$T/avahi.log"; fail "avahi-daemon did not start"; }
# The advertised host's address, so avahi-browse can resolve the instance.
avahi-publish -a -R gw1.local 127.0.0.1 > /dev/null 2>&1 &
PIDS+=($!)

# A listener on the wire: the announcement must really go out as mDNS
# (224.0.0.251:5353) with IP TTL 255 (RFC 6762 §11: link-local only).
python3 - "$T/wire.ok" <<'PY' &
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("224.0.0.251", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("224.0.0.251") + socket.inet_aton("127.0.0.1"))
s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL (Linux)
s.settimeout(1)
end = time.time() + 20
while time.time() < end:
    try:
        data, anc, _, _ = s.recvmsg(9000, 64)
    except socket.timeout:
        continue
    ttl = [struct.unpack("i", d)[0] for lvl, t, d in anc if t == 2]  # IP_TTL
    if b"Studio A" in data and b"_mos" in data and data[2] & 0x80:  # a response
        open(sys.argv[1], "w").write("ttl=%s\n" % ttl)
        break
PY
PIDS+=($!)
sleep 0.5

# 1. no DNS server, interface lo named: published over multicast DNS
"$CASTGATE" dnssd register --domain local --instance "Studio A" --type _mos._tcp \
  --host gw1.local --port 443 --mdns-interface lo --subtype _device \
  --txt api_proto=wss --txt path=/mos/Communication --txt passive=no 2> "$T/reg.err" &
REG=$!; PIDS+=("$REG")
browse() { timeout 5 avahi-browse -rtp "$1" 2>/dev/null | grep '^=' || true; }
wait_for sh -c "timeout 5 avahi-browse -rtp _mos._tcp 2>/dev/null | grep -q '^=;lo;IPv4;Studio\\\\032A;'" \
  || { cat "$T/reg.err"; fail "avahi-browse never saw the instance"; }
line=$(browse _mos._tcp | grep 'Studio')
echo "$line" | grep -q ';gw1.local;127.0.0.1;443;' || fail "SRV/address: $line"
echo "$line" | grep -q '"api_proto=wss"' && echo "$line" | grep -q '"path=/mos/Communication"' \
  || fail "TXT: $line"
browse _device._sub._mos._tcp | grep -q 'Studio' || fail "subtype not browsable"
grep -q "published 'Studio A'" "$T/reg.err" || fail "no published log line"
wait_for test -s "$T/wire.ok" || fail "no mDNS announcement seen on 224.0.0.251:5353"
grep -qx 'ttl=\[255\]' "$T/wire.ok" || fail "announcement IP TTL: $(cat "$T/wire.ok")"
ok "multicast DNS on lo: announcement on the wire (224.0.0.251, IP TTL 255); instance, SRV, TXT, subtype seen by avahi-browse"

# 2. SIGTERM withdraws (Avahi sends goodbyes)
kill -TERM "$REG"; wait "$REG" || fail "exit status on SIGTERM"
wait_for sh -c "! timeout 3 avahi-browse -tp _mos._tcp 2>/dev/null | grep -q Studio" \
  || fail "instance still browsable after SIGTERM"
ok "SIGTERM withdraws the multicast records"

# 3. a DNS server configured: no multicast even with an interface named (B-41)
dead=127.0.0.1:9
"$CASTGATE" dnssd register --server "$dead" --domain local --instance "Unicast Only" \
  --type _mos._tcp --host gw1.local --port 443 --mdns-interface lo --timeout 200 2> "$T/uni.err" &
UNI=$!; PIDS+=("$UNI")
wait_for grep -q "multicast DNS is not used" "$T/uni.err" || fail "no B-41 decision line"
sleep 1
browse _mos._tcp | grep -q 'Unicast' && fail "multicast used although a DNS server is configured"
kill -TERM "$UNI"; wait "$UNI" || true
ok "a DNS server is configured: nothing published over multicast"

# 4. an interface that does not exist is refused
if "$CASTGATE" dnssd register --domain local --instance X --type _mos._tcp --host gw1.local \
  --port 443 --mdns-interface nosuch0 --once 2> "$T/noif.err"; then fail "unknown interface accepted"; fi
grep -q "no interface named 'nosuch0'" "$T/noif.err" || fail "no interface message"
ok "unknown interface refused"
echo "PASS"
