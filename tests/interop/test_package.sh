#!/usr/bin/env bash
# The Debian packages (issue 15, part 1; docs/systemd.md): make package's
# dpkg-buildpackage -us -uc -b in a copy of the tree builds castgate,
# libcastgate0 and libcastgate-dev; lintian reports no error and no warning;
# dpkg -i installs them with files where Debian policy puts them (multiarch
# library, headers, pkg-config, man pages, units in /lib/systemd/system, docs
# and examples, no RPATH); the installed units pass systemd-analyze verify
# (man pages looked up) and score <= 2.0; the service user _castgate can read
# a key (its own, 0600) in /etc/castgate/private and the gateway's --check-config passes as
# that user (what ExecStartPre runs); a program links against the installed
# library; dpkg -r and dpkg --purge remove everything. Changes the system's
# package set (root): everything it installs is purged on exit.
. "$(dirname "$0")/lib.sh"
need "root (dpkg -i)" test "$(id -u)" = 0
tools() { command -v dpkg-buildpackage && command -v dh && command -v lintian && command -v systemd-analyze && command -v man; }
if ! tools >/dev/null 2>&1; then
  bash "$SRC/scripts/deps.sh" >/dev/null 2>&1 || true # installs them (they are in its list)
fi
need "dpkg-buildpackage, debhelper, lintian, systemd, man-db (scripts/deps.sh could not install them)" tools
if dpkg-query -W -f='${Status}' castgate 2>/dev/null | grep -q 'install ok'; then
  echo "SKIP: a castgate package is installed already: this test will not replace it"; exit 77
fi

PKGS=(castgate libcastgate-dev libcastgate0)
purge_all() { dpkg --purge "${PKGS[@]}" >/dev/null 2>&1 || true; rm -f /etc/castgate/cgtest.conf; rm -rf /etc/castgate/private/cgtest; }
trap 'purge_all; cleanup' EXIT

# ---- build ----
bash "$SRC/scripts/package.sh" "$T/deb" >"$T/package.out" 2>&1; rc=$?
check "make package (dpkg-buildpackage -us -uc -b) builds (exit $rc)" test "$rc" = 0
[ "$rc" = 0 ] || { tail -30 "$T/package.out"; finish; exit 1; }
V=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
A=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
DEBS=()
for p in "${PKGS[@]}"; do
  DEBS+=("$T/deb/${p}_${V}_$A.deb")
  check "$p $V built" test -f "$T/deb/${p}_${V}_$A.deb"
done

# ---- lintian ----
lintian --fail-on error,warning "${DEBS[@]}" "$T/deb/castgate_${V}_$A.changes" >"$T/lintian.out" 2>&1; rc=$?
grep -v 'running with root privileges' "$T/lintian.out" | sed 's/^/     lintian: /'
check "lintian: no error, no warning (exit $rc)" bash -c "[ $rc = 0 ] && ! grep -qE '^[EW]: ' '$T/lintian.out'"

# ---- install ----
dpkg -i "${DEBS[@]}" >"$T/dpkg-i.out" 2>&1; rc=$?
check "dpkg -i the three packages (exit $rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat "$T/dpkg-i.out"
files=(/usr/bin/castgate "/usr/lib/$MA/libcastgate.so.0" "/usr/lib/$MA/libcastgate.so"
  "/usr/lib/$MA/libcastgate.a" "/usr/lib/$MA/pkgconfig/castgate.pc" /usr/include/castgate/castgate.h
  /lib/systemd/system/castgate@.service /lib/systemd/system/castgate-ocsp@.service
  /usr/share/man/man1/castgate.1.gz /usr/share/man/man1/castgate-run.1.gz /usr/share/man/man1/castgate-mos.1.gz
  /usr/share/man/man1/castgate-cert.1.gz /usr/share/man/man1/castgate-check.1.gz
  /usr/share/man/man5/castgate.conf.5.gz /usr/share/man/man3/libcastgate.3.gz
  /usr/share/doc/castgate/examples/gateway.conf /usr/share/doc/castgate/examples/low-port.conf
  /usr/lib/castgate/castgate-active /usr/share/doc/castgate/examples/keepalived.conf.example
  /usr/share/doc/castgate/copyright /usr/share/doc/libcastgate0/copyright /usr/share/doc/libcastgate-dev/copyright)
missing=()
for f in "${files[@]}"; do [ -e "$f" ] || missing+=("$f"); done
check "files where Debian policy puts them (${#files[@]} checked${missing[*]:+; missing: ${missing[*]}})" test ${#missing[@]} = 0
check "the shared library is in libcastgate0, the .so link and .a in libcastgate-dev" bash -c \
  "dpkg -S /usr/lib/$MA/libcastgate.so.0 | grep -q '^libcastgate0:' && dpkg -S /usr/lib/$MA/libcastgate.a | grep -q '^libcastgate-dev:'"
check "keepalived's track script is installed executable, root-owned (enable_script_security)" bash -c \
  "test -x /usr/lib/castgate/castgate-active && [ \"\$(stat -c '%U %a' /usr/lib/castgate/castgate-active)\" = 'root 755' ]"
check "no RPATH/RUNPATH in the installed program" bash -c "! readelf -d /usr/bin/castgate | grep -qE 'RPATH|RUNPATH'"
check "the installed program runs: castgate --version" bash -c "/usr/bin/castgate --version | grep -q '^castgate '"
check "the service user _castgate exists, without a login shell" bash -c \
  "getent passwd _castgate | grep -qE ':/(usr/)?s?bin/(nologin|false)$'"
check "/etc/castgate/private is root:_castgate 0750" test "$(stat -c '%U:%G %a' /etc/castgate/private)" = "root:_castgate 750"
check "man finds the installed pages (man -w castgate-run, castgate.conf(5))" bash -c \
  "man -w castgate-run >/dev/null && man -w 5 castgate.conf >/dev/null && MANWIDTH=80 man 5 castgate.conf 2>/dev/null | grep -q 'ack_timeout_ms'"

# ---- the installed units ----
(cd "$T" && systemd-analyze verify /lib/systemd/system/castgate@.service /lib/systemd/system/castgate-ocsp@.service) >"$T/verify.out" 2>&1; rc=$?
check "systemd-analyze verify on the installed units: exit 0 and nothing said (man pages found)" bash -c "[ $rc = 0 ] && [ ! -s '$T/verify.out' ]"
cat "$T/verify.out"
score=$(systemd-analyze security --offline=true --no-pager /lib/systemd/system/castgate@.service 2>&1 |
  sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
check "systemd-analyze security castgate@.service (installed): ${score:-?} <= 2.0" \
  python3 -c "import sys; sys.exit(0 if '$score' and float('$score') <= 2.0 else 1)"

# ---- what ExecStartPre runs, as the service user ----
C=/etc/castgate/private/cgtest
mkdir -p "$C"
/usr/bin/castgate cert ca init --dir "$C/ca" >/dev/null 2>&1
/usr/bin/castgate cert issue --ca "$C/ca" --host localhost --type ecdsa --out "$C" >/dev/null 2>&1
chown -R root:_castgate "$C"; chmod 0750 "$C"
# the library wants a key 0600 (tls: "readable or writable by group/others"): the service user owns it
chown _castgate:_castgate "$C/server-ecdsa.key"; chmod 0600 "$C/server-ecdsa.key"
GWP=$(free_port); LP=$(free_port)
cat >/etc/castgate/cgtest.conf <<EOF2
[gateway]
listen = 127.0.0.1:$GWP
auth = none                 # the far side does not originate in this test
cert = private/cgtest/server-ecdsa.chain.pem private/cgtest/server-ecdsa.key
ocsp = no
[link a]
legacy = ncs
ncs_id = NCS
mos_id = DEV
legacy_listen = 127.0.0.1:0,$LP
url = wss://localhost:1/mos/Communication
ca = private/cgtest/ca/root.pem
EOF2
as_svc() { setpriv --reuid=_castgate --regid=_castgate --clear-groups --no-new-privs "$@"; }
as_svc /usr/bin/castgate run --config /etc/castgate/cgtest.conf --check-config >"$T/cc.out" 2>&1; rc=$?
check "as _castgate: castgate run --check-config reads the key in /etc/castgate/private (exit $rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat "$T/cc.out"
chown root:root "$C/server-ecdsa.key"
as_svc /usr/bin/castgate run --config /etc/castgate/cgtest.conf --check-config >"$T/cc2.out" 2>&1; rc=$?
check "as _castgate: a key root keeps 0600 is refused (exit $rc)" test "$rc" = 1
check "as nobody (not in _castgate): the private folder is closed" bash -c \
  "! setpriv --reuid=nobody --regid=nogroup --clear-groups ls /etc/castgate/private >/dev/null 2>&1"
rm -f /etc/castgate/cgtest.conf; rm -rf "$C"

# ---- a program against the installed library ----
sed -n '/^\.SH EXAMPLE/,/^\.fi/p' "$SRC/docs/man/libcastgate.3" | sed '1,2d;$d' | sed 's/\\en/\\n/g' >"$T/app.c"
cc -std=c11 -o "$T/app" "$T/app.c" $(pkg-config --cflags --libs castgate) >"$T/cc.log" 2>&1; rc=$?
check "libcastgate(3)'s example builds with pkg-config castgate (exit $rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat "$T/cc.log"
check "and runs against the installed libcastgate.so.0" bash -c "'$T/app' | grep -q '^libcastgate '"

# ---- remove, purge ----
dpkg -r "${PKGS[@]}" >"$T/dpkg-r.out" 2>&1; rc=$?
check "dpkg -r (exit $rc)" test "$rc" = 0
left=()
for f in "${files[@]}"; do [ -e "$f" ] && left+=("$f"); done
check "dpkg -r removes every file (${left[*]:-none left})" test ${#left[@]} = 0
mkdir -p /var/lib/castgate/cgtest # state a gateway left behind
dpkg --purge "${PKGS[@]}" >"$T/dpkg-p.out" 2>&1; rc=$?
check "dpkg --purge (exit $rc)" test "$rc" = 0
check "purged: no package left, no state left, no /etc/castgate" bash -c \
  "! dpkg-query -W -f='\${Status}' castgate 2>/dev/null | grep -q installed && [ ! -e /var/lib/castgate ] && [ ! -e /etc/castgate ]"
finish
