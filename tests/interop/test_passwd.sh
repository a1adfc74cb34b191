#!/usr/bin/env bash
# `castgate passwd` (M-05 credential file): create, replace, delete, mode 0600,
# atomic replacement (no temporary file left), refusal of a group/other-readable
# file, the password from a pipe or typed twice on a terminal without echo, and
# hashes checked through `castgate passwd --check` — including SHA-512 hashes
# made by `openssl passwd -6`, and an Apache MD5 line (`openssl passwd -apr1`)
# that castgate refuses to check against but keeps untouched.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

D=$T/creds
mkdir -m 700 "$D"
F=$D/users
pw() { printf '%s\n' "$1" | "$CASTGATE" passwd "${@:2}"; }
mode() { stat -c %a "$1"; }
entries() { ls -A "$D" | wc -l; }

check "create a missing file"        pw one "$F" alice
check "mode 0600"                    test "$(mode "$F")" = 600
check "yescrypt line"                grep -q '^alice:\$y\$' "$F"
check "right password verifies"     pw one --check "$F" alice
check "wrong password refused"       bash -c '! printf "two\n" | "$0" passwd --check "$1" alice 2>/dev/null' "$CASTGATE" "$F"
check "add a second user"            pw 'b:ob pw' "$F" bob
old=$(grep '^alice:' "$F")
check "replace alice"                pw three "$F" alice
check "one alice line, new hash"     test "$(grep -c '^alice:' "$F")" = 1 -a "$(grep '^alice:' "$F")" != "$old"
check "new password verifies"        pw three --check "$F" alice
check "old password refused"         bash -c '! printf "one\n" | "$0" passwd --check "$1" alice 2>/dev/null' "$CASTGATE" "$F"
check "other user untouched"         pw 'b:ob pw' --check "$F" bob
check "CRLF on stdin is cut"         bash -c 'printf "three\r\n" | "$0" passwd --check "$1" alice' "$CASTGATE" "$F"
check "no temporary file left"       test "$(entries)" = 1
check "still mode 0600"              test "$(mode "$F")" = 600

# Hashes made by another tool: SHA-512 crypt from openssl verifies.
echo "# added by hand" >>"$F"
echo "osha:$(printf 'sekret' | openssl passwd -6 -stdin)" >>"$F"
check "openssl SHA-512 hash verifies" pw sekret --check "$F" osha
check "openssl SHA-512 wrong refused" bash -c '! printf "sekreT\n" | "$0" passwd --check "$1" osha 2>/dev/null' "$CASTGATE" "$F"

# An Apache MD5 line: --check refuses the whole file, editing keeps the line.
echo "legacy:$(printf 'old' | openssl passwd -apr1 -stdin)" >>"$F"
check "apr1 line makes the file invalid" bash -c '! printf "three\n" | "$0" passwd --check "$1" alice 2>"$2"' "$CASTGATE" "$F" "$T/err"
check "it says why"                  grep -q "malformed" "$T/err"
check "editing keeps other lines"    pw four "$F" carol
check "legacy and comment kept"      grep -q '^legacy:\$apr1\$' "$F"
check "comment kept"                 grep -qx '# added by hand' "$F"
check "delete legacy"                "$CASTGATE" passwd --delete "$F" legacy
check "file valid again"             pw four --check "$F" carol

# Delete.
check "delete alice"                 "$CASTGATE" passwd --delete "$F" alice
check "alice gone"                   bash -c '! grep -q "^alice:" "$0"' "$F"
check "deleting again fails"         bash -c '! "$0" passwd --delete "$1" alice 2>"$2"' "$CASTGATE" "$F" "$T/err"
check "says no such user"            grep -q "no user 'alice'" "$T/err"
check "check says unknown"           bash -c '! printf "x\n" | "$0" passwd --check "$1" alice 2>/dev/null' "$CASTGATE" "$F"
check "no temporary file left (2)"   test "$(entries)" = 1

# Refusal of an unsafe file, and how to fix it.
chmod 644 "$F"
sum=$(sha256sum "$F")
check "0644 file refused"            bash -c '! printf "x\n" | "$0" passwd "$1" eve 2>"$2"' "$CASTGATE" "$F" "$T/err"
check "says chmod 600"               grep -q "chmod 600 $F" "$T/err"
check "delete refused too"           bash -c '! "$0" passwd --delete "$1" bob 2>/dev/null' "$CASTGATE" "$F"
check "0644 file unchanged"          test "$(sha256sum "$F")" = "$sum" -a "$(mode "$F")" = 644
chmod 600 "$F"

# Input and usage errors.
check "empty stdin refused"          bash -c '! "$0" passwd "$1" eve </dev/null 2>/dev/null' "$CASTGATE" "$F"
check "empty line refused"           bash -c '! printf "\n" | "$0" passwd "$1" eve 2>/dev/null' "$CASTGATE" "$F"
check "user with colon refused"      bash -c '! printf "x\n" | "$0" passwd "$1" "e:ve" 2>/dev/null' "$CASTGATE" "$F"
"$CASTGATE" passwd "$F" >/dev/null 2>&1; rc=$?
check "missing USER is a usage error" test "$rc" = 2
"$CASTGATE" passwd --bogus "$F" x >/dev/null 2>&1; rc=$?
check "unknown option is a usage error" test "$rc" = 2
check "--help"                       bash -c '"$0" passwd --help | grep -q -- --delete' "$CASTGATE"
check "listed in castgate --help"    bash -c '"$0" --help | grep -q "^  passwd"' "$CASTGATE"
check "no temporary file left (3)"   test "$(entries)" = 1
check "error output holds no password" bash -c '! grep -q "sekret\|three" "$0"' "$T/err"

# On a terminal: typed twice, without echo; a mismatch changes nothing.
tty_run() { # tty_run FIRST SECOND ARGS... -> prints what the terminal showed
  python3 - "$CASTGATE" "$@" <<'PY'
import os, pty, sys, time
cg, first, second, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(cg, [cg, "passwd"] + args)
out = b""
for answer, prompt in ((first, b"Password:"), (second, b"Again:")):
    end = time.time() + 10
    while prompt not in out and time.time() < end:
        try:
            out += os.read(fd, 4096)
        except OSError:
            break
    time.sleep(0.1)
    os.write(fd, answer.encode() + b"\n")
_, status = os.waitpid(pid, 0)
try:
    while True:
        c = os.read(fd, 4096)
        if not c:
            break
        out += c
except OSError:
    pass
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
}
shown=$(tty_run tty-pw tty-pw "$F" ttyuser); rc=$?
check "terminal: asked twice"        bash -c '[[ "$0" == *Password:* && "$0" == *Again:* ]]' "$shown"
check "terminal: no echo"            bash -c '[[ "$0" != *tty-pw* ]]' "$shown"
check "terminal: set"                test "$rc" = 0
check "terminal: verifies"           pw tty-pw --check "$F" ttyuser
sum=$(sha256sum "$F")
shown=$(tty_run aaa bbb "$F" ttyuser); rc=$?
check "terminal: mismatch fails"     test "$rc" = 1
check "terminal: says so"            bash -c '[[ "$0" == *differ* ]]' "$shown"
check "terminal: file unchanged"     test "$(sha256sum "$F")" = "$sum"

finish
