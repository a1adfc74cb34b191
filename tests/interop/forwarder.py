"""A TCP forwarder that stands in for a virtual address (issue 18; docs/redundancy.md
"The gateway pair"): 127.0.0.1:PORT, each new connection to the target of the
moment, bytes pumped both ways until either side closes. Shared by the pair's
tests (tests/interop/pair_lib.sh start_vip, test_pair_split.sh's replication
link, test_pair_netns.sh in the gear's namespace) and the bench's pair part
(bench/lib/pair.py).

As a program: forwarder.py PORT TARGET-FILE: the target is read from the file
("[HOST:]PORT", HOST 127.0.0.1 when left out) at each new connection, so a
test moves it by replacing the file (pair_lib.sh move_vip). As a module:
Forwarder(port, target).start(), target "[HOST:]PORT", a port number, or a
function that returns one; setting .target moves it."""
import socket
import sys
import threading


def parse_target(t):
    """"[HOST:]PORT" (or a port number) -> (host, port)."""
    host, _, port = str(t).strip().rpartition(":")
    return host or "127.0.0.1", int(port)


def pump(a, b):
    """a's bytes to b until a closes or fails; then both shut down."""
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Forwarder:
    """127.0.0.1:port -> each new connection to the target of the moment."""

    def __init__(self, port, target):
        self.target = target
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", port))
        self.srv.listen(16)

    def where(self):
        t = self.target() if callable(self.target) else self.target
        return parse_target(t)

    def serve(self):
        """Accepts forever (a connection whose target cannot be reached is closed)."""
        while True:
            c, _ = self.srv.accept()
            try:
                u = socket.create_connection(self.where())
            except (OSError, ValueError):
                c.close()
                continue
            threading.Thread(target=pump, args=(c, u), daemon=True).start()
            threading.Thread(target=pump, args=(u, c), daemon=True).start()

    def start(self):
        """serve() on a daemon thread; returns self."""
        threading.Thread(target=self.serve, daemon=True).start()
        return self


def main():
    port, path = int(sys.argv[1]), sys.argv[2]

    def target():
        with open(path) as f:
            return f.read()
    Forwarder(port, target).serve()


if __name__ == "__main__":
    main()
