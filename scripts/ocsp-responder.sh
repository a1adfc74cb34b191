#!/usr/bin/env bash
# Runs the dev PKI's OCSP responder (openssl ocsp) in the foreground on PORT
# (openssl 3.0's responder listens on every address; the certificates point at
# 127.0.0.1:PORT), answering for the intermediate's leaves from DIR/index.txt
# with the delegated signer ocsp-signer.pem. exec: the caller may kill it by PID
# — with SIGKILL: openssl 3.0's responder notes SIGTERM but only acts on it at
# its next connection. Wait for the port to listen by looking (ss, /proc/net),
# not by connecting: an empty connection wedges this responder.
#   scripts/ocsp-responder.sh DIR PORT
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DIR PORT" >&2; exit 2; }
DIR=$1
PORT=$2
exec openssl ocsp -index "$DIR/index.txt" -port "$PORT" -CA "$DIR/intermediate.pem" \
  -rsigner "$DIR/ocsp-signer.pem" -rkey "$DIR/ocsp-signer.key" -nmin 60 -ignore_err
