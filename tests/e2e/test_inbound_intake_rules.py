"""Inbound intake rules over real HTTP: the whole body is one JSON value, duplicate member
names, batch element size, Content-Encoding, form bodies that are JSON, integer ids, Unix
milliseconds, the 00 phone prefix and the wording of the errors a client acts on."""

import gzip
import json
import time
import unittest
import zlib

from harness import BATCH, FORM, INBOUND, ServerTestCase, forge_key, sha256_hex, unique_id


def event(**fields):
    body = {"event": "purchase", "email": "buyer@example.com"}
    body.update(fields)
    return body


class IntakeRulesTest(ServerTestCase):

    def setUp(self):
        self.domain, created = self.api.new_key("command")
        self.key = created["key"]
        self.prefix = created["prefix"]

    def send(self, body, **kw):
        return self.api.inbound(self.key, body, **kw)

    def stored(self):
        return self.api.all_events(self.domain)

    def stored_one(self, event_id):
        found = [e for e in self.stored() if e["event_id"] == event_id]
        self.assertEqual(len(found), 1, found)
        return found[0]

    # -- the whole body is one JSON value

    def test_bytes_after_a_nul_make_the_body_invalid(self):
        body = b'{"event":"x","email":"a@b.co"}\x00garbage{'
        err = self.assertError(self.send(body), 400, "invalid_json")
        self.assertEqual(err["message"], "The body is not valid JSON (error near byte 31).")
        batch = b'{"events":[{"event":"x","email":"a@b.co"}]}\x00{'
        self.assertError(self.send(batch, batch=True), 400, "invalid_json")
        self.assertError(self.send(b'{"event":"x","email":"a@b.co"} {}'), 400, "invalid_json")
        self.assertEqual(self.stored(), [])

    def test_invalid_json_says_so_once(self):
        err = self.assertError(self.send(b"{x"), 400, "invalid_json")
        self.assertEqual(err["message"], "The body is not valid JSON (error near byte 2).")

    # -- duplicate member names

    def test_escaped_duplicate_events_member_is_refused(self):
        body = ('{"ev\\u0065nts":[{"event":"a","email":"a@b.co","event_id":"' + unique_id() + '"}],'
                '"events":[{"event":"b","email":"b@b.co","event_id":"' + unique_id() + '"}]}')
        err = self.assertError(self.send(body, batch=True), 400, "invalid_json")
        self.assertIn("same member name twice", err["message"])
        self.assertError(self.send('{"event":"a","event":"b","email":"a@b.co"}'), 400, "invalid_json")
        self.assertEqual(self.stored(), [])

    # -- batch elements

    def test_a_batch_element_is_capped_at_the_single_event_limit(self):
        small = event(event_id=unique_id())
        big = event(event_id=unique_id(), note="x" * (40 * 1024))
        resp = self.send({"events": [small, big]}, batch=True)
        self.assertStatus(resp, 200)
        self.assertEqual((resp.json["accepted"], resp.json["rejected"]), (1, 1), resp.text)
        err = resp.json["results"][1]["error"]
        self.assertEqual(err["code"], "validation_failed")
        self.assertIn("32768 bytes", err["details"][0]["problem"])
        self.assertEqual([e["event_id"] for e in self.stored()], [small["event_id"]])

    def test_form_bodies_are_refused_on_the_batch_endpoint(self):
        resp = self.api.inbound(self.key, "event=a&email=a%40b.co", batch=True, content_type=FORM)
        self.assertError(resp, 415, "unsupported_media_type")

    # -- Content-Encoding

    def test_gzip_and_deflate_bodies_are_decompressed(self):
        for name, encode in (("gzip", gzip.compress), ("deflate", zlib.compress),
                             ("deflate", lambda b: zlib.compress(b)[2:-4])):  # raw deflate too
            with self.subTest(encoding=name):
                event_id = unique_id()
                data = encode(json.dumps(event(event_id=event_id, value=12.5, currency="EUR")).encode())
                resp = self.send(data, headers={"Content-Encoding": name})
                self.assertAccepted(resp)
                stored = self.stored_one(event_id)
                self.assertEqual(json.loads(stored["raw"])["event_id"], event_id)  # raw is the decoded body
        batch = gzip.compress(json.dumps({"events": [event(event_id=unique_id())]}).encode())
        resp = self.send(batch, batch=True, headers={"Content-Encoding": "gzip"})
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["accepted"], 1, resp.text)

    def test_a_small_bomb_is_413(self):
        # 2 MiB of spaces inside a string compress to a few KiB: over the limit once inflated.
        bomb = gzip.compress(b'{"event":"a","email":"a@b.co","pad":"' + b" " * (2 * 1024 * 1024) + b'"}')
        self.assertLess(len(bomb), 32 * 1024)
        err = self.assertError(self.send(bomb, headers={"Content-Encoding": "gzip"}), 413, "payload_too_large")
        self.assertIn("32768", err["message"])
        self.assertError(self.send(bomb, batch=True, headers={"Content-Encoding": "gzip"}), 413,
                         "payload_too_large")
        self.assertEqual(self.stored(), [])
        self.assertHealthy()

    def test_other_encodings_are_415(self):
        body = json.dumps(event()).encode()
        for name in ("br", "compress", "gzip, gzip", "zstd"):
            with self.subTest(encoding=name):
                self.assertError(self.send(body, headers={"Content-Encoding": name}), 415,
                                 "unsupported_media_type")
        self.assertAccepted(self.send(body, headers={"Content-Encoding": "identity"}))

    def test_corrupt_gzip_is_400(self):
        data = gzip.compress(json.dumps(event()).encode())[:-6]
        err = self.assertError(self.send(data, headers={"Content-Encoding": "gzip"}), 400, "invalid_json")
        self.assertIn("decompressed", err["message"])

    # -- form bodies that are JSON

    def test_a_form_typed_json_body_is_refused_saying_so(self):
        for body in ('{"event":"purchase","email":"a@b.co"}', '  [{"event":"x"}]'):
            with self.subTest(body=body):
                err = self.assertError(self.send(body, content_type=FORM), 415, "unsupported_media_type")
                self.assertIn("JSON", err["message"])
                self.assertIn("application/json", err["message"])
        self.assertEqual(self.stored(), [])

    # -- integers, milliseconds, phones

    def test_integer_event_id_and_external_id_are_read_as_decimal_text(self):
        number = int(time.time() * 1000) * 1000 + 7
        resp = self.send(event(event_id=number, external_id=9007199254740993))
        self.assertEqual(self.assertAccepted(resp), str(number))
        stored = self.stored_one(str(number))
        self.assertEqual(stored["external_id"], "9007199254740993")
        self.assertDuplicate(self.send(event(event_id=str(number))), str(number))
        self.assertError(self.send(event(event_id=1.5)), 400, "validation_failed", field="event_id")

    def test_unix_milliseconds_are_read_as_milliseconds(self):
        ms = int(time.time() * 1000) - 60_000
        for value in (ms, str(ms)):
            with self.subTest(value=value):
                stored = self.stored_one(self.assertAccepted(self.send(event(timestamp=value))))
                self.assertEqual(stored["timestamp"][:16],
                                 time.strftime("%Y-%m-%dT%H:%M", time.gmtime(ms / 1000)))
        self.assertError(self.send(event(timestamp=99_999_999_999)), 400, "validation_failed", field="timestamp")

    def test_phone_00_prefix_is_read_as_plus(self):
        stored = self.stored_one(self.assertAccepted(self.send(event(phone="0044 20 7946 0958"))))
        self.assertEqual(stored["phone"], "+442079460958")
        self.assertEqual(stored["phone_sha256"], sha256_hex("+442079460958"))
        self.assertError(self.send(event(phone="020 7946 0958")), 400, "validation_failed", field="phone")

    # -- messages

    def test_value_with_symbols_or_separators_says_so(self):
        for value in ("$99.99", "1,299.00"):
            with self.subTest(value=value):
                err = self.assertError(self.send(event(value=value, currency="USD")), 400, "validation_failed",
                                       field="value")
                problem = [d["problem"] for d in err["details"] if d["field"] == "value"][0]
                self.assertIn("symbols", problem)
                self.assertIn("thousands separators", problem)

    def test_domain_mismatch_names_the_prefix_and_both_domains(self):
        other, _ = self.api.new_key("command")
        err = self.assertError(self.send(event(), host=other), 403, "domain_mismatch")
        self.assertIn(self.prefix, err["message"])
        self.assertIn(self.domain, err["message"])
        self.assertIn(other, err["message"])
        self.assertNotIn(self.key, err["message"])

    def test_a_key_in_the_query_string_hears_where_keys_go(self):
        for query in (f"api_key={self.key}", f"key={forge_key()}", f"x={self.key}"):
            with self.subTest(query=query.split("=")[0]):
                resp = self.api.inbound(None, event(), path=f"{INBOUND}?{query}")
                err = self.assertError(resp, 401, "missing_api_key")
                self.assertIn("X-CC-Api-Key", err["message"])
                self.assertIn("query string", err["message"])
                self.assertNotIn(self.key, err["message"])
        plain = self.assertError(self.api.inbound(None, event()), 401, "missing_api_key")
        self.assertNotIn("query string", plain["message"])
        self.assertEqual(self.stored(), [])


class RateLimitCountsEventsTest(ServerTestCase):
    server_env = {"CC_RATE_LIMIT_COMMAND": "1:10"}
    share_server = False

    def test_a_batch_pays_for_each_event(self):
        _, created = self.api.new_key("command")
        key = created["key"]
        events = [event(event_id=unique_id()) for _ in range(10)]
        self.assertStatus(self.api.inbound(key, {"events": events}, batch=True), 200)
        # Ten events used the burst of ten: the next request waits for a token.
        resp = self.api.inbound(key, event())
        self.assertError(resp, 429, "rate_limited")
        self.assertTrue(resp.headers.get("Retry-After"))


if __name__ == "__main__":
    unittest.main()
