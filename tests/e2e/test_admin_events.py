"""Admin API: GET /admin/events (filters, cursor, exact values, the key that sent each
event, kept after the key is deleted), GET /admin/events/{event_id}, and the rule that
every admin query parameter is checked like a body field, with domain names lower-cased."""

import json
import time
import unittest
import urllib.parse
from datetime import timedelta
from decimal import Decimal

from harness import (ServerTestCase, detail_fields, parse_time, quote, rfc3339, unique_domain,
                     unique_id, utcnow)


def query(path, **params):
    return path + "?" + urllib.parse.urlencode(params)


class EventListingTest(ServerTestCase):

    def setUp(self):
        self.domain = self.api.create_domain("signal")
        self.a = self.api.create_key(self.domain, "Zapier")
        self.b = self.api.create_key(self.domain, "HubSpot")

    def send(self, key, name="purchase", event_id=None, **fields):
        event_id = event_id or unique_id()
        body = {"event": name, "event_id": event_id, "click_id": "gclid-1", **fields}
        resp = self.api.inbound(key["key"], body)
        self.assertStatus(resp, 202, resp.text)
        return event_id

    def listing(self, **params):
        resp = self.api.get(query("/admin/events", domain=self.domain, **params))
        self.assertStatus(resp, 200, resp.text)
        for event in resp.json["events"]:
            self.assertEventObject(event)
        return resp

    def ids(self, **params):
        return [e["event_id"] for e in self.listing(**params).json["events"]]

    def test_each_event_names_its_key_by_id_name_and_prefix(self):
        event_id = self.send(self.a)
        (event,) = self.listing().json["events"]
        self.assertEqual(event["event_id"], event_id)
        self.assertEqual((event["key_id"], event["key_name"], event["key_prefix"]),
                         (self.a["id"], "Zapier", self.a["prefix"]))

    def test_the_key_stays_named_after_it_is_deleted(self):
        self.send(self.a)
        self.assertStatus(self.api.delete_key(self.a["id"]), 204)
        (event,) = self.listing().json["events"]
        self.assertEqual((event["key_id"], event["key_name"], event["key_prefix"]),
                         (self.a["id"], "Zapier", self.a["prefix"]))

    def test_value_is_listed_as_the_exact_decimal_sent(self):
        body = ('{"event":"purchase","click_id":"gclid-1","value":9007199254740.993,"currency":"usd",'
                '"event_id":"exact-1"}')
        self.assertStatus(self.api.inbound(self.a["key"], body), 202)
        resp = self.listing()
        self.assertIn('"value":9007199254740.993', resp.text)
        event = json.loads(resp.body, parse_float=Decimal)["events"][0]
        self.assertEqual(event["value"], Decimal("9007199254740.993"))
        one = self.api.get(f"/admin/events/exact-1?domain={self.domain}")
        self.assertEqual(json.loads(one.body, parse_float=Decimal)["value"], Decimal("9007199254740.993"))

    def test_value_sent_as_a_string_is_listed_as_a_number(self):
        self.send(self.a, value="99.99", currency="EUR")
        resp = self.listing()
        self.assertIn('"value":99.99', resp.text)
        self.assertEqual(resp.json["events"][0]["currency"], "EUR")

    def test_filters(self):
        e1 = self.send(self.a, "purchase")
        e2 = self.send(self.b, "lead")
        e3 = self.send(self.a, "purchase")
        self.assertEqual(self.ids(), [e3, e2, e1])
        self.assertEqual(self.ids(key_id=self.a["id"]), [e3, e1])
        self.assertEqual(self.ids(key_id=self.b["id"]), [e2])
        self.assertEqual(self.ids(event="lead"), [e2])
        self.assertEqual(self.ids(event="purchase", key_id=self.a["id"]), [e3, e1])
        self.assertEqual(self.ids(event_id=e1), [e1])
        self.assertEqual(self.ids(event_id="no-such-event"), [])

    def test_since_and_until_bound_the_time_received(self):
        first = self.send(self.a)
        listed = self.listing().json["events"][0]
        received = parse_time(listed["received_at"])
        time.sleep(0.05)
        second = self.send(self.a)
        later = parse_time(self.listing().json["events"][0]["received_at"])
        self.assertGreater(later, received)
        self.assertEqual(self.ids(since=rfc3339(later)), [second])
        self.assertEqual(self.ids(until=rfc3339(later)), [first])
        self.assertEqual(self.ids(since=rfc3339(received), until=rfc3339(later + timedelta(milliseconds=1))),
                         [second, first])
        self.assertEqual(self.ids(since=rfc3339(utcnow() + timedelta(hours=1))), [])

    def test_filters_and_the_cursor_page_together(self):
        mine = [self.send(self.a) for _ in range(3)]
        self.send(self.b)
        seen, cursor = [], None
        for _ in range(5):
            params = {"key_id": self.a["id"], "limit": 2}
            if cursor:
                params["before"] = cursor
            resp = self.listing(**params)
            seen += [e["event_id"] for e in resp.json["events"]]
            cursor = resp.json["next"]
            if not cursor:
                break
        self.assertEqual(seen, list(reversed(mine)))

    def test_domain_is_lower_cased(self):
        event_id = self.send(self.a)
        resp = self.api.get(query("/admin/events", domain=self.domain.upper()))
        self.assertStatus(resp, 200)
        self.assertEqual([e["event_id"] for e in resp.json["events"]], [event_id])
        one = self.api.get(f"/admin/events/{quote(event_id)}?domain={self.domain.upper()}")
        self.assertStatus(one, 200)

    def test_one_event_by_its_id(self):
        event_id = self.send(self.a, "lead")
        resp = self.api.get(f"/admin/events/{quote(event_id)}?domain={self.domain}")
        self.assertStatus(resp, 200)
        self.assertEventObject(resp.json)
        self.assertEqual((resp.json["event_id"], resp.json["event"], resp.json["key_prefix"]),
                         (event_id, "lead", self.a["prefix"]))

    def test_one_event_errors(self):
        event_id = self.send(self.a)
        self.assertError(self.api.get(f"/admin/events/nope?domain={self.domain}"), 404, "event_not_found")
        other = self.api.create_domain("signal")
        self.assertError(self.api.get(f"/admin/events/{quote(event_id)}?domain={other}"), 404, "event_not_found")
        self.assertError(self.api.get(f"/admin/events/{quote(event_id)}?domain={unique_domain()}"), 404,
                         "domain_not_found")
        self.assertError(self.api.get(f"/admin/events/{quote(event_id)}"), 400, "validation_failed", field="domain")
        self.assertError(self.api.get(f"/admin/events/{quote(event_id)}?domain={self.domain}&limit=1"), 400,
                         "validation_failed", field="limit")

    def test_unknown_domain_is_404_and_a_missing_one_400(self):
        self.assertError(self.api.get(query("/admin/events", domain=unique_domain())), 404, "domain_not_found")
        self.assertError(self.api.get("/admin/events"), 400, "validation_failed", field="domain")
        self.assertError(self.api.get(query("/admin/events", domain="not a domain")), 400, "validation_failed",
                         field="domain")

    def test_bad_parameters_are_refused_by_name(self):
        cases = [
            ({"key_id": ""}, "key_id"),
            ({"key_id": "cc_notanid"}, "key_id"),
            ({"event": ""}, "event"),
            ({"event": "x" * 65}, "event"),
            ({"event": "bad/name"}, "event"),
            ({"event_id": ""}, "event_id"),
            ({"event_id": "x" * 129}, "event_id"),
            ({"since": "yesterday"}, "since"),
            ({"until": "1700000000"}, "until"),
            ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
            ({"limit": "0"}, "limit"),
            ({"limit": "501"}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"before": "abc"}, "before"),
            ({"before": ""}, "before"),
            ({"keyid": self.a["id"]}, "keyid"),
            ({"domian": "x"}, "domian"),
        ]
        for params, field in cases:
            with self.subTest(params=params):
                resp = self.api.get(query("/admin/events", domain=self.domain, **params))
                self.assertError(resp, 400, "validation_failed", field=field)

    def test_a_repeated_parameter_is_refused(self):
        resp = self.api.get(f"/admin/events?domain={self.domain}&limit=1&limit=2")
        self.assertError(resp, 400, "validation_failed", field="limit")


class QueryParameterTest(ServerTestCase):
    """Every admin route checks its query string; none ignores what it was sent."""

    def setUp(self):
        self.domain = self.api.create_domain("signal")
        self.key = self.api.create_key(self.domain, "q")

    def test_unknown_parameters_are_refused_on_every_route(self):
        d, k = quote(self.domain), quote(self.key["id"])
        calls = [
            ("GET", "/admin/domains", None),
            ("GET", f"/admin/domains/{d}", None),
            ("PUT", f"/admin/domains/{d}", {"plan": "signal"}),
            ("DELETE", f"/admin/domains/{d}", None),
            ("POST", "/admin/keys", {"domain": self.domain, "name": "x"}),
            ("GET", f"/admin/keys?domain={d}", None),
            ("GET", f"/admin/keys/{k}", None),
            ("PATCH", f"/admin/keys/{k}", {"name": "y"}),
            ("POST", f"/admin/keys/{k}/revoke", None),
            ("POST", f"/admin/keys/{k}/restore", None),
            ("POST", f"/admin/keys/{k}/roll", None),
            ("DELETE", f"/admin/keys/{k}", None),
            ("GET", f"/admin/events?domain={d}", None),
            ("GET", f"/admin/audit?domain={d}", None),
        ]
        for method, path, body in calls:
            with self.subTest(method=method, path=path):
                sep = "&" if "?" in path else "?"
                resp = self.api.request(method, path + sep + "colour=blue", body)
                self.assertError(resp, 400, "validation_failed", field="colour")
        # Nothing was changed by the refused calls.
        self.assertEqual(self.api.key(self.key["id"])["status"], "active")
        self.assertEqual(len(self.api.list_keys(self.domain).json["keys"]), 1)

    def test_keys_listing_lower_cases_and_checks_the_domain(self):
        resp = self.api.list_keys(self.domain.upper())
        self.assertStatus(resp, 200)
        self.assertEqual([k["id"] for k in resp.json["keys"]], [self.key["id"]])
        self.assertError(self.api.get("/admin/keys?domain=not_a_domain!"), 400, "validation_failed", field="domain")

    def test_audit_checks_its_parameters_and_lower_cases_the_domain(self):
        resp = self.api.get(query("/admin/audit", domain=self.domain.upper()))
        self.assertStatus(resp, 200)
        self.assertIn("key.created", [e["action"] for e in resp.json["entries"]])
        for params, field in (({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"), ({"before": "-1"}, "before"),
                              ({"domain": "bad domain"}, "domain"), ({"action": "key.created"}, "action")):
            with self.subTest(params=params):
                self.assertError(self.api.get(query("/admin/audit", **params)), 400, "validation_failed", field=field)

    def test_body_domains_are_lower_cased(self):
        resp = self.api.post_key(self.domain.upper(), "upper")
        self.assertStatus(resp, 201)
        self.assertEqual(resp.json["domain"], self.domain)


if __name__ == "__main__":
    unittest.main()
