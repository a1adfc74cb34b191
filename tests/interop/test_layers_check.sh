#!/usr/bin/env bash
# scripts/layers.py can fail (issue 16): over small made-up trees it reports
# a call circle between two parts that no include shows (a part declaring
# another's function itself, internal or public), an include circle, and
# net/ naming a user's type or field or including its public header; and it
# passes a tree whose calls only go down, and names in comments.
# Reads and writes a temporary folder only: no process, no port.
SRC=${CG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
T=$(mktemp -d /tmp/cg-layers-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

# tree NAME: a fresh tree $T/NAME/src with parts a (bottom) and b (above it)
tree() {
  local d=$T/$1/src
  mkdir -p "$d/a" "$d/b" "$d/net"
  printf 'void cg__a_f(void);\n' >"$d/a/a.h"
  printf '#include "a/a.h"\nvoid cg__a_f(void)\n{\n}\n' >"$d/a/a.c"
  printf '#include "a/a.h"\nvoid cg__b_g(void)\n{\n    cg__a_f();\n}\n' >"$d/b/b.c"
  printf 'struct cg_conn { int fd; };\nvoid cg__conn_go(struct cg_conn *c)\n{\n    (void)c;\n}\n' \
    >"$d/net/conn.c"
  echo "$T/$1"
}

# expect NAME WANT...: layers.py over tree NAME exits 1 and prints each WANT
expect() {
  local root=$T/$1 out
  shift
  out=$(python3 "$SRC/scripts/layers.py" "$root") && { echo "FAIL: passed: $root"; fails=$((fails + 1)); return; }
  for w in "$@"; do
    grep -qF -- "$w" <<<"$out" || { echo "FAIL: $root: no '$w' in: $out"; fails=$((fails + 1)); }
  done
  echo "ok: refused as wanted: $(tr '\n' ';' <<<"$out")"
}

# passes NAME WHAT: layers.py over tree NAME exits 0
passes() {
  local out
  if out=$(python3 "$SRC/scripts/layers.py" "$T/$1"); then
    echo "ok: $2"
  else
    echo "FAIL: refused ($2): $out"; fails=$((fails + 1))
  fi
}

tree clean >/dev/null
passes clean "a tree whose calls go down passes"

# a calls up into b with a prototype of its own: no include circle, a call circle
r=$(tree calls)
printf 'void cg__b_g(void);\nvoid cg__a_up(void)\n{\n    cg__b_g();\n}\n' >"$r/src/a/up.c"
expect calls "call circle: src/a <-> src/b" "src/a/up.c calls cg__b_g"

# the same through a public function of b's that a calls back
r=$(tree public)
printf 'int cg_b_open(void)\n{\n    return 0;\n}\n' >"$r/src/b/pub.c"
printf 'int cg_b_open(void);\nint cg__a_up(void)\n{\n    return cg_b_open();\n}\n' >"$r/src/a/up.c"
expect public "call circle: src/a <-> src/b" "src/a/up.c calls cg_b_open"

# a name in a comment is no call
r=$(tree comment)
printf '/* b calls cg__a_f; see also cg__b_g */\nvoid cg__a_g(void)\n{\n}\n' >"$r/src/a/up.c"
passes comment "a name in a comment is no call"

# an include circle
r=$(tree includes)
printf '#include "b/b.h"\n' >"$r/src/a/up.c"
printf 'void cg__b_g(void);\n' >"$r/src/b/b.h"
expect includes "circle: src/a <-> src/b"

# net/ names the dialer by a field and the server by its type
r=$(tree net)
printf 'struct cg_dial;\nstruct c2 { struct cg_dial *dial; };\nint cg__conn_is_client(struct c2 *c)\n{\n    return c->dial != NULL;\n}\n' \
  >"$r/src/net/user.c"
printf '#include <castgate/server.h>\nstruct cg_server;\nvoid cg__conn_x(struct cg_server *s);\n' \
  >"$r/src/net/srv.h"
expect net "src/net/user.c: names struct cg_dial" "src/net/user.c: names ->dial" \
  "src/net/srv.h: names struct cg_server" "src/net/srv.h: includes castgate/server.h"

[ "$fails" -eq 0 ] || { echo "FAIL: $fails"; exit 1; }
echo "ok: layers.py refuses each made-up breach and passes the clean tree"
