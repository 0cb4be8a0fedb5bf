"""Stored events: listing and paging, idempotency by event_id (also under concurrency and
across restarts and crashes) and exact decimals."""

import unittest

from harness import CcTestCase, Response, ServerTestCase, parallel, unique_id


def purchase(event_id=None, **fields):
    body = {"event": "purchase", "email": "buyer@example.com"}
    if event_id is not None:
        body["event_id"] = event_id
    body.update(fields)
    return body


class EventListTest(ServerTestCase):

    def setUp(self):
        self.domain, created = self.api.new_key("command")
        self.key = created["key"]

    def send_many(self, count, prefix="ev"):
        ids = [f"{prefix}-{i}-{unique_id()}" for i in range(count)]
        for event_id in ids:
            self.assertEqual(self.assertAccepted(self.api.inbound(self.key, purchase(event_id))), event_id)
        return ids

    def test_events_are_listed_newest_first(self):
        ids = self.send_many(5)
        resp = self.api.events(self.domain)
        self.assertStatus(resp, 200)
        self.assertEqual(set(resp.json), {"events", "next"})
        self.assertEqual([e["event_id"] for e in resp.json["events"]], list(reversed(ids)))
        self.assertIsNone(resp.json["next"])
        for stored in resp.json["events"]:
            self.assertEventObject(stored)

    def test_pages_follow_the_cursor(self):
        ids = self.send_many(5)
        first = self.api.events(self.domain, limit=2)
        self.assertStatus(first, 200)
        self.assertEqual(len(first.json["events"]), 2)
        self.assertIsInstance(first.json["next"], str)
        seen, cursor = list(first.json["events"]), first.json["next"]
        for _ in range(10):
            if not cursor:
                break
            page = self.api.events(self.domain, limit=2, before=cursor)
            self.assertStatus(page, 200)
            self.assertLessEqual(len(page.json["events"]), 2)
            seen.extend(page.json["events"])
            cursor = page.json["next"] if page.json["events"] else None
        self.assertIsNone(cursor, "paging never ended")
        self.assertEqual([e["event_id"] for e in seen], list(reversed(ids)))

    def test_default_limit_is_50(self):
        resp = self.api.inbound(self.key, {"events": [purchase() for _ in range(60)]}, batch=True)
        self.assertStatus(resp, 200)
        page = self.api.events(self.domain)
        self.assertEqual(len(page.json["events"]), 50)
        self.assertIsInstance(page.json["next"], str)
        self.assertEqual(len(self.api.all_events(self.domain)), 60)

    def test_limit_bounds(self):
        self.send_many(1)
        for limit in (1, 500):
            with self.subTest(limit=limit):
                self.assertStatus(self.api.events(self.domain, limit=limit), 200)
        for limit in ("0", "501", "-1", "ten"):
            with self.subTest(limit=limit):
                resp = self.api.get(f"/admin/events?domain={self.domain}&limit={limit}")
                self.assertError(resp, 400, "validation_failed", field="limit")

    def test_events_are_listed_per_domain(self):
        other, other_key = self.api.new_key("command")
        self.send_many(2)
        self.assertAccepted(self.api.inbound(other_key["key"], purchase("other-1")))
        self.assertEqual([e["event_id"] for e in self.api.all_events(other)], ["other-1"])
        self.assertEqual(len(self.api.all_events(self.domain)), 2)

    def test_batch_values_are_stored_exactly(self):
        body = ('{"events":[{"event":"purchase","email":"a@b.co","value":12345678901234567.25,'
                '"currency":"USD","event_id":"dec-1"}]}')
        self.assertStatus(self.api.inbound(self.key, body, batch=True), 200)
        stored = self.api.all_events(self.domain)[0]
        self.assertEqual(stored["value_decimal"], "12345678901234567.25")


class IdempotencyTest(ServerTestCase):

    def setUp(self):
        self.domain, created = self.api.new_key("command")
        self.key = created["key"]

    def stored(self, domain=None):
        return self.api.all_events(domain or self.domain)

    def test_repeated_event_id_is_a_duplicate(self):
        event_id = unique_id()
        self.assertEqual(self.assertAccepted(self.api.inbound(self.key, purchase(event_id))), event_id)
        self.assertDuplicate(self.api.inbound(self.key, purchase(event_id)), event_id)
        self.assertEqual([e["event_id"] for e in self.stored()], [event_id])

    def test_duplicate_with_a_different_payload_keeps_the_first(self):
        event_id = unique_id()
        first = '{"event":"purchase","email":"first@example.com","event_id":"%s"}' % event_id
        self.assertAccepted(self.api.inbound(self.key, first))
        self.assertDuplicate(self.api.inbound(self.key, purchase(event_id, email="second@example.com")),
                             event_id)
        [stored] = self.stored()
        self.assertEqual(stored["email"], "first@example.com")
        self.assertEqual(stored["raw"], first)

    def test_duplicate_through_another_key_of_the_same_domain(self):
        second = self.api.create_key(self.domain, "second")["key"]
        event_id = unique_id()
        self.assertAccepted(self.api.inbound(self.key, purchase(event_id)))
        self.assertDuplicate(self.api.inbound(second, purchase(event_id)), event_id)

    def test_duplicate_through_form_encoding(self):
        event_id = unique_id()
        self.assertAccepted(self.api.inbound(self.key, purchase(event_id)))
        resp = self.api.inbound_form(self.key, {"event": "purchase", "click_id": "x", "event_id": event_id})
        self.assertDuplicate(resp, event_id)

    def test_same_event_id_on_another_domain_is_stored(self):
        other, other_key = self.api.new_key("command")
        event_id = unique_id()
        self.assertAccepted(self.api.inbound(self.key, purchase(event_id)))
        self.assertEqual(self.assertAccepted(self.api.inbound(other_key["key"], purchase(event_id))), event_id)
        self.assertEqual(len(self.stored(other)), 1)

    def test_rejected_event_does_not_claim_its_event_id(self):
        event_id = unique_id()
        self.assertError(self.api.inbound(self.key, {"event": "purchase", "event_id": event_id}),
                         400, "validation_failed", field="identifier")
        self.assertAccepted(self.api.inbound(self.key, purchase(event_id)))

    def test_concurrent_duplicates_are_stored_once(self):
        ids = [unique_id("race") for _ in range(10)]

        def sender(offset):
            def send(conn):
                return [self.api.inbound(self.key, purchase(ids[(offset + j) % 10]), conn=conn)
                        for j in range(10)]
            return send

        outcomes = parallel(self.api, [sender(i) for i in range(20)])
        responses = []
        for outcome in outcomes:
            self.assertIsInstance(outcome, list, outcome)
            responses.extend(outcome)
        for resp in responses:
            self.assertIsInstance(resp, Response)
            self.assertIn(resp.status, (200, 202), resp.text)
            self.assertIn(resp.json["event_id"], ids)
        accepted = sorted(r.json["event_id"] for r in responses if r.status == 202)
        self.assertEqual(accepted, sorted(ids), "each event_id is accepted exactly once")
        self.assertEqual(sum(r.status == 200 for r in responses), 190)
        self.assertEqual(sorted(e["event_id"] for e in self.stored()), sorted(ids))


class RestartTest(CcTestCase):
    """The same database opened by a second server."""

    def test_duplicate_is_detected_across_a_restart(self):
        database = self.temp_database()
        first = self.start_server(database=database)
        domain, created = first.api.new_key("command")
        event_id = unique_id()
        self.assertAccepted(first.api.inbound(created["key"], purchase(event_id)))
        self.assertEqual(first.stop(), 0)

        second = self.start_server(database=database)
        self.assertDuplicate(second.api.inbound(created["key"], purchase(event_id)), event_id)
        self.assertEqual([e["event_id"] for e in second.api.all_events(domain)], [event_id])

    def test_acked_events_survive_a_crash(self):
        database = self.temp_database()
        first = self.start_server(database=database)
        domain, created = first.api.new_key("command")
        acked = [self.assertAccepted(first.api.inbound(created["key"], purchase(unique_id())))
                 for _ in range(20)]
        batch = first.api.inbound(created["key"], {"events": [purchase(unique_id()) for _ in range(5)]},
                                  batch=True)
        self.assertStatus(batch, 200)
        acked += [r["event_id"] for r in batch.json["results"]]
        first.kill()  # SIGKILL right after the acks: nothing acked may be lost

        second = self.start_server(database=database)
        stored = sorted(e["event_id"] for e in second.api.all_events(domain))
        self.assertEqual(stored, sorted(acked))


if __name__ == "__main__":
    unittest.main()
