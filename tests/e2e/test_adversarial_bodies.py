"""Adversarial inbound bodies cost about what a plain body of the same size costs.

A body crafted to make the JSON reader do more than linear work (one huge key above many
`value` numbers, tens of thousands of `value` keys, nesting at the limit everywhere, the
largest batch allowed) must be handled within a small multiple of the time a plain body of
the same size takes, measured in the same test on the same server, and /healthz must keep
answering promptly while such bodies are being read on every network thread.
"""

import http.client
import json
import statistics
import threading
import time
import unittest

from harness import BATCH, INBOUND, ServerTestCase, unique_id

BATCH_LIMIT = 1024 * 1024
SINGLE_LIMIT = 32 * 1024
# How much slower than a plain body of the same size an adversarial one may be. A linear
# reader stays within a few times (it also builds a DOM of many small nodes); the quadratic
# one it guards against took thousands of times longer.
FACTOR = 10
# Plain requests of a few milliseconds are dominated by scheduling noise; never demand
# better than this many plain round trips for one body.
FLOOR_ROUNDS = 4

EVENT = {"event": "purchase", "email": "buyer@example.com"}


def pad_to(prefix: str, suffix: str, size: int, filler: str = "x") -> str:
    """prefix + filler... + suffix, exactly `size` bytes (ASCII)."""
    return prefix + filler * (size - len(prefix) - len(suffix)) + suffix


def plain_batch(size: int) -> str:
    """One ordinary event and a long string member: the same bytes, trivial structure."""
    return pad_to('{"events":[' + json.dumps(EVENT) + '],"pad":"', '"}', size)


def plain_single(size: int) -> str:
    return pad_to('{"event":"purchase","email":"buyer@example.com","pad":"', '"}', size)


def long_key_over_values(size: int, key_bytes: int) -> str:
    """A huge member name holding an array of many {"value":1.5} objects."""
    head = '{"events":[' + json.dumps(EVENT) + '],"' + "k" * key_bytes + '":['
    item = '{"value":1.5},'
    count = (size - len(head) - 3) // len(item)
    body = head + item * count
    return body[:-1] + "]}"


def many_value_keys(size: int) -> str:
    """Tens of thousands of "value" keys in one event (a duplicate-key flood)."""
    head = '{"event":"purchase","email":"buyer@example.com",'
    item = '"value":1.5,'
    count = (size - len(head) - 12) // len(item)
    return head + item * count + '"value":1.5}'


def many_value_keys_in_batch(size: int) -> str:
    """The same flood inside one batch element: tens of thousands of distinct event-like objects."""
    head = '{"events":[' + json.dumps(EVENT) + '],"p":['
    item = '{"value":1.25},'
    count = (size - len(head) - 3) // len(item)
    return (head + item * count)[:-1] + "]}"


def deep_nesting(size: int, depth: int = 32) -> str:
    """Arrays nested to the limit (the root object is level 1), repeated to fill the body."""
    head = '{"events":[' + json.dumps(EVENT) + '],"p":['
    unit = "[" * (depth - 2) + "]" * (depth - 2) + ","
    count = (size - len(head) - 3) // len(unit)
    return (head + unit * count)[:-1] + "]}"


def maximal_events(size: int, count: int = 500) -> str:
    """The largest batch allowed: `count` valid events, each padded with properties."""
    per_event = (size - len('{"events":[]}')) // count - 1
    events = []
    for _ in range(count):
        event = dict(EVENT, event_id=unique_id("max"), value=12.5, currency="EUR")
        head = json.dumps(event)[:-1] + ',"properties":{"note":"'
        events.append(pad_to(head, '"}}', per_event))
    return '{"events":[' + ",".join(events) + "]}"


class AdversarialBodiesTest(ServerTestCase):
    # Two network threads: two slow bodies at once would leave nobody to answer /healthz.
    server_env = {"CC_THREADS": "2", "CC_RATE_LIMIT_COMMAND": "1000000:1000000"}
    share_server = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.domain, created = cls.api.new_key("command")
        cls.key = created["key"]

    def post(self, path, body: str, timeout: float):
        """(status, seconds) of one POST on a fresh connection."""
        data = body.encode("utf-8")
        conn = http.client.HTTPConnection(self.server.api.host, self.port, timeout=timeout)
        try:
            conn.connect()
            started = time.perf_counter()
            conn.request("POST", path, body=data,
                         headers={"X-CC-Api-Key": self.key, "Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            return resp.status, time.perf_counter() - started
        finally:
            conn.close()

    def baseline(self, path, body: str) -> float:
        """Median time of a plain body, after one warm-up."""
        self.post(path, body, 60)
        times = []
        for _ in range(5):
            status, seconds = self.post(path, body, 60)
            self.assertIn(status, (200, 202), "the plain body must be accepted")
            times.append(seconds)
        return statistics.median(times)

    def budget(self, plain: float) -> float:
        return FACTOR * max(plain, FLOOR_ROUNDS * self.round_trip)

    def setUp(self):
        # The cost of the smallest exchange, for the floor.
        times = []
        for _ in range(5):
            started = time.perf_counter()
            self.assertStatus(self.api.get("/healthz", token=None), 200)
            times.append(time.perf_counter() - started)
        self.round_trip = statistics.median(times)

    def check(self, path, adversarial: str, plain: str, statuses):
        self.assertEqual(len(adversarial.encode()), len(plain.encode()), "compare bodies of one size")
        plain_time = self.baseline(path, plain)
        budget = self.budget(plain_time)
        # A request still running at the budget has failed; do not wait much longer for it.
        try:
            status, seconds = self.post(path, adversarial, timeout=budget * 3 + 5)
        except OSError as exc:  # socket timeout
            self.fail(f"no answer within {budget * 3 + 5:.2f}s (plain body: {plain_time:.4f}s): {exc!r}")
        self.assertIn(status, statuses)
        self.assertLessEqual(seconds, budget,
                             f"adversarial body took {seconds:.4f}s, a plain one {plain_time:.4f}s")
        return seconds, plain_time

    def test_a_huge_key_above_many_value_numbers(self):
        body = long_key_over_values(BATCH_LIMIT - 16, 512 * 1024)
        self.check(BATCH, body, plain_batch(len(body)), (200,))

    def test_tens_of_thousands_of_value_keys(self):
        # One event: refused (a member name twice), but quickly.
        body = many_value_keys(SINGLE_LIMIT)
        self.check(INBOUND, body, plain_single(len(body)), (400,))
        # The batch form of it: ~70k distinct objects with a `value` each, in 1 MiB.
        body = many_value_keys_in_batch(BATCH_LIMIT - 16)
        self.check(BATCH, body, plain_batch(len(body)), (200,))

    def test_nesting_at_the_limit(self):
        body = deep_nesting(BATCH_LIMIT - 16)
        self.check(BATCH, body, plain_batch(len(body)), (200,))

    def test_the_largest_batch_of_maximal_events(self):
        body = maximal_events(BATCH_LIMIT - 16)
        self.assertLessEqual(len(body), BATCH_LIMIT)
        plain = plain_batch(len(body))
        seconds, plain_time = self.check(BATCH, body, plain, (200,))

    def test_healthz_answers_while_every_network_thread_reads_adversarial_bodies(self):
        bodies = [long_key_over_values(BATCH_LIMIT - 16, 512 * 1024), deep_nesting(BATCH_LIMIT - 16),
                  many_value_keys_in_batch(BATCH_LIMIT - 16)]
        plain_time = self.baseline(BATCH, plain_batch(BATCH_LIMIT - 16))
        budget = self.budget(plain_time)
        stop = threading.Event()
        errors = []

        def flood(body):
            while not stop.is_set():
                try:
                    self.post(BATCH, body, timeout=budget * 3 + 5)
                except OSError as exc:
                    errors.append(exc)
                    return

        senders = [threading.Thread(target=flood, args=(bodies[i % len(bodies)],), daemon=True) for i in range(2)]
        for sender in senders:
            sender.start()
        worst = 0.0
        try:
            time.sleep(0.2)  # both network threads busy with bodies from here on
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                started = time.perf_counter()
                resp = self.api.request("GET", "/healthz", token=None)
                worst = max(worst, time.perf_counter() - started)
                self.assertStatus(resp, 200)
        finally:
            stop.set()
            for sender in senders:
                sender.join(60)
        self.assertEqual(errors, [])
        # /healthz may wait for a body being read, never for much more than one plain body's time.
        self.assertLessEqual(worst, budget, f"/healthz took {worst:.4f}s; a plain batch {plain_time:.4f}s")


if __name__ == "__main__":
    unittest.main()
