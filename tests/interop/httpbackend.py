"""Plain-HTTP backends for the front's tests (test_front_backpressure.sh,
test_front_json_sizes.sh, test_front_backend_faults.sh), each with the
behaviour its test writes in its own handler: a request's head read from the
connection, and the server that hands each connection to the handler on a
thread of its own. Imported with PYTHONPATH="$SRC/tests/interop" (lib.sh
start_front_backend runs the backend so)."""
import socket
import threading


def read_head(f):
    """A request's head up to and with its blank line, read a byte at a time
    from f (the connection's makefile('rb')), so nothing after it is taken;
    None when the client closed first."""
    head = b''
    while not head.endswith(b'\r\n\r\n'):
        ch = f.read(1)
        if not ch:
            return None
        head += ch
    return head


def serve(port, handle):
    """handle(connection) for each connection to 127.0.0.1:port, each on a daemon thread; forever."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()
