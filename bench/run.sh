#!/usr/bin/env bash
# Runs every benchmark (make bench). Each writes bench/results/<name>-<date>.{json,md}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/codec.sh"
