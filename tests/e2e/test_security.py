"""Security sweep: secrets never leak (logs, metrics, error bodies), the admin API cannot
be reached around its token (preflights, near-miss tokens, query strings, method
overrides), SQL-looking input is stored verbatim and harms nothing, and an API key in a
URL is never accepted.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import unittest
import urllib.parse
import uuid

from harness import (BATCH, INBOUND, CcTestCase, RawConnection, ServerTestCase, build_request,
                     forge_key, poll, quote, sha256_hex)

DASHBOARD = "https://dashboard.cleanclicks.example"

SQL_INJECTIONS = [
    "'); DROP TABLE events; --",
    '" OR 1=1 --',
    "' OR '1'='1",
    "1; DELETE FROM api_keys WHERE 1=1; --",
    "Robert'); DROP TABLE domains;--",
    "x' UNION SELECT key_hash FROM api_keys --",
    "\\'; SELECT sqlite_version(); --",
    "%27%3B DROP TABLE audit_log; --",
]


def report(text: str):
    print(f"[security] {text}", file=sys.stderr, flush=True)


def purchase(**fields):
    body = {"event": "purchase", "email": "buyer@example.com"}
    body.update(fields)
    return body


class SecretsDoNotLeakTest(CcTestCase):
    """A whole scenario on a private server: every log line, every /metrics sample and every
    error body is searched for every secret the scenario handled."""

    def test_no_key_or_admin_token_in_logs_metrics_or_errors(self):
        server = self.start_server({"CC_CORS_ORIGINS": DASHBOARD, "CC_LOG_LEVEL": "debug"})
        api = server.api
        token = server.admin_token
        responses = []

        def keep(resp):
            responses.append(resp)
            return resp

        domain = api.create_domain("signal")
        first = api.create_key(domain, "Zapier Integration")
        second = api.create_key(domain, "Backend")
        keys = [first["key"], second["key"]]
        for i in range(3):
            self.assertAccepted(keep(api.inbound(first["key"], purchase(event_id=f"sec-{i}"))))
        keep(api.inbound(first["key"], {"events": [purchase(), purchase(email="bad")]}, batch=True))
        keep(api.inbound_form(second["key"], {"event": "lead", "email": "form@example.com"}))
        # Revoke, then use the revoked key: the message names the prefix, never the key.
        keep(api.revoke(second["id"]))
        revoked = keep(api.inbound(second["key"], purchase()))
        self.assertError(revoked, 401, "revoked_api_key")
        self.assertIn(second["prefix"], revoked.json["error"]["message"])
        keep(api.restore(second["id"]))
        # Roll: a new key; the old one expires at once.
        rolled = keep(api.roll(first["id"], {"grace_seconds": 0}))
        self.assertStatus(rolled, 201)
        keys.append(rolled.json["key"])
        expired = keep(api.inbound(first["key"], purchase()))
        self.assertError(expired, 401, "expired_api_key")
        self.assertAccepted(keep(api.inbound(rolled.json["key"], purchase())))
        keep(api.rename(second["id"], "Renamed"))
        keep(api.list_keys(domain))
        keep(api.get_key(second["id"]))
        keep(api.events(domain))
        keep(api.audit(domain))
        keep(api.get("/admin/domains"))
        # Errors with bad keys and tokens, including secrets in the wrong places.
        forged = forge_key()
        bad_checksum = first["key"][:-1] + ("A" if first["key"][-1] != "A" else "B")
        for bad in (forged, bad_checksum, first["key"] + "x", token, "cc_" + "0" * 38):
            keep(api.inbound(bad, purchase()))
        keep(api.inbound(None, purchase(), headers={"Authorization": f"Bearer {keys[1]}"}))
        keep(api.inbound(None, purchase(), path=f"{INBOUND}?api_key={keys[1]}"))
        keep(api.get("/admin/domains", token=keys[1]))
        keep(api.get("/admin/domains", token=token[:-1] + ("x" if token[-1] != "x" else "y")))
        keep(api.get(f"/admin/domains?token={token}", token=None))
        keep(api.get(f"/admin/keys/{quote(keys[1])}"))  # a key where an id belongs
        keep(api.post("/admin/keys", {"domain": domain, "name": keys[1], "key": keys[1]}))
        keep(api.inbound(keys[1], "{not json " + keys[1]))
        keep(api.inbound(keys[1], purchase(event="bad!" + keys[1])))
        keep(api.request("OPTIONS", f"/admin/keys/{second['id']}", token=None,
                         headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "DELETE"}))
        api.delete_key(second["id"])
        keep(api.inbound(second["key"], purchase()))  # deleted: invalid, and still not echoed

        # Make sure the log has caught up with everything above.
        marker = f"security-sweep-{uuid.uuid4().hex}"
        api.get("/healthz", token=None, headers={"X-Request-Id": marker})
        poll(lambda: marker in server.log_text(), 10, what="the access log to catch up")
        metrics = api.get("/metrics", token=None).text

        secrets = {"admin token": token}
        for i, key in enumerate(keys + [forged, bad_checksum]):
            secrets[f"key {i}"] = key
            secrets[f"key {i} sha256"] = sha256_hex(key)
        # The random part alone is as good as the key (the checksum is public).
        for i, key in enumerate(keys):
            secrets[f"key {i} random part"] = key[3:35]
        log_lines = server.log_lines()
        errors = [r for r in responses if r.status >= 400]
        error_texts = [r.text + "\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items()) for r in errors]
        leaks = []
        for name, secret in secrets.items():
            for line in log_lines:
                if secret in line:
                    leaks.append(f"{name} in log line: {line[:300]}")
            if secret in metrics:
                leaks.append(f"{name} in /metrics")
            for text in error_texts:
                if secret in text:
                    leaks.append(f"{name} in an error response: {text[:300]}")
        # Key objects after creation never carry the key again.
        listing = api.list_keys(domain).text + api.get_key(rolled.json["id"]).text + api.audit(domain).text
        for key in keys:
            if key in listing:
                leaks.append("a full key in a listing, a key object or the audit log")
        report(f"secret sweep: {len(log_lines)} log lines, {len(metrics)} bytes of metrics, "
               f"{len(errors)} error responses searched for {len(secrets)} secrets: {len(leaks)} leaks")
        self.assertEqual(leaks[:10], [], f"{len(leaks)} leaks")


class AdminFrontDoorTest(ServerTestCase):
    """Ways around the admin token that must all fail, and leave everything unchanged."""

    server_env = {"CC_CORS_ORIGINS": DASHBOARD}

    def setUp(self):
        self.domain = self.api.create_domain("clarity")
        self.key = self.api.create_key(self.domain, "victim")

    def assertUntouched(self):
        key = self.api.key(self.key["id"])  # still there: 200
        self.assertEqual((key["name"], key["status"]), ("victim", "active"))
        self.assertEqual(self.api.get_domain(self.domain).json["plan"], "clarity")
        self.assertAccepted(self.api.inbound(self.key["key"], purchase()))

    def test_preflight_from_an_unknown_origin_is_403(self):
        for path in (f"/admin/keys/{self.key['id']}", "/admin/keys", f"/admin/domains/{self.domain}",
                     f"/admin/keys/{self.key['id']}/revoke"):
            for method in ("DELETE", "POST", "PUT", "PATCH"):
                with self.subTest(path=path, method=method):
                    resp = self.api.request("OPTIONS", path, token=None,
                                            headers={"Origin": "https://evil.example",
                                                     "Access-Control-Request-Method": method,
                                                     "Access-Control-Request-Headers": "authorization"})
                    self.assertError(resp, 403, "origin_not_allowed")
                    self.assertIsNone(resp.headers.get("Access-Control-Allow-Origin"))
        self.assertUntouched()

    def test_preflight_never_performs_the_action(self):
        """OPTIONS from the configured origin, with and without the token, with a body, and
        with method-override headers: answered 204 or refused, and nothing is deleted,
        revoked or changed."""
        variants = [
            {"Origin": DASHBOARD, "Access-Control-Request-Method": "DELETE"},
            {"Origin": DASHBOARD, "Access-Control-Request-Method": "DELETE",
             "Authorization": f"Bearer {self.server.admin_token}"},
            {"Authorization": f"Bearer {self.server.admin_token}"},
            {"Origin": DASHBOARD, "X-HTTP-Method-Override": "DELETE",
             "Authorization": f"Bearer {self.server.admin_token}"},
            {},
        ]
        for headers in variants:
            for path in (f"/admin/keys/{self.key['id']}", f"/admin/keys/{self.key['id']}/revoke",
                         f"/admin/domains/{self.domain}"):
                with self.subTest(path=path, headers=sorted(headers)):
                    resp = self.api.request("OPTIONS", path, body={"plan": "pulse", "name": "hacked"},
                                            token=None, headers=headers)
                    self.assertIn(resp.status, (204, 403), resp)
        self.assertUntouched()

    def test_method_override_headers_are_ignored(self):
        for name in ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"):
            with self.subTest(header=name):
                resp = self.api.request("POST", f"/admin/keys/{self.key['id']}", body={}, token=None,
                                        headers={name: "DELETE"})
                self.assertIn(resp.status, (401, 405), resp)
                resp = self.api.request("GET", f"/admin/keys/{self.key['id']}", headers={name: "DELETE"})
                self.assertStatus(resp, 200)
        self.assertUntouched()

    def test_near_miss_tokens_are_401(self):
        token = self.server.admin_token
        last = token[-1]
        near = [
            token[:-1] + ("A" if last != "A" else "B"),  # last character differs
            token[:-1],
            token + token[-1],
            " " + token,
            token.upper() if token.upper() != token else token.lower(),
        ]
        for value in near:
            with self.subTest(token=value[:4] + "..." + value[-2:]):
                resp = self.api.request("DELETE", f"/admin/keys/{self.key['id']}",
                                        token=None, headers={"Authorization": f"Bearer {value}"})
                self.assertError(resp, 401, "unauthorized")
        self.assertUntouched()

    def test_token_in_the_query_string_is_401(self):
        token = self.server.admin_token
        for param in ("token", "access_token", "admin_token", "authorization", "Authorization", "bearer"):
            for value in (token, f"Bearer {token}"):
                with self.subTest(param=param, bearer=value != token):
                    query = urllib.parse.urlencode({param: value})
                    resp = self.api.delete(f"/admin/keys/{self.key['id']}?{query}", token=None)
                    self.assertError(resp, 401, "unauthorized")
        self.assertUntouched()

    def test_two_authorization_headers_are_refused(self):
        """Authorization is a singleton field (RFC 9110 §11.6.2): two of them are ambiguous
        (a proxy may read one, the service the other), so the request is refused 401
        whatever their order, and nothing is deleted (docs/DECISIONS.md)."""
        token = self.server.admin_token
        for order in (("Bearer wrong", f"Bearer {token}"), (f"Bearer {token}", "Bearer wrong"),
                      (f"Bearer {token}", f"Bearer {token}")):
            with self.subTest(order=["right" if token in v else "wrong" for v in order]):
                data = build_request("DELETE", f"/admin/keys/{self.key['id']}",
                                     [("Authorization", value) for value in order])
                with RawConnection(self.port) as conn:
                    conn.send(data)
                    resp = conn.read_response()
                self.assertError(resp, 401, "unauthorized")
                self.assertUntouched()

    def test_admin_paths_do_not_leak_through_odd_spellings(self):
        for path in ("/admin//keys", "/admin/keys/", "/ADMIN/keys", "/admin/./keys", "/admin/%6Beys",
                     "/admin/keys/..%2F..%2Fadmin%2Fdomains", "//admin/domains",
                     f"/admin/keys/{self.key['id']}%00", "/admin/keys?domain=" + quote(self.domain)):
            with self.subTest(path=path):
                resp = self.api.get(path, token=None)
                self.assertIn(resp.status, (400, 401, 404, 405), resp)
                self.assertNotIn(self.key["prefix"], resp.text)
        self.assertUntouched()


class SqlInjectionTest(ServerTestCase):
    """Input that looks like SQL is data: stored and returned byte for byte, and every table
    survives it."""

    def test_key_names_are_stored_verbatim(self):
        domain = self.api.create_domain("command")
        created = []
        for text in SQL_INJECTIONS:
            with self.subTest(name=text):
                key = self.api.create_key(domain, text)
                self.assertEqual(key["name"], text)
                created.append(key)
        listed = {k["id"]: k["name"] for k in self.api.list_keys(domain).json["keys"]}
        for key, text in zip(created, SQL_INJECTIONS):
            self.assertEqual(listed[key["id"]], text)
            self.assertEqual(self.api.key(key["id"])["name"], text)
        renamed = self.api.rename(created[0]["id"], SQL_INJECTIONS[1])
        self.assertStatus(renamed, 200)
        self.assertEqual(renamed.json["name"], SQL_INJECTIONS[1])
        self.assertTablesSurvive()

    def test_event_fields_are_stored_verbatim(self):
        domain, created = self.api.new_key("command")
        key = created["key"]
        sent = {}
        for i, text in enumerate(SQL_INJECTIONS):
            event_id = f"{text}-{i}"  # the idempotency key itself
            body = {"event": "purchase -- DROP TABLE events", "external_id": text, "click_id": text,
                    "event_id": event_id, "properties": {"note": text, text: [text]}}
            with self.subTest(text=text):
                self.assertEqual(self.assertAccepted(self.api.inbound(key, body)), event_id)
                sent[event_id] = body
        # The same through a batch and a form.
        batch_ids = [f"batch {t}" for t in SQL_INJECTIONS[:3]]
        resp = self.api.inbound(key, {"events": [{"event": "lead", "external_id": t, "event_id": e}
                                                 for t, e in zip(SQL_INJECTIONS, batch_ids)]}, batch=True)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["accepted"], 3, resp.text)
        form_id = "form ' OR 1=1 --"
        self.assertAccepted(self.api.inbound_form(key, {"event": "lead", "external_id": SQL_INJECTIONS[0],
                                                        "event_id": form_id}))
        stored = {e["event_id"]: e for e in self.api.all_events(domain)}
        self.assertEqual(set(stored), set(sent) | set(batch_ids) | {form_id})
        for event_id, body in sent.items():
            event = stored[event_id]
            self.assertEqual(event["event"], body["event"])
            self.assertEqual(event["external_id"], body["external_id"])
            self.assertEqual(event["click_id"], body["click_id"])
            properties = event["properties"]
            if isinstance(properties, str):
                properties = json.loads(properties)
            self.assertEqual(properties, body["properties"])
        self.assertEqual(stored[form_id]["external_id"], SQL_INJECTIONS[0])
        # A repeat is still recognized as the same event (the unique index works on it).
        self.assertDuplicate(self.api.inbound(key, sent[f"{SQL_INJECTIONS[0]}-0"]), f"{SQL_INJECTIONS[0]}-0")
        self.assertTablesSurvive()

    def test_query_parameters_are_not_sql(self):
        domain, created = self.api.new_key("command")
        self.assertAccepted(self.api.inbound(created["key"], purchase()))
        for text in SQL_INJECTIONS + [f"{domain}' OR '1'='1", f"{domain}\" OR 1=1 --"]:
            with self.subTest(domain=text):
                # Not a registered domain: 404 domain_not_found (SPEC §3), or 400 on the bad
                # value; never a 200 listing, which could hold rows the text matched.
                events = self.api.events(text)
                if events.status == 400:
                    self.assertError(events, 400, "validation_failed", field="domain")
                else:
                    self.assertError(events, 404, "domain_not_found")
                keys = self.api.list_keys(text)
                self.assertIn(keys.status, (400, 404), keys)
                audit = self.api.audit(text)
                self.assertIn(audit.status, (200, 400, 404), audit)
                if audit.status == 200:
                    self.assertEqual(audit.json["entries"], [])
        for cursor in ("1 OR 1=1", "0; DROP TABLE events", "-1", "1e9", "9223372036854775808"):
            with self.subTest(before=cursor):
                resp = self.api.events(domain, before=cursor)
                self.assertIn(resp.status, (200, 400), resp)
        for limit in ("1; DROP TABLE events", "50 OR 1=1"):
            with self.subTest(limit=limit):
                self.assertError(self.api.events(domain, limit=limit), 400, "validation_failed")
        self.assertEqual(len(self.api.all_events(domain)), 1)
        self.assertTablesSurvive()

    def test_path_parameters_are_not_sql(self):
        for text in SQL_INJECTIONS:
            with self.subTest(id=text):
                self.assertError(self.api.get_key(text), 404, "key_not_found")
                self.assertIn(self.api.revoke(text).status, (404,))
                resp = self.api.put_domain(text, "pulse")
                self.assertIn(resp.status, (400, 404), resp)
        self.assertTablesSurvive()

    def assertTablesSurvive(self):
        self.assertStatus(self.api.get("/admin/domains"), 200)
        domain, created = self.api.new_key("command")
        self.assertAccepted(self.api.inbound(created["key"], purchase()))
        self.assertEqual(len(self.api.all_events(domain)), 1)
        self.assertStatus(self.api.audit(domain), 200)
        db = sqlite3.connect(f"file:{self.server.database}?mode=ro", uri=True, timeout=10)
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
        self.assertLessEqual({"domains", "api_keys", "events", "audit_log", "registry_version"}, tables)


class ApiKeyInUrlTest(ServerTestCase):
    """An API key in the URL is never read: it would end up in proxy and access logs."""

    def setUp(self):
        self.domain, created = self.api.new_key("command")
        self.key = created["key"]

    def test_key_in_query_string_is_401_missing_api_key(self):
        for param in ("api_key", "X-CC-Api-Key", "x-cc-api-key", "key", "apikey", "access_token", "token"):
            for path in (INBOUND, BATCH):
                with self.subTest(param=param, path=path):
                    query = urllib.parse.urlencode({param: self.key})
                    body = {"events": [purchase()]} if path == BATCH else purchase()
                    resp = self.api.inbound(None, body, path=f"{path}?{query}")
                    self.assertError(resp, 401, "missing_api_key")
                    self.assertNotIn(self.key, resp.text)
        self.assertEqual(self.api.all_events(self.domain), [], "an event was stored with a key from the URL")

    def test_key_in_a_form_body_field_is_not_a_credential(self):
        resp = self.api.inbound_form(None, {"event": "lead", "email": "a@example.com", "api_key": self.key,
                                            "X-CC-Api-Key": self.key})
        self.assertError(resp, 401, "missing_api_key")
        resp = self.api.inbound(None, purchase(api_key=self.key))
        self.assertError(resp, 401, "missing_api_key")

    def test_key_in_authorization_header_is_not_read(self):
        resp = self.api.inbound(None, purchase(), headers={"Authorization": f"Bearer {self.key}"})
        self.assertError(resp, 401, "missing_api_key")

    def test_key_in_the_path_is_not_read(self):
        resp = self.api.inbound(None, purchase(), path=f"{INBOUND}/{self.key}")
        self.assertIn(resp.status, (401, 404, 405), resp)
        self.assertNotEqual(resp.status, 202)


if __name__ == "__main__":
    unittest.main()
