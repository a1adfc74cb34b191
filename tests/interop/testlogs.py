"""What the interop tests read back (imported with PYTHONPATH="$SRC/tests/interop"):
the JSON lines a process printed, and checks printed one a line. Users:
lib.sh's wait_until (its expressions see load), the verdicts of
test_gateway_failover.sh and, through pairverdict.py, of the pair tests."""
import json
import os


def load(folder, name):
    """The JSON lines of folder/name ([] when the file is not there)."""
    p = os.path.join(folder, name)
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


class Checks:
    """Checks printed one a line ('ok   ...' or 'FAIL ...'); fails keeps the failed ones."""

    def __init__(self):
        self.fails = []

    def need(self, cond, why):
        print(("ok   " if cond else "FAIL ") + why)
        if not cond:
            self.fails.append(why)
