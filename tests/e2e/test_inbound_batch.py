"""Batch endpoint: per-index results, partial acceptance, duplicates, size and count limits."""

import json
import unittest

from harness import BATCH, RawConnection, ServerTestCase, build_request, detail_fields, unique_id


def valid(i=0, **fields):
    body = {"event": "purchase", "email": f"buyer{i}@example.com"}
    body.update(fields)
    return body


class BatchTest(ServerTestCase):

    def setUp(self):
        self.domain, created = self.api.new_key("command")
        self.key = created["key"]

    def send(self, body, **kw):
        return self.api.inbound(self.key, body, batch=True, **kw)

    def send_events(self, events):
        return self.send({"events": events})

    def assertSummary(self, resp, accepted, duplicates, rejected):
        self.assertStatus(resp, 200)
        body = resp.json
        self.assertEqual(set(body), {"accepted", "duplicates", "rejected", "results"}, resp.text)
        self.assertEqual((body["accepted"], body["duplicates"], body["rejected"]),
                         (accepted, duplicates, rejected), resp.text)
        self.assertEqual([r["index"] for r in body["results"]], list(range(accepted + duplicates + rejected)))
        for result in body["results"]:
            self.assertIn(result["status"], ("accepted", "duplicate", "rejected"))
            if result["status"] == "rejected":
                self.assertEqual(set(result), {"index", "status", "error"}, result)
                self.assertIsInstance(result["error"]["code"], str)
                self.assertIsInstance(result["error"]["message"], str)
            else:
                self.assertEqual(set(result), {"index", "status", "event_id"}, result)
                self.assertTrue(result["event_id"])
        return body["results"]

    def stored_ids(self):
        return sorted(e["event_id"] for e in self.api.all_events(self.domain))

    def test_all_valid_events_are_accepted(self):
        results = self.assertSummary(self.send_events([valid(i) for i in range(3)]), 3, 0, 0)
        self.assertEqual({r["status"] for r in results}, {"accepted"})
        self.assertEqual(len({r["event_id"] for r in results}), 3, "assigned ids must be unique")
        self.assertEqual(self.stored_ids(), sorted(r["event_id"] for r in results))

    def test_given_event_ids_are_kept(self):
        ids = [unique_id() for _ in range(3)]
        results = self.assertSummary(self.send_events([valid(i, event_id=ids[i]) for i in range(3)]),
                                     3, 0, 0)
        self.assertEqual([r["event_id"] for r in results], ids)

    def test_valid_events_are_stored_when_others_are_rejected(self):
        events = [valid(0, event_id="keep-0"), {"event": "lead"}, valid(2, event_id="keep-2"),
                  valid(3, value=5, currency="XYZ")]
        results = self.assertSummary(self.send_events(events), 2, 0, 2)
        self.assertEqual([r["status"] for r in results], ["accepted", "rejected", "accepted", "rejected"])
        self.assertEqual(results[1]["error"]["code"], "validation_failed")
        self.assertIn("identifier", detail_fields(results[1]["error"]))
        self.assertIn("currency", detail_fields(results[3]["error"]))
        self.assertEqual(self.stored_ids(), ["keep-0", "keep-2"])

    def test_non_object_elements_are_rejected_as_event(self):
        events = [valid(0), 5, "text", None, [valid(1)]]
        results = self.assertSummary(self.send_events(events), 1, 0, 4)
        for result in results[1:]:
            self.assertEqual(result["status"], "rejected")
            self.assertIn("(event)", detail_fields(result["error"]), result)

    def test_duplicates_within_one_batch(self):
        event_id = unique_id()
        events = [valid(0, event_id=event_id), valid(1, event_id=event_id), valid(2)]
        results = self.assertSummary(self.send_events(events), 2, 1, 0)
        self.assertEqual([r["status"] for r in results], ["accepted", "duplicate", "accepted"])
        self.assertEqual(results[1]["event_id"], event_id)
        stored = [e for e in self.api.all_events(self.domain) if e["event_id"] == event_id]
        self.assertEqual(len(stored), 1)
        self.assertEqual(stored[0]["email"], "buyer0@example.com", "the first one is kept")

    def test_duplicates_of_earlier_events(self):
        event_id = unique_id()
        self.assertAccepted(self.api.inbound(self.key, valid(0, event_id=event_id)))
        results = self.assertSummary(self.send_events([valid(1, event_id=event_id)]), 0, 1, 0)
        self.assertEqual(results[0], {"index": 0, "status": "duplicate", "event_id": event_id})
        self.assertEqual(self.stored_ids(), [event_id])

    def test_500_events_are_accepted(self):
        self.assertSummary(self.send_events([valid(i) for i in range(500)]), 500, 0, 0)
        self.assertEqual(len(self.stored_ids()), 500)

    def test_more_than_500_events_are_rejected(self):
        resp = self.send_events([valid(i) for i in range(501)])
        self.assertError(resp, 400, "validation_failed", field="events")
        self.assertEqual(self.stored_ids(), [])

    def test_empty_batch_is_rejected(self):
        self.assertError(self.send_events([]), 400, "validation_failed", field="events")

    def test_body_that_is_not_an_events_object_is_rejected(self):
        for body in ([valid(0)], {"events": valid(0)}, {"events": "x"}, {"event": "purchase"},
                     {"events": None}, "42"):
            with self.subTest(body=body):
                self.assertError(self.send(body), 400, "validation_failed", field="events")
        self.assertEqual(self.stored_ids(), [])

    def test_malformed_json_is_invalid_json(self):
        self.assertError(self.send('{"events": [{"event": "x"}'), 400, "invalid_json")

    def test_body_near_1_mib_is_accepted(self):
        pad = "p" * 2000
        events = [valid(i, note=pad) for i in range(500)]
        body = json.dumps({"events": events})
        self.assertLess(len(body), 1024 * 1024)
        self.assertGreater(len(body), 1000 * 1000)
        self.assertSummary(self.send(body), 500, 0, 0)

    def test_body_over_1_mib_is_413(self):
        body = json.dumps({"events": [valid(i, note="p" * 2200) for i in range(500)]}).encode()
        self.assertGreater(len(body), 1024 * 1024)
        head = build_request("POST", BATCH, {"Content-Type": "application/json",
                                             "X-CC-Api-Key": self.key,
                                             "Content-Length": str(len(body))})
        with RawConnection(self.port) as conn:
            conn.send(head)
            # The answer is due from the headers alone; send the body only if none came.
            if not conn.readable(5):
                conn.try_send(body)
            self.assertError(conn.read_response(timeout=10), 413, "payload_too_large")
        self.assertEqual(self.stored_ids(), [])

    def test_form_and_text_are_415(self):
        for ctype in ("application/x-www-form-urlencoded", "text/plain"):
            with self.subTest(ctype=ctype):
                resp = self.send("events=x", content_type=ctype)
                self.assertError(resp, 415, "unsupported_media_type")

    def test_missing_key_is_401(self):
        resp = self.api.inbound(None, {"events": [valid(0)]}, batch=True)
        self.assertError(resp, 401, "missing_api_key")


if __name__ == "__main__":
    unittest.main()
