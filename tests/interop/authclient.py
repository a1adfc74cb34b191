"""The TLS client of the interop tests that talk to the device of lib.sh's
start_auth_dev (test_auth_lockout_accept.sh, test_auth_busy_machine.sh,
test_frontdoor_errors.sh): one request over TLS on a connection of its own,
and the HTTP status of the answer.

A test runs its Python with PYTHONPATH=$SRC/tests/interop (its script on
stdin) and imports this module."""
import base64
import socket
import ssl

MOS_ID = "mos.castgate.demo"
NCS_ID = "ncs.castgate.demo"  # the peer, whose password is "correct horse"


def status(ctx, port, request, timeout, src=None):
    """Sends request (bytes) over TLS (context ctx, name localhost) to
    127.0.0.1:port, from the address src if given; returns the status code of
    the answer as text, or "error:<exception name>" when the connection, the
    handshake or the answer failed."""
    source = (src, 0) if src else None
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                      source_address=source) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                t.sendall(request)
                return t.recv(64).split(b" ")[1].decode()
    except (OSError, ssl.SSLError, IndexError) as e:
        return "error:" + type(e).__name__


def upgrade(ctx, port, password, src=None):
    """A WebSocket upgrade to the device's MOS lane (ro) as the peer with
    password (bytes), Basic credentials (M-05); its status as status()
    gives it (60 s time limit)."""
    auth = base64.b64encode(NCS_ID.encode() + b":" + password).decode()
    req = ("GET /mos/Communication?mosID=%s&ncsID=%s&channel=ro HTTP/1.1\r\n"
           "Host: localhost:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           "Authorization: Basic %s\r\n\r\n" % (MOS_ID, NCS_ID, port, auth)).encode()
    return status(ctx, port, req, 60, src)
