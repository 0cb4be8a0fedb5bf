"""Logs (SPEC §4): one JSON object per line, with request id, route, status, latency,
domain and key prefix, and for an error its code and the names of the failing fields —
never an event's values (emails, phones, amounts, ids, properties, the raw body)."""

from __future__ import annotations

import gzip
import json
import secrets
import urllib.parse
import uuid

from harness import FORM, CcTestCase, Server, poll, sha256_hex, unique_id


def strings_in(value) -> list:
    """Every string and number value in a parsed log line (not the members' names)."""
    found = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
            found.append(str(item))
    return found


def digits(n: int) -> str:
    return "".join(secrets.choice("123456789") for _ in range(n))


class EventValuesNeverLoggedTest(CcTestCase):
    """Every value sent in the run, accepted or refused, single, form or batch, is absent
    from every line the server wrote (stdout and stderr), at the most verbose level."""

    def test_no_event_value_reaches_any_log_line(self):
        server = self.start_server({"CC_LOG_LEVEL": "trace"})
        api = server.api
        domain = api.create_domain("command")
        key = api.create_key(domain)["key"]
        tag = uuid.uuid4().hex[:12]
        sent = {}  # what must never be logged -> a description for the failure message

        def remember(what, *values):
            for value in values:
                sent[value] = what

        def values(n):
            email = f"Buyer.{tag}{n}@Shop{tag}.example"
            local = "20" + digits(8)
            phone = f"+44 {local[:2]} {local[2:6]} {local[6:]}"
            e164 = "+44" + local
            value = f"{digits(5)}.{digits(4)}"
            remember(f"email {n}", email, email.lower(), sha256_hex(email.lower()))
            remember(f"phone {n}", phone, e164, sha256_hex(e164), local)
            remember(f"value {n}", value)
            ext, click = f"crm-{tag}-{n}-ext", f"gclid-{tag}-{n}"
            prop, note = f"prop-{tag}-{n}", f"unknown-field-{tag}-{n}"
            remember(f"external_id {n}", ext)
            remember(f"click_id {n}", click)
            remember(f"properties {n}", prop)
            remember(f"raw body field {n}", note)
            return {"event": "purchase", "email": email, "phone": phone, "value": value,
                    "currency": "EUR", "external_id": ext, "click_id": click,
                    "properties": {"plan": prop}, "note": note}

        # Accepted, then the same event_id again (duplicate).
        first = values(1)
        first["event_id"] = unique_id()
        self.assertStatus(api.inbound(key, first), 202)
        self.assertStatus(api.inbound(key, first), 200)
        # Form-encoded.
        form = {k: v for k, v in values(2).items() if k != "properties"}
        self.assertStatus(api.inbound_form(key, form), 202)
        # Gzip-compressed (accepted once decompression lands; any answer must not log it).
        api.inbound(key, gzip.compress(json.dumps(values(3)).encode()),
                    headers={"Content-Encoding": "gzip"})
        # A batch with one valid and one invalid element.
        bad_email = f"not-an-email-{tag}"
        remember("rejected email", bad_email)
        resp = api.inbound(key, {"events": [values(4), {**values(5), "email": bad_email}]}, batch=True)
        self.assertStatus(resp, 200)
        # Refused whole: bad fields, not JSON, a form body that is JSON.
        bad_value = f"${digits(3)}.{digits(2)}"
        remember("rejected value", bad_value)
        self.assertStatus(api.inbound(key, {**values(6), "value": bad_value}), 400)
        broken = f'{{"event":"purchase","email":"json-{tag}@x.example",'
        remember("unparsable body", f"json-{tag}@x.example")
        self.assertStatus(api.inbound(key, broken), 400)
        self.assertIn(api.inbound(key, json.dumps(values(7)), content_type=FORM).status, (400, 415))
        # Refused before the body is read: no key.
        self.assertStatus(api.inbound(None, values(8)), 401)
        # The listing shows the values back; reading them must not log them either.
        self.assertStatus(api.events(domain), 200)

        self.assertEqual(server.stop(), 0, server.log_tail())
        leaks = []
        for line in server.log_lines():
            for value, what in sent.items():
                if value in line or urllib.parse.quote(value, safe="") in line:
                    leaks.append(f"{what} ({value!r}) in: {line[:300]}")
        self.assertEqual(leaks, [], "event values in the server's log")
        # The run was logged at all (so the scan had something to look at).
        self.assertGreaterEqual(sum('"request"' in line for line in server.log_lines()), 8)


class AccessLogTest(CcTestCase):
    """The access log line of a request: found by its X-Request-Id."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = Server()
        cls.addClassCleanup(cls.server.close)
        cls.server.start()
        cls.api = cls.server.api

    def access_line(self, request_id) -> dict:
        def find():
            for line in self.server.log_lines("stdout"):
                if request_id not in line:
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict) and obj.get("request_id") == request_id and "status" in obj:
                    return obj
            return None
        return poll(find, 10, what=f"the access log line of {request_id}")

    def send(self, call):
        rid = f"acc-{uuid.uuid4().hex}"
        resp = call({"X-Request-Id": rid})
        self.assertEqual(resp.request_id, rid)
        return resp, self.access_line(rid)

    def test_accepted_event_line_has_route_status_latency_domain_and_key_prefix(self):
        domain = self.api.create_domain()
        key = self.api.create_key(domain)
        resp, line = self.send(lambda h: self.api.inbound(key["key"], {"event": "lead", "external_id": "x"}, headers=h))
        self.assertStatus(resp, 202)
        self.assertEqual(line.get("status"), 202, line)
        self.assertEqual(line.get("domain"), domain, line)
        self.assertEqual(line.get("key_prefix"), key["prefix"], line)
        self.assertIsInstance(line.get("route"), str, line)
        self.assertIsInstance(line.get("latency_ms"), (int, float), line)
        self.assertNotIn(key["key"], json.dumps(line))

    def test_validation_failure_line_has_the_code_and_every_failing_field(self):
        domain = self.api.create_domain()
        key = self.api.create_key(domain)
        body = {"event": "purchase", "email": "nope", "value": "5", "currency": "ZZZ"}
        resp, line = self.send(lambda h: self.api.inbound(key["key"], body, headers=h))
        err = self.assertError(resp, 400, "validation_failed")
        failing = sorted({d["field"] for d in err["details"]})
        self.assertIn("email", failing)
        self.assertIn("currency", failing)
        words = strings_in(line)
        self.assertIn("validation_failed", words, line)
        for field in failing:
            self.assertIn(field, words, f"failing field {field} not in {line}")
        self.assertEqual(line.get("domain"), domain, line)
        self.assertEqual(line.get("key_prefix"), key["prefix"], line)
        self.assertNotIn("nope", words, "a failing value was logged")
        self.assertNotIn("ZZZ", words, "a failing value was logged")

    def test_auth_failure_line_has_the_code(self):
        domain = self.api.create_domain()
        key = self.api.create_key(domain)
        self.assertStatus(self.api.revoke(key["id"]), 200)
        resp, line = self.send(lambda h: self.api.inbound(key["key"], {"event": "lead", "external_id": "x"}, headers=h))
        self.assertError(resp, 401, "revoked_api_key")
        self.assertIn("revoked_api_key", strings_in(line), line)
        self.assertEqual(line.get("status"), 401, line)
        self.assertNotIn(key["key"], json.dumps(line))

    def test_admin_validation_failure_line_has_the_code_and_field(self):
        resp, line = self.send(lambda h: self.api.post("/admin/keys", {"domain": self.api.create_domain(), "name": "  "},
                                                       headers=h))
        self.assertError(resp, 400, "validation_failed", field="name")
        words = strings_in(line)
        self.assertIn("validation_failed", words, line)
        self.assertIn("name", words, line)
