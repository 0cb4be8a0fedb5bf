"""Inbound endpoint: content types, JSON-level errors and every event field rule, each
with accepted and rejected cases at the boundaries, and what gets stored."""

import json
import time
import unittest
from datetime import timedelta

from harness import (EVENT_FIELDS, ServerTestCase, detail_fields, parse_time,
                     rfc3339, sha256_hex, utcnow)

DROP = object()  # marks a field to leave out


def event(**fields):
    """A valid event with `fields` changed (DROP removes one)."""
    body = {"event": "purchase", "email": "buyer@example.com"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not DROP}


class EventTestCase(ServerTestCase):
    """Each test gets its own domain and key, so stored events are the test's own."""

    def setUp(self):
        self.domain, created = self.api.new_key("command")
        self.key = created["key"]
        self.key_id = created["id"]
        self.key_name = created["name"]

    def send(self, body, **kw):
        return self.api.inbound(self.key, body, **kw)

    def accept(self, body, **kw) -> str:
        return self.assertAccepted(self.send(body, **kw))

    def reject(self, body, field, **kw):
        return self.assertError(self.send(body, **kw), 400, "validation_failed", field=field)

    def stored(self, event_id) -> dict:
        """The stored event with that id (exactly one)."""
        found = [e for e in self.api.all_events(self.domain) if e["event_id"] == event_id]
        self.assertEqual(len(found), 1, f"event {event_id} stored {len(found)} times")
        self.assertEventObject(found[0])
        return found[0]

    def store(self, body, **kw) -> dict:
        return self.stored(self.accept(body, **kw))

    def assertBadRequest(self, resp, codes=("invalid_json", "validation_failed")):
        """400 with one of `codes` where the contract leaves the exact code open."""
        self.assertStatus(resp, 400)
        code = (resp.json or {}).get("error", {}).get("code")
        self.assertIn(code, codes, resp.text)
        return self.assertError(resp, 400, code)

    def assertNothingStored(self):
        self.assertEqual(self.api.all_events(self.domain), [])


class ContentTypeTest(EventTestCase):

    def test_json_is_accepted(self):
        self.accept(event(), content_type="application/json")

    def test_charset_parameter_is_accepted(self):
        for ctype in ("application/json; charset=utf-8", "application/json;charset=UTF-8"):
            with self.subTest(ctype=ctype):
                self.accept(event(), content_type=ctype)

    def test_other_types_are_415(self):
        for ctype in ("text/plain", "application/xml", "multipart/form-data; boundary=x",
                      "application/jsonp", None):
            with self.subTest(ctype=ctype):
                resp = self.send(json.dumps(event()), content_type=ctype)
                self.assertError(resp, 415, "unsupported_media_type")
        self.assertNothingStored()

    def test_form_urlencoded_single_event_is_accepted(self):
        resp = self.api.inbound_form(self.key, {"event": "purchase", "email": " Buyer@Example.com ",
                                                "value": "99.99", "currency": "usd",
                                                "event_id": "zap-1"})
        self.assertEqual(self.assertAccepted(resp), "zap-1")
        stored = self.stored("zap-1")
        self.assertEqual(stored["value_decimal"], "99.99")
        self.assertEqual(stored["value"], 99.99)
        self.assertEqual(stored["currency"], "USD")
        self.assertEqual(stored["email"], "buyer@example.com")

    def test_form_with_charset_is_accepted(self):
        resp = self.api.inbound(self.key, "event=lead&click_id=abc",
                                content_type="application/x-www-form-urlencoded; charset=utf-8")
        self.assertAccepted(resp)

    def test_form_empty_fields_count_as_absent(self):
        resp = self.api.inbound_form(
            self.key, "event=lead&email=&phone=&external_id=&click_id=gclid-1&value=&currency=&timestamp=")
        event_id = self.assertAccepted(resp)
        stored = self.stored(event_id)
        self.assertIsNone(stored["email"])
        self.assertIsNone(stored["value"])
        self.assertEqual(stored["click_id"], "gclid-1")

    def test_form_fields_are_validated(self):
        resp = self.api.inbound_form(self.key, {"event": "lead"})
        self.assertError(resp, 400, "validation_failed", field="identifier")
        resp = self.api.inbound_form(self.key, {"event": "lead", "email": "x", "value": "abc",
                                                "currency": "USD"})
        err = self.assertError(resp, 400, "validation_failed")
        self.assertTrue({"email", "value"} <= set(detail_fields(err)), err)

    def test_form_on_the_batch_endpoint_is_415(self):
        resp = self.api.inbound_form(self.key, {"event": "lead", "click_id": "x"}, batch=True)
        self.assertError(resp, 415, "unsupported_media_type")


class JsonErrorTest(EventTestCase):

    def test_malformed_json_is_invalid_json(self):
        for body in ('{"event": "purchase", ', "{", "", "{'event': 'x'}", '{"event": "x"} trailing'):
            with self.subTest(body=body):
                self.assertError(self.send(body), 400, "invalid_json")

    def test_invalid_utf8_is_rejected(self):
        body = b'{"event": "purchase", "email": "buyer@example.com", "external_id": "\xff\xfe"}'
        self.assertBadRequest(self.send(body))
        self.assertNothingStored()

    def test_deeply_nested_json_is_rejected_not_crashing(self):
        for body in ("[" * 10000, "[" * 10000 + "]" * 10000,
                     '{"event":"x","email":"a@b.co","properties":' + '{"a":' * 5000 + "1" + "}" * 5001):
            with self.subTest(size=len(body)):
                self.assertBadRequest(self.send(body))
        self.assertHealthy()

    def test_body_that_is_not_an_object_is_rejected(self):
        for body in ("[]", '"purchase"', "42", "null", "true"):
            with self.subTest(body=body):
                self.assertBadRequest(self.send(body))

    def test_body_of_exactly_32_kib_is_accepted(self):
        base = json.dumps(event(padding=""))
        body = json.dumps(event(padding="p" * (32 * 1024 - len(base))))
        self.assertEqual(len(body), 32 * 1024)
        self.accept(body)

    def test_body_of_32_kib_plus_one_is_413(self):
        base = json.dumps(event(padding=""))
        body = json.dumps(event(padding="p" * (32 * 1024 + 1 - len(base))))
        self.assertError(self.send(body), 413, "payload_too_large")


class ResponseAndStorageShapeTest(EventTestCase):

    def test_accepted_response_shape(self):
        resp = self.send(event())
        self.assertStatus(resp, 202)
        self.assertEqual(set(resp.json), {"status", "event_id"})
        self.assertEqual(resp.json["status"], "accepted")
        self.assertTrue(resp.json["event_id"])
        self.assertTrue(resp.request_id)

    def test_stored_event_has_every_field(self):
        body = json.dumps(event(event_id="shape-1", external_id="crm-1", click_id="gclid-9",
                                phone="+1 555 123 4567", value=10, currency="EUR",
                                properties={"plan": "pro", "seats": 3}))
        stored = self.store(body)
        self.assertEqual(set(stored), EVENT_FIELDS)
        self.assertEqual(stored["event"], "purchase")
        self.assertEqual(stored["domain"], self.domain)
        self.assertEqual(stored["key_id"], self.key_id)
        self.assertEqual(stored["key_name"], self.key_name)
        self.assertEqual(stored["external_id"], "crm-1")
        self.assertEqual(stored["click_id"], "gclid-9")
        self.assertEqual(stored["currency"], "EUR")
        self.assertEqual(stored["value"], 10)
        self.assertEqual(stored["value_decimal"], "10")
        self.assertEqual(stored["properties"], {"plan": "pro", "seats": 3})
        self.assertEqual(stored["raw"], body)
        self.assertRecent(stored["received_at"])

    def test_absent_fields_are_null(self):
        stored = self.store({"event": "lead", "click_id": "only-click"})
        for field in ("email", "email_sha256", "phone", "phone_sha256", "external_id", "value",
                      "value_decimal", "currency", "properties"):
            self.assertIsNone(stored[field], field)

    def test_unknown_fields_are_kept_in_raw(self):
        body = '{"event":"purchase","email":"a@b.co","crm_stage":"won","nested":{"x":[1,2]}}'
        stored = self.store(body)
        self.assertEqual(stored["raw"], body)
        self.assertEqual(json.loads(stored["raw"])["crm_stage"], "won")


class EventNameTest(EventTestCase):

    def test_valid_names_are_accepted(self):
        for name in ("purchase", "lead", "order.completed:v2 - x_y", "a", "e" * 64):
            with self.subTest(name=name):
                self.assertEqual(self.store(event(event=name))["event"], name)

    def test_name_is_trimmed(self):
        self.assertEqual(self.store(event(event="  lead \t"))["event"], "lead")
        self.assertEqual(self.store(event(event="  " + "e" * 64 + "  "))["event"], "e" * 64)

    def test_invalid_names_are_rejected(self):
        for name in (DROP, "", "   ", "e" * 65, "purchase!", "buy/now", "émoji", "a\nb", 123, None,
                     ["lead"]):
            with self.subTest(name=name):
                self.reject(event(event=name), "event")
        self.assertNothingStored()


class IdentifierTest(EventTestCase):

    def test_one_identifier_is_required(self):
        self.reject({"event": "lead"}, "identifier")
        self.reject({"event": "lead", "email": "", "phone": "  ", "external_id": "",
                     "click_id": ""}, "identifier")
        self.assertNothingStored()

    def test_any_single_identifier_is_enough(self):
        for field, value in (("email", "a@b.co"), ("phone", "+4915112345678"),
                             ("external_id", "crm-7"), ("click_id", "fbclid.123")):
            with self.subTest(field=field):
                self.accept({"event": "lead", field: value})

    def test_every_problem_is_listed(self):
        resp = self.send({"event": "", "email": "nope", "value": 5, "currency": "XYZ"})
        err = self.assertError(resp, 400, "validation_failed")
        self.assertTrue({"event", "email", "currency"} <= set(detail_fields(err)), err)


class EmailTest(EventTestCase):

    def test_email_is_trimmed_lower_cased_and_hashed(self):
        stored = self.store(event(email="  Alice.Smith@Example.COM "))
        self.assertEqual(stored["email"], "alice.smith@example.com")
        self.assertEqual(stored["email_sha256"], sha256_hex("alice.smith@example.com"))

    def test_email_length_boundary(self):
        def address(first_label):
            return "l" * 64 + "@" + "d" * first_label + "." + "e" * 60 + "." + "f" * 63 + ".com"

        longest = address(60)
        self.assertEqual(len(longest), 254)
        self.assertEqual(self.store(event(email=longest))["email"], longest)
        too_long = address(61)
        self.assertEqual(len(too_long), 255)
        self.reject(event(email=too_long), "email")

    def test_invalid_emails_are_rejected(self):
        for email in ("no-at-sign.example.com", "a@@b.com", "a@b@c.com", "@example.com",
                      "user@localhost", "user@", 42, ["a@b.co"]):
            with self.subTest(email=email):
                self.reject(event(email=email), "email")
        self.assertNothingStored()

    def test_hashed_email_is_stored_as_the_hash_only(self):
        digest = sha256_hex("someone@example.com")
        stored = self.store(event(email=digest))
        self.assertIsNone(stored["email"])
        self.assertEqual(stored["email_sha256"], digest)

    def test_upper_case_hashed_email_is_not_hashed_twice(self):
        digest = sha256_hex("someone@example.com")
        stored = self.store(event(email=digest.upper()))
        self.assertIsNone(stored["email"])
        self.assertEqual(stored["email_sha256"], digest)


class PhoneTest(EventTestCase):

    def test_phone_is_normalized_to_e164_and_hashed(self):
        cases = {"+1 (555) 123-4567": "+15551234567", "44.20.7946.0958": "+442079460958",
                 "49-151-1234 5678": "+4915112345678", "+33 1 23 45 67 89": "+33123456789"}
        for raw, e164 in cases.items():
            with self.subTest(raw=raw):
                stored = self.store(event(email=DROP, phone=raw))
                self.assertEqual(stored["phone"], e164)
                self.assertEqual(stored["phone_sha256"], sha256_hex(e164))

    def test_digit_count_boundaries(self):
        for digits in ("1234567", "123456789012345", "+1234567", "+123456789012345"):
            with self.subTest(digits=digits):
                stored = self.store(event(phone=digits))
                self.assertEqual(stored["phone"], "+" + digits.lstrip("+"))
        for digits in ("123456", "+123456", "1234567890123456", "+1234567890123456"):
            with self.subTest(digits=digits):
                self.reject(event(phone=digits), "phone")

    def test_invalid_phones_are_rejected(self):
        for phone in ("555-CALL-NOW", "++15551234567", "1+5551234567", "phone", "((("):
            with self.subTest(phone=phone):
                self.reject(event(phone=phone), "phone")
        self.assertNothingStored()

    def test_hashed_phone_is_stored_as_the_hash_only(self):
        digest = sha256_hex("+15551234567")
        stored = self.store(event(email=DROP, phone=digest))
        self.assertIsNone(stored["phone"])
        self.assertEqual(stored["phone_sha256"], digest)


class IdLengthTest(EventTestCase):

    def test_external_id_up_to_256(self):
        self.assertEqual(self.store(event(external_id="x" * 256))["external_id"], "x" * 256)
        self.reject(event(external_id="x" * 257), "external_id")

    def test_click_id_up_to_512(self):
        self.assertEqual(self.store(event(click_id="c" * 512))["click_id"], "c" * 512)
        self.reject(event(click_id="c" * 513), "click_id")

    def test_event_id_up_to_128(self):
        event_id = "i" * 128
        self.assertEqual(self.accept(event(event_id=event_id)), event_id)
        self.reject(event(event_id="i" * 129), "event_id")

    def test_blank_event_id_means_one_is_assigned(self):
        for blank in ("", "   "):
            with self.subTest(blank=repr(blank)):
                event_id = self.accept(event(event_id=blank))
                self.assertTrue(event_id.strip())
                self.assertEqual(self.stored(event_id)["event_id"], event_id)

    def test_assigned_event_ids_are_unique(self):
        ids = {self.accept(event()) for _ in range(5)}
        self.assertEqual(len(ids), 5)

    def test_assigned_event_ids_follow_arrival_order(self):
        # Time-ordered ids append to the (domain, event_id) index instead of landing on
        # random pages of it (docs/PERFORMANCE.md): later events sort after earlier ones.
        ids = []
        for _ in range(4):
            ids.append(self.accept(event()))
            time.sleep(0.003)
        for event_id in ids:
            self.assertRegex(event_id, r"^evt_[0-9A-Za-z]{24}$")
        self.assertEqual(ids, sorted(ids))


class ValueTest(EventTestCase):

    def test_value_is_stored_exactly(self):
        cases = {"12345678901234567.25": "12345678901234567.25", "0.1": "0.1", "0": "0",
                 "99.99": "99.99", "1000000": "1000000"}
        for text, decimal in cases.items():
            with self.subTest(value=text):
                body = '{"event":"purchase","email":"a@b.co","value":%s,"currency":"USD"}' % text
                stored = self.store(body)
                self.assertEqual(stored["value_decimal"], decimal)
                self.assertEqual(stored["value"], float(decimal))

    def test_numeric_string_value_is_read_as_a_number(self):
        stored = self.store(event(value="99.99", currency="USD"))
        self.assertEqual(stored["value_decimal"], "99.99")
        self.assertEqual(stored["value"], 99.99)

    def test_negative_or_non_numeric_values_are_rejected(self):
        for value in (-0.01, -1, "-5", "abc", "12,50", "NaN", "Infinity", True, [1], {"v": 1}):
            with self.subTest(value=value):
                self.reject(event(value=value, currency="USD"), "value")
        self.assertNothingStored()

    def test_currency_is_required_with_a_value(self):
        self.reject(event(value=10), "currency")
        self.reject(event(value="10", currency=""), "currency")

    def test_blank_value_counts_as_absent(self):
        stored = self.store(event(value="", currency=""))
        self.assertIsNone(stored["value"])
        self.assertIsNone(stored["value_decimal"])


class CurrencyTest(EventTestCase):

    def test_known_codes_are_stored_upper_case(self):
        for code, stored_code in (("USD", "USD"), ("eur", "EUR"), ("Jpy", "JPY")):
            with self.subTest(code=code):
                self.assertEqual(self.store(event(value=1, currency=code))["currency"], stored_code)

    def test_unknown_codes_are_rejected(self):
        for code in ("XYZ", "US", "USDD", "123", "dollars", 840):
            with self.subTest(code=code):
                self.reject(event(value=1, currency=code), "currency")
        self.assertNothingStored()


class TimestampTest(EventTestCase):

    def test_rfc3339_timestamp_is_stored_in_utc(self):
        moment = (utcnow() - timedelta(days=1)).replace(microsecond=123000)
        stored = self.store(event(timestamp=rfc3339(moment)))
        self.assertEqual(stored["timestamp"], rfc3339(moment))

    def test_rfc3339_with_offset_is_converted(self):
        moment = (utcnow() - timedelta(hours=5)).replace(microsecond=0)
        with_offset = (moment + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"
        self.assertEqual(self.store(event(timestamp=with_offset))["timestamp"], rfc3339(moment))

    def test_unix_seconds_are_accepted(self):
        seconds = int(time.time()) - 3600
        stored = self.store(event(timestamp=seconds))
        self.assertEqual(parse_time(stored["timestamp"]).timestamp(), seconds)

    def test_default_is_the_time_of_receipt(self):
        stored = self.store(event())
        gap = (parse_time(stored["received_at"]) - parse_time(stored["timestamp"])).total_seconds()
        self.assertLess(abs(gap), 2)
        self.assertRecent(stored["timestamp"], 60)

    def test_window_boundaries(self):
        now = utcnow()
        for accepted in (now - timedelta(days=89), now + timedelta(minutes=9)):
            with self.subTest(accepted=accepted):
                self.accept(event(timestamp=rfc3339(accepted)))
        for rejected in (now - timedelta(days=91), now + timedelta(minutes=11)):
            with self.subTest(rejected=rejected):
                self.reject(event(timestamp=rfc3339(rejected)), "timestamp")
        self.reject(event(timestamp=int(time.time()) - 91 * 86400), "timestamp")
        self.reject(event(timestamp=int(time.time()) + 11 * 60), "timestamp")

    def test_unparseable_timestamps_are_rejected(self):
        for value in ("yesterday", "2026-13-40T00:00:00Z", "2026-01-01 00:00", -1, True, {"t": 1}):
            with self.subTest(value=value):
                self.reject(event(timestamp=value), "timestamp")


class PropertiesTest(EventTestCase):

    def test_object_is_stored(self):
        props = {"plan": "pro", "items": [1, 2, 3], "nested": {"ok": True}, "pad": "p" * 7000}
        self.assertEqual(self.store(event(properties=props))["properties"], props)

    def test_over_8_kib_is_rejected(self):
        self.reject(event(properties={"pad": "p" * 9000}), "properties")

    def test_non_objects_are_rejected(self):
        for value in ([1, 2], "text", 5, True):
            with self.subTest(value=value):
                self.reject(event(properties=value), "properties")


if __name__ == "__main__":
    unittest.main()
