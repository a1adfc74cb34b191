"""What both gateway-pair tests judge (test_pair_takeover.sh, test_pair_netns.sh;
issue 18 item 3): the JSON lines a process printed and the checks
(testlogs.py), and the delivery verdict counted on the raw arrivals at the device, before its M-22 memory answers a
repeat."""
from testlogs import Checks, load  # noqa: F401  (load: the pair tests import it from here)


class Verdict(Checks):
    """The checks (testlogs.Checks) and the delivery verdict of the pair's tests."""

    def delivery(self, ncs, dev, n, repeats_allowed, why_repeats):
        """The NCS got an answer to each of its n requests, in order; the device
        applied each once, in order (a raw arrival twice in a row only
        repeats_allowed times: the request in flight at a kill, under its own
        messageID, M-22)."""
        acks = [x["seq"] for x in ncs if x["event"] == "ack"]
        self.need(acks == list(range(1, n + 1)),
                  f"the NCS got an answer to each of its {n} requests, in order")
        got = [int(x["messageID"]) for x in dev if x.get("message") == "roReq"]
        twice = [k for i, k in enumerate(got) if i > 0 and got[i - 1] == k]
        once = [k for i, k in enumerate(got) if i == 0 or got[i - 1] != k]
        print(f"the device's raw arrivals: {len(got)}; twice in a row: {twice}")
        self.need(once == list(range(1, n + 1)), "the device applied every request, in order, none lost")
        self.need(len(twice) <= repeats_allowed, why_repeats)
