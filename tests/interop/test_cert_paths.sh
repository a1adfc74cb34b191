#!/usr/bin/env bash
# Issue 12 item 18: `castgate cert ca init --dir a/b/ca` and `cert issue --out
# x/y/leaf` with missing parent folders: the parents are created (0700,
# private), and a path that cannot be created is named with the reason
# (not a bare "I/O error").
. "$(dirname "$0")/lib.sh"

"$CASTGATE" cert ca init --dir "$T/a/b/ca" >"$T/init.out" 2>&1
check "ca init --dir a/b/ca with a and b missing succeeds" test -s "$T/a/b/ca/ca.conf"
check "the missing parents are created private (0700)" \
  bash -c "[ \$(stat -c %a '$T/a') = 700 ] && [ \$(stat -c %a '$T/a/b') = 700 ]"
check "the CA's keys are 0600" bash -c "[ \$(stat -c %a '$T/a/b/ca/intermediate.key') = 600 ]"
"$CASTGATE" cert issue --ca "$T/a/b/ca" --host localhost --type ecdsa --out "$T/x/y/leaf" >"$T/issue.out" 2>&1
check "cert issue --out x/y/leaf with x and y missing succeeds" test -s "$T/x/y/leaf/server-ecdsa.chain.pem"
check "its missing parents are 0700" bash -c "[ \$(stat -c %a '$T/x') = 700 ] && [ \$(stat -c %a '$T/x/y') = 700 ]"
check "an existing folder keeps its mode" bash -c "mkdir -m 0755 '$T/pub' && '$CASTGATE' cert issue --ca '$T/a/b/ca' --host localhost --type rsa --out '$T/pub/leaf' >/dev/null 2>&1 && [ \$(stat -c %a '$T/pub') = 755 ]"

L=$T/x/y/leaf
"$CASTGATE" cert install --store "$T/s1/s2/store" --ca "$T/a/b/ca/root.pem" "$L/server-ecdsa.pem" \
  "$L/server-ecdsa.key" "$T/a/b/ca/intermediate.pem" >"$T/install.out" 2>&1
check "cert install --store s1/s2/store with parents missing succeeds" test -s "$T/s1/s2/store/ecdsa.chain.pem"
"$CASTGATE" trust add --store "$T/t1/t2/trust" "$T/a/b/ca/root.pem" >"$T/trust.out" 2>&1
check "trust add --store t1/t2/trust with parents missing succeeds" bash -c "ls '$T/t1/t2/trust' | grep -q '\.0$'"

: >"$T/afile"
"$CASTGATE" cert ca init --dir "$T/afile/ca" >"$T/bad1.out" 2>&1
rc=$?
check "ca init under a regular file fails" [ "$rc" != 0 ]
check "... naming the path and the reason, not a bare I/O error" \
  grep -q "cannot create $T/afile/ca: Not a directory" "$T/bad1.out"
"$CASTGATE" cert issue --ca "$T/a/b/ca" --host localhost --type ecdsa --out "$T/afile/x/leaf" >"$T/bad2.out" 2>&1
rc=$?
check "cert issue --out under a regular file fails" [ "$rc" != 0 ]
check "... naming the path that could not be made" grep -q "cannot create $T/afile/x: Not a directory" "$T/bad2.out"
cat "$T/bad1.out" "$T/bad2.out"
finish
