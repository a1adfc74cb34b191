#!/usr/bin/env bash
# Installs every Debian 12 package castgate builds, tests and demos with (nginx:
# tests/interop/test_check_tls.sh);
# `deps.sh bench` also the contenders and tools `make bench` needs (stunnel,
# nginx, libwebsockets, gnuplot, perf). Idempotent: quiet when everything is
# already there.
set -euo pipefail
case "${1:-}" in
  "" | bench) ;;
  *) echo "usage: deps.sh [bench]" >&2; exit 2 ;;
esac
PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libssl-dev openssl libuv1-dev libwslay-dev libhttp-parser-dev libxml2-dev libxml2-utils
  libcrypt-dev libldns-dev libavahi-client-dev libcmocka-dev valgrind
  testssl.sh curl bind9 bind9-dnsutils iproute2 avahi-daemon avahi-utils dbus-daemon python3 nginx
  debhelper devscripts lintian fakeroot dpkg-dev systemd man-db groff-base adduser prometheus chromium
  keepalived
)
[ "${1:-}" = bench ] && PKGS+=(stunnel4 nginx libwebsockets-dev gnuplot-nox linux-perf)
# Node.js runs the pinned npm peers (Sofie mos-connection, ws); a machine that
# already has node and npm (from any source) keeps them.
command -v node >/dev/null && command -v npm >/dev/null || PKGS+=(nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Pinned npm packages used by interop tests and benchmarks (package-lock.json).
here=$(cd "$(dirname "$0")/.." && pwd)
# Re-run when the lock file changes (a stamp in node_modules remembers it).
lock=$here/tests/interop/package-lock.json
stamp=$here/tests/interop/node_modules/.castgate-lock
if [ -f "$lock" ] && ! cmp -s "$lock" "$stamp" 2>/dev/null; then
  echo "deps: npm ci (tests/interop)"
  (cd "$here/tests/interop" && npm ci --no-audit --no-fund --silent)
  cp "$lock" "$stamp"
fi
