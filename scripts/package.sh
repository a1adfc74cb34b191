#!/usr/bin/env bash
# make package: dpkg-buildpackage -us -uc -b in a copy of the tree (build
# folders, demo/ and node_modules left out), so the work tree stays clean;
# the .debs, .buildinfo and .changes land in OUT (default build-deb).
#   scripts/package.sh [OUT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/build-deb}")
work=$(mktemp -d /tmp/castgate-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/castgate" "$out"
tar -C "$root" --exclude='./build*' --exclude=./demo --exclude=./.git \
  --exclude='*/node_modules' --exclude=./bench/results -cf - . | tar -C "$work/castgate" -xf -
jobs=$(nproc 2>/dev/null || echo 2)
(cd "$work/castgate" && DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
  dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || { tail -40 "$work/build.log" >&2; exit 1; }
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
cp "$work/build.log" "$out/build.log"
ls "$out"/*.deb
