#!/usr/bin/env bash
# castgate check tls vs testssl.sh on the nine AMWA BCP-003-01 tests, part 2 of 2
# (servers: shorthsts incomplete tls11); the body is tests/interop/check_testssl_lib.sh.
SERVERS="shorthsts incomplete tls11"
. "$(dirname "$0")/check_testssl_lib.sh"
