#!/usr/bin/env bash
# castgate check tls vs testssl.sh on the nine AMWA BCP-003-01 tests, part 1 of 2
# (servers: ref rsaonly noocsp); the body is tests/interop/check_testssl_lib.sh.
SERVERS="ref rsaonly noocsp"
. "$(dirname "$0")/check_testssl_lib.sh"
