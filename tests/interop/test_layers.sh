#!/usr/bin/env bash
# The layering of src/ stays as docs/ARCHITECTURE.md draws it: no include
# circle and no call circle between parts, net/ and legacy/ name none of their users, and
# mos4/ and flow/ know nothing of redund/ (scripts/layers.py).
# Reads the sources only: no process, no port.
SRC=${CG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
if python3 "$SRC/scripts/layers.py" "$SRC"; then
  echo "ok: no include or call circle between src/ parts; net/ and legacy/ name no user; mos4/ and flow/ no redund/"
  exit 0
fi
echo "FAIL: layering broken (see above; docs/ARCHITECTURE.md, Layers)"
exit 1
