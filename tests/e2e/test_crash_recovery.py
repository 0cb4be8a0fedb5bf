"""Crash recovery: a SIGKILL in the middle of a load loses nothing that was acknowledged,
and a SIGTERM under load answers every in-flight request, commits and flushes.

The figures of each run (events sent, acknowledged, found after the restart) are printed
to stderr, so docs/RELIABILITY.md can quote them.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import sys
import threading
import time
import unittest
import uuid

from harness import (BATCH, INBOUND, STOP_TIMEOUT, CcTestCase, RawConnection, Server, build_request,
                     expect, poll)

WORKERS = 8
BATCH_SIZE = 10
# Every third request of a worker is a batch: 2 singles + 1 batch of 10 = 12 events per cycle.
REQUESTS_PER_WORKER = 180
PLANNED_EVENTS = WORKERS * (REQUESTS_PER_WORKER // 3) * (2 + BATCH_SIZE)
# Hard bounds, whatever the speed of the build (AddressSanitizer is 3-5x slower).
LOAD_SECONDS_MAX = 20.0
CLIENT_TIMEOUT = 15.0


def report(text: str):
    print(f"[crash-recovery] {text}", file=sys.stderr, flush=True)


def event_body(event_id: str, worker: int) -> dict:
    return {"event": "purchase", "event_id": event_id, "email": f"buyer{worker}@example.com",
            "value": "12.50", "currency": "EUR", "properties": {"worker": worker}}


class Load:
    """WORKERS threads posting events with distinct event_ids, each on its own keep-alive
    connection, mixing single events and batches. Records what was sent and what was
    acknowledged (202, or "accepted"/"duplicate" in a batch answer).

    Every request is also recorded with the moment it was completely sent and what came
    back, so a shutdown test can tell requests sent before a signal from those after it."""

    def __init__(self, port: int, key: str, tag: str, *, stop_on_error: bool = True):
        self.port = port
        self.key = key
        self.tag = tag
        self.stop_on_error = stop_on_error
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent: set[str] = set()
        self.acked: set[str] = set()
        self.requests: list[dict] = []  # {"sent_at", "ids", "outcome", "status", "error"}
        self.unexpected: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(WORKERS)]
        self.started_at = None

    def start(self):
        self.started_at = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def join(self, timeout=LOAD_SECONDS_MAX + CLIENT_TIMEOUT + 5):
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        alive = [t for t in self.threads if t.is_alive()]
        if alive:
            raise AssertionError(f"{len(alive)} load threads still running after {timeout}s")

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)

    def _run(self, worker: int):
        deadline = self.started_at + LOAD_SECONDS_MAX
        conn = None
        for n in range(REQUESTS_PER_WORKER):
            if self.stop.is_set() or time.monotonic() > deadline:
                break
            batch = n % 3 == 2
            count = BATCH_SIZE if batch else 1
            ids = [f"{self.tag}-w{worker}-r{n}-e{j}" for j in range(count)]
            if batch:
                path, body = BATCH, {"events": [event_body(i, worker) for i in ids]}
            else:
                path, body = INBOUND, event_body(ids[0], worker)
            data = json.dumps(body).encode()
            record = {"ids": ids, "sent_at": None, "outcome": None, "status": None, "error": None}
            with self.lock:
                self.sent.update(ids)
                self.requests.append(record)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)
                conn.request("POST", path, body=data,
                             headers={"X-CC-Api-Key": self.key, "Content-Type": "application/json"})
                record["sent_at"] = time.monotonic()
                resp = conn.getresponse()
                payload = resp.read()  # IncompleteRead if the body is cut short
                record["status"] = resp.status
                record["outcome"] = "response"
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                record["outcome"] = "error"
                record["error"] = f"{type(exc).__name__}: {exc}"
                if conn is not None:
                    conn.close()
                    conn = None
                if self.stop_on_error:
                    break
                continue
            confirmed = self._confirmed(record["status"], payload, ids, batch)
            if confirmed is None:
                with self.lock:
                    self.unexpected.append(f"{record['status']} {payload[:300]!r}")
                if record["status"] != 503:
                    break
                time.sleep(0.05)
                continue
            with self.lock:
                self.acked.update(confirmed)
        if conn is not None:
            conn.close()

    @staticmethod
    def _confirmed(status, payload, ids, batch):
        """The event ids this answer says are stored, or None for an answer that is not a
        success (503 while overloaded or shutting down, or anything unexpected)."""
        try:
            body = json.loads(payload)
        except ValueError:
            return None
        if not batch:
            if status == 202 and body.get("event_id") == ids[0] and body.get("status") == "accepted":
                return [ids[0]]
            return None
        if status != 200 or not isinstance(body.get("results"), list):
            return None
        confirmed = []
        for item in body["results"]:
            if item.get("status") in ("accepted", "duplicate"):
                confirmed.append(ids[item["index"]])
        return confirmed


def stored_event_ids(api, domain) -> list:
    """Every event id stored for `domain`, through the admin API's pages (limit=500)."""
    return [e["event_id"] for e in api.all_events(domain)]


def purchase(event_id):
    return {"event": "purchase", "event_id": event_id, "email": "buyer@example.com"}


class SigkillTest(CcTestCase):
    """SIGKILL at three points of a load (early, mid, late), each followed by a restart on
    the same database: every acknowledged event is stored, exactly once."""

    # Kill once this share of the planned events is acknowledged (or the time runs out).
    KILL_POINTS = (("early", 0.05), ("mid", 0.45), ("late", 0.85))

    def test_acknowledged_events_survive_sigkill_at_three_points(self):
        database = self.temp_database()
        token = "crash-" + uuid.uuid4().hex
        server = Server(database=database, admin_token=token)
        self.addCleanup(lambda: server.close())
        server.start()
        rounds = []  # (name, domain, sent, acked)
        for name, share in self.KILL_POINTS:
            domain, created = server.api.new_key("command")
            load = Load(server.port, created["key"], f"{name}-{uuid.uuid4().hex[:8]}").start()
            target = max(1, int(PLANNED_EVENTS * share))
            deadline = time.monotonic() + LOAD_SECONDS_MAX
            while load.acked_count() < target and time.monotonic() < deadline and \
                    any(t.is_alive() for t in load.threads):
                time.sleep(0.005)
            killed_after = time.monotonic() - load.started_at
            server.kill()  # SIGKILL: no drain, no flush, no checkpoint
            load.stop.set()
            load.join()
            rounds.append((name, domain, set(load.sent), set(load.acked)))
            report(f"kill point {name}: SIGKILL after {killed_after:.2f}s; sent {len(load.sent)} events, "
                   f"acked {len(load.acked)} (target {target}), unexpected answers {len(load.unexpected)}")
            self.assertEqual(load.unexpected, [], "answers other than 202 or a batch 200 under plain load")

            # Restart on the same database; it must come up and hold every acked event once.
            restart_started = time.monotonic()
            old = server
            server = Server(database=database, admin_token=token)
            self.addCleanup(lambda s=server: s.close())
            server.start()
            old.close()
            ready = time.monotonic() - restart_started
            self.assertStatus(server.api.get("/readyz", token=None), 200)
            report(f"kill point {name}: restarted and listening in {ready:.2f}s")
            for past_name, past_domain, sent, acked in rounds:
                with self.subTest(kill_point=name, checked=past_name):
                    found = stored_event_ids(server.api, past_domain)
                    found_set = set(found)
                    if past_name == name:
                        report(f"kill point {name}: found {len(found)} stored after restart "
                               f"({len(found_set - acked)} stored but never acked: in flight at the kill)")
                    self.assertEqual(len(found), len(found_set), "an event is stored twice")
                    self.assertEqual(sorted(acked - found_set), [], "acknowledged events lost by the crash")
                    self.assertEqual(sorted(found_set - sent), [], "stored events nobody sent")
            # The restarted service takes events again, with the same key.
            probe = f"after-{name}"
            self.assertEqual(server.api.inbound(created["key"], purchase(probe)).status, 202)
            rounds[-1][2].add(probe)
            rounds[-1][3].add(probe)

        # A clean stop, then the file itself: no (domain, event_id) twice, and no damage.
        self.assertEqual(server.stop(), 0, server.log_tail())
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            twice = db.execute("SELECT domain, event_id, COUNT(*) FROM events "
                               "GROUP BY domain, event_id HAVING COUNT(*) > 1").fetchall()
            self.assertEqual(twice, [])
            for name, domain, sent, acked in rounds:
                rows = {r[0] for r in db.execute("SELECT event_id FROM events WHERE domain = ?", (domain,))}
                self.assertEqual(sorted(acked - rows), [], f"{name}: acked events missing from the file")
                report(f"kill point {name}: sqlite file holds {len(rows)} events of the round "
                       f"(sent {len(sent)}, acked {len(acked)}), integrity ok")
        finally:
            db.close()


def start_partial_post(port, key, event_id):
    """A POST whose head and first body bytes are sent after one complete exchange on the
    same connection (so it is accepted and being served); returns (connection, rest)."""
    body = json.dumps(purchase(event_id)).encode()
    conn = RawConnection(port, timeout=CLIENT_TIMEOUT)
    conn.send(build_request("GET", "/healthz"))
    expect(conn.read_response(), 200, "GET /healthz before the partial POST")
    # The 100 Continue answer says the server has parsed the head and awaits the body.
    conn.send(build_request("POST", INBOUND, {"Content-Type": "application/json", "X-CC-Api-Key": key,
                                              "Expect": "100-continue", "Content-Length": str(len(body))}))
    expect(conn.read_response(timeout=CLIENT_TIMEOUT), 100, "100 Continue before the partial body")
    conn.send(body[:10])
    return conn, body[10:]


class SigtermUnderLoadTest(CcTestCase):
    """SIGTERM while 8 clients send: no request fully sent before the signal is left
    without a complete answer, the process exits 0, acked events are stored, and the
    key's last-used time is flushed at shutdown."""

    def test_sigterm_under_load_answers_in_flight_requests_and_flushes(self):
        database = self.temp_database()
        token = "term-" + uuid.uuid4().hex
        server = self.start_server({"CC_LAST_USED_FLUSH_MS": "60000", "CC_SHUTDOWN_GRACE_MS": "15000"},
                                   database=database, admin_token=token)
        domain, created = server.api.new_key("command")
        self.assertIsNone(server.api.key(created["id"])["last_used_at"])
        partial = [start_partial_post(server.port, created["key"], f"partial-{i}-{uuid.uuid4().hex}")
                   for i in range(3)]
        for conn, _ in partial:
            self.addCleanup(conn.close)

        load = Load(server.port, created["key"], f"term-{uuid.uuid4().hex[:8]}", stop_on_error=True).start()
        poll(lambda: load.acked_count() >= 300 or not any(t.is_alive() for t in load.threads),
             LOAD_SECONDS_MAX, what="some acknowledged events before SIGTERM")
        signalled_at = time.monotonic()
        server.terminate()
        # Every partial request was in flight at the signal: it must be served in full.
        partial_ids = []
        for conn, rest in partial:
            conn.send(rest)
            resp = conn.read_response(timeout=CLIENT_TIMEOUT)
            partial_ids.append(self.assertAccepted(resp))
        code = server.wait(STOP_TIMEOUT + 15)
        load.stop.set()
        load.join()
        self.assertEqual(code, 0, server.log_tail())

        before = [r for r in load.requests if r["sent_at"] is not None and r["sent_at"] < signalled_at]
        after = [r for r in load.requests if r not in before]
        cut = [r for r in before if r["outcome"] != "response"]
        statuses = {}
        for r in load.requests:
            if r["outcome"] == "response":
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        errors_after = [r["error"] for r in after if r["outcome"] == "error"]
        report(f"SIGTERM: {len(load.requests)} requests ({len(load.sent)} events), "
               f"{len(before)} fully sent before the signal, {len(cut)} of them without a complete answer; "
               f"statuses {statuses}; after the signal {len(errors_after)} refused/closed "
               f"({sorted(set(e.split(':')[0] for e in errors_after))}); acked {len(load.acked)} events")
        self.assertEqual([(r["ids"][0], r["error"], f"sent {1000 * (signalled_at - r['sent_at']):.1f} ms before SIGTERM")
                          for r in cut][:5], [],
                         f"{len(cut)} requests fully sent before SIGTERM got no complete answer (first 5 shown)")
        self.assertEqual([u for u in load.unexpected if not u.startswith("503")], [])
        # A cut inside a response body (IncompleteRead) is never acceptable, before or after.
        self.assertEqual([e for e in errors_after if "IncompleteRead" in e], [])

        again = self.start_server({"CC_LAST_USED_FLUSH_MS": "60000"}, database=database, admin_token=token)
        found = set(stored_event_ids(again.api, domain))
        missing = (load.acked | set(partial_ids)) - found
        report(f"SIGTERM: found {len(found)} stored after restart, {len(missing)} acked missing")
        self.assertEqual(sorted(missing), [])
        key = again.api.key(created["id"])
        self.assertIsNotNone(key["last_used_at"], "last-used time not flushed at shutdown")
        self.assertRecent(key["last_used_at"])
        self.assertEqual(key["last_used_ip"], "127.0.0.1")

    BURST_CONNECTIONS = 200
    BURST_ROUNDS = 3
    BURST_BUDGET_SECONDS = 20.0

    def test_requests_received_just_before_sigterm_are_answered(self):
        """A sharper form of the race above: 200 keep-alive connections, each idle after one
        exchange, all send a complete POST while the server's threads are busy with a few
        large batches, then SIGTERM follows at once. Every one of those requests is in the
        server's socket buffers before the signal is sent (loopback delivers within send()),
        so each must get a complete answer: not a reset, and not a silent close after the
        server has already committed the event. Up to 3 rounds (time-bounded), since the
        window depends on scheduling."""
        started = time.monotonic()
        for round_no in range(self.BURST_ROUNDS):
            if round_no and time.monotonic() - started > self.BURST_BUDGET_SECONDS:
                break
            unanswered, committed_anyway = self._burst_round(round_no)
            self.assertEqual(len(unanswered), 0,
                             f"round {round_no}: {len(unanswered)} requests received before SIGTERM were never "
                             f"answered, {len(committed_anyway)} of them committed all the same; "
                             f"first: {unanswered[:3]}")

    def _burst_round(self, round_no):
        database = self.temp_database()
        server = self.start_server({"CC_SHUTDOWN_GRACE_MS": "15000"}, database=database)
        domain, created = server.api.new_key("command")
        headers = {"Content-Type": "application/json", "X-CC-Api-Key": created["key"]}
        conns = []
        for _ in range(self.BURST_CONNECTIONS):
            conn = RawConnection(server.port, timeout=CLIENT_TIMEOUT)
            self.addCleanup(conn.close)
            conn.send(build_request("GET", "/healthz"))
            expect(conn.read_response(), 200, "GET /healthz on a connection kept alive")
            conns.append(conn)
        ids = [f"burst-{round_no}-{i}-{uuid.uuid4().hex}" for i in range(len(conns))]
        requests = [build_request("POST", INBOUND, {**headers, "X-Request-Id": f"burst-{round_no}-{i}"},
                                  json.dumps(purchase(event_id)))
                    for i, event_id in enumerate(ids)]
        # Keep the server's threads busy for a moment: batches of 500 events to validate.
        heavy = []
        for i in range(4):
            conn = RawConnection(server.port, timeout=CLIENT_TIMEOUT)
            self.addCleanup(conn.close)
            batch = {"events": [purchase(f"heavy-{i}-{j}-{uuid.uuid4().hex}") for j in range(500)]}
            heavy.append((conn, build_request("POST", BATCH, headers, json.dumps(batch))))
        for conn, data in heavy:
            conn.send(data)
        for conn, data in zip(conns, requests):
            conn.send(data)
        server.terminate()
        outcomes = []
        for conn, event_id in zip(conns, ids):
            try:
                outcomes.append((event_id, conn.read_response(timeout=CLIENT_TIMEOUT).status))
            except OSError as exc:
                outcomes.append((event_id, f"{type(exc).__name__}: {exc}"))
        for conn, _ in heavy:
            try:
                conn.read_response(timeout=CLIENT_TIMEOUT)
            except OSError:
                pass  # the batches only keep the server busy; their answers are not the point
        self.assertEqual(server.wait(STOP_TIMEOUT + 15), 0, server.log_tail())
        unanswered = [o for o in outcomes if not isinstance(o[1], int)]
        again = self.start_server(database=database)
        stored = set(stored_event_ids(again.api, domain))
        committed_anyway = [event_id for event_id, _ in unanswered if event_id in stored]
        report(f"SIGTERM burst round {round_no}: {len(ids)} requests sent before the signal, "
               f"{len(unanswered)} left without an answer "
               f"({sorted({o[1].split(':')[0] for o in unanswered})}), "
               f"{len(committed_anyway)} of those committed all the same")
        answered = [(event_id, status) for event_id, status in outcomes if isinstance(status, int)]
        self.assertEqual({status for _, status in answered} - {202}, set(), outcomes)
        self.assertEqual(sorted(event_id for event_id, _ in answered if event_id not in stored), [],
                         "acknowledged events missing after the restart")
        again.stop()
        return unanswered, committed_anyway


if __name__ == "__main__":
    unittest.main()
