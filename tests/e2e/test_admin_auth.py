"""Admin API access: bearer token, no token configured, CORS for the dashboard's origins,
and the audit trail (who did what)."""

import base64
import unittest

from harness import (AUDIT_FIELDS, CcTestCase, Server, ServerTestCase, check_binary, parse_time,
                     quote, unique_domain)


def admin_routes(domain, key_id):
    """Every admin route, as (method, path, body)."""
    d, k = quote(domain), quote(key_id)
    return [
        ("GET", "/admin/domains", None),
        ("GET", f"/admin/domains/{d}", None),
        ("PUT", f"/admin/domains/{d}", {"plan": "command"}),
        ("DELETE", f"/admin/domains/{d}", None),
        ("POST", "/admin/keys", {"domain": domain, "name": "intruder"}),
        ("GET", f"/admin/keys?domain={d}", None),
        ("GET", f"/admin/keys/{k}", None),
        ("PATCH", f"/admin/keys/{k}", {"name": "owned"}),
        ("DELETE", f"/admin/keys/{k}", None),
        ("POST", f"/admin/keys/{k}/revoke", None),
        ("POST", f"/admin/keys/{k}/restore", None),
        ("POST", f"/admin/keys/{k}/roll", {"grace_seconds": 0}),
        ("GET", f"/admin/events?domain={d}", None),
        ("GET", f"/admin/audit?domain={d}", None),
    ]


def is_subsequence(expected, actual) -> bool:
    remaining = iter(actual)
    return all(any(item == got for got in remaining) for item in expected)


class AdminAuthTest(ServerTestCase):

    def setUp(self):
        self.domain = self.api.create_domain("pulse")
        self.key = self.api.create_key(self.domain, "victim")

    def assertUnauthorized(self, resp):
        self.assertError(resp, 401, "unauthorized")
        self.assertTrue((resp.headers.get("WWW-Authenticate") or "").startswith("Bearer"),
                        resp.headers.get("WWW-Authenticate"))

    def assertNothingChanged(self):
        self.assertEqual(self.api.get_domain(self.domain).json["plan"], "pulse")
        key = self.api.key(self.key["id"])
        self.assertEqual((key["name"], key["status"], key["expires_at"]), ("victim", "active", None))
        self.assertEqual(len(self.api.list_keys(self.domain).json["keys"]), 1)

    def test_missing_token_is_401_on_every_route(self):
        for method, path, body in admin_routes(self.domain, self.key["id"]):
            with self.subTest(method=method, path=path):
                self.assertUnauthorized(self.api.request(method, path, body, token=None))
        self.assertNothingChanged()

    def test_wrong_tokens_are_401(self):
        token = self.server.admin_token
        wrong = [
            "Bearer wrong",
            f"Bearer {token[:-1]}",
            f"Bearer {token}x",
            f"Bearer {token.swapcase()}",
            f"Basic {base64.b64encode(f'admin:{token}'.encode()).decode()}",
            f"Token {token}",
            token,
            "Bearer",
            "Bearer ",
            f"Bearer {self.key['key']}",
        ]
        for value in wrong:
            for method, path, body in admin_routes(self.domain, self.key["id"]):
                with self.subTest(authorization=value, method=method, path=path):
                    resp = self.api.request(method, path, body, token=None,
                                            headers={"Authorization": value})
                    self.assertUnauthorized(resp)
        self.assertNothingChanged()

    def test_token_in_query_string_is_not_accepted(self):
        token = self.server.admin_token
        for param in ("token", "access_token", "admin_token"):
            with self.subTest(param=param):
                resp = self.api.get(f"/admin/domains?{param}={token}", token=None)
                self.assertUnauthorized(resp)

    def test_correct_token_is_accepted(self):
        resp = self.api.get("/admin/domains")
        self.assertStatus(resp, 200)
        self.assertIn(self.domain, [d["domain"] for d in resp.json["domains"]])

    def test_admin_token_never_appears_in_logs_or_bodies(self):
        token = self.server.admin_token
        bodies = [self.api.get("/admin/domains").text,
                  self.api.get("/admin/domains", token="wrong").text,
                  self.api.audit(self.domain).text,
                  self.api.get("/metrics", token=None).text]
        for body in bodies:
            self.assertNotIn(token, body)
        self.assertNotIn(token, self.server.log_text())


class NoAdminTokenTest(ServerTestCase):
    """With no admin token configured, the admin API refuses everything."""

    admin_token = None

    def test_every_admin_route_is_401(self):
        for value in (None, "Bearer ", "Bearer", "Bearer null", "Bearer undefined",
                      "Bearer " + "a" * 43):
            for method, path, body in admin_routes("x.example.com", "key_abc123"):
                with self.subTest(authorization=value, method=method, path=path):
                    headers = {} if value is None else {"Authorization": value}
                    resp = self.api.request(method, path, body, token=None, headers=headers)
                    self.assertError(resp, 401, "unauthorized")

    def test_the_rest_of_the_service_still_runs(self):
        self.assertStatus(self.api.get("/healthz", token=None), 200)
        self.assertError(self.api.inbound(None, {"event": "x"}), 401, "missing_api_key")


class EmptyAdminTokenTest(CcTestCase):

    def test_empty_admin_token_never_opens_the_admin_api(self):
        check_binary()
        server = Server({"CC_ADMIN_TOKEN": ""}, admin_token=None)
        self.addCleanup(server.close)
        try:
            server.start()
        except RuntimeError:
            # Refusing to start is also safe, but only as a deliberate refusal that says
            # why: an exit code (not a crash by a signal) and a line naming the setting.
            code = server.wait()
            self.assertIsNotNone(code, "the server neither listened nor exited")
            self.assertGreater(code, 0, f"crashed (exit {code}):\n{server.log_tail()}")
            self.assertRegex(server.log_text().lower(), r"admin[ _]token",
                             f"the refusal does not say it is about the admin token:\n{server.log_tail()}")
            return
        for value in ("Bearer ", "Bearer", None):
            with self.subTest(authorization=value):
                headers = {} if value is None else {"Authorization": value}
                resp = server.api.get("/admin/domains", token=None, headers=headers)
                self.assertError(resp, 401, "unauthorized")


class CorsTest(ServerTestCase):

    APP = "https://app.cleanclicks.example"
    OPS = "https://ops.cleanclicks.example"
    server_env = {"CC_CORS_ORIGINS": f"{APP},{OPS}"}

    def preflight(self, path, origin, method="PUT"):
        return self.api.request("OPTIONS", path, token=None, headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type"})

    def test_configured_origins_get_allow_origin_and_vary(self):
        for origin in (self.APP, self.OPS):
            with self.subTest(origin=origin):
                resp = self.api.get("/admin/domains", headers={"Origin": origin})
                self.assertStatus(resp, 200)
                self.assertEqual(resp.headers.get("Access-Control-Allow-Origin"), origin)
                self.assertIn("origin", (resp.headers.get("Vary") or "").lower())

    def test_preflight_from_a_configured_origin_needs_no_auth(self):
        cases = [("/admin/domains/x.example.com", "PUT"), ("/admin/keys", "POST"),
                 ("/admin/keys/key_abc123", "PATCH"), ("/admin/keys/key_abc123/revoke", "POST")]
        for path, method in cases:
            with self.subTest(path=path):
                resp = self.preflight(path, self.APP, method)
                self.assertStatus(resp, 204)
                self.assertEqual(resp.headers.get("Access-Control-Allow-Origin"), self.APP)
                methods = (resp.headers.get("Access-Control-Allow-Methods") or "").upper()
                self.assertIn(method, methods)
                allowed = (resp.headers.get("Access-Control-Allow-Headers") or "").lower()
                self.assertIn("authorization", allowed)
                self.assertIn("content-type", allowed)

    def test_other_origins_get_no_cors_headers(self):
        for origin in ("https://evil.example", "http://app.cleanclicks.example",
                       "https://app.cleanclicks.example.evil.com", "https://app.cleanclicks.example:8443",
                       "null", "https://APP.cleanclicks.example.evil"):
            with self.subTest(origin=origin):
                resp = self.api.get("/admin/domains", headers={"Origin": origin})
                self.assertStatus(resp, 200)
                self.assertIsNone(resp.headers.get("Access-Control-Allow-Origin"))

    def test_preflight_from_another_origin_is_403(self):
        resp = self.preflight("/admin/domains/x.example.com", "https://evil.example")
        self.assertError(resp, 403, "origin_not_allowed")
        self.assertIsNone(resp.headers.get("Access-Control-Allow-Origin"))

    def test_no_origin_no_cors_headers(self):
        resp = self.api.get("/admin/domains")
        self.assertIsNone(resp.headers.get("Access-Control-Allow-Origin"))

    def test_cors_does_not_replace_authentication(self):
        resp = self.api.get("/admin/domains", token=None, headers={"Origin": self.APP})
        self.assertError(resp, 401, "unauthorized")


class AuditTest(ServerTestCase):

    def assertEntry(self, entry, domain):
        self.assertEqual(set(entry), AUDIT_FIELDS, entry)
        self.assertTime(entry["at"])
        self.assertEqual(entry["domain"], domain)
        self.assertEqual(entry["client_ip"], "127.0.0.1")
        self.assertIsInstance(entry["actor"], str)
        self.assertTrue(entry["actor"])
        self.assertNotEqual(entry["actor"], self.server.admin_token)
        self.assertNotIn(self.server.admin_token, entry["actor"])

    def test_audit_records_domain_and_key_actions(self):
        domain = unique_domain()
        self.api.create_domain("pulse", domain)
        self.api.put_domain(domain, "signal")
        key = self.api.create_key(domain, "audited")
        self.api.rename(key["id"], "audited 2")
        self.api.revoke(key["id"])
        self.api.restore(key["id"])
        rolled = self.api.roll(key["id"], {"grace_seconds": 60}).json
        self.api.delete_key(key["id"])
        resp = self.api.audit(domain)
        self.assertStatus(resp, 200)
        self.assertEqual(set(resp.json), {"entries", "next"})
        entries = self.api.all_audit(domain)
        expected = ["domain.created", "domain.plan_changed", "key.created", "key.renamed",
                    "key.revoked", "key.restored", "key.rolled", "key.deleted"]
        actions = [e["action"] for e in reversed(entries)]  # oldest first
        self.assertTrue(is_subsequence(expected, actions), actions)
        times = [parse_time(e["at"]) for e in entries]
        self.assertEqual(times, sorted(times, reverse=True), "entries must be newest first")
        for entry in entries:
            self.assertEntry(entry, domain)
        self.assertEqual(len({e["actor"] for e in entries}), 1, "one token, one actor id")
        by_action = {e["action"]: e for e in entries}
        for action in ("key.created", "key.renamed", "key.revoked", "key.restored",
                       "key.deleted", "key.rolled"):
            self.assertIn(by_action[action]["key_id"], (key["id"], rolled["id"]), action)
        for action in ("key.renamed", "key.revoked", "key.restored", "key.deleted"):
            self.assertEqual(by_action[action]["key_id"], key["id"], action)
        text = resp.text
        self.assertNotIn(key["key"], text)
        self.assertNotIn(rolled["key"], text)
        self.assertNotIn(self.server.admin_token, text)

    def test_domain_deletion_is_audited_and_stays_readable(self):
        domain = self.api.create_domain("pulse")
        self.assertStatus(self.api.delete_domain(domain), 204)
        resp = self.api.audit(domain)
        self.assertStatus(resp, 200)
        self.assertEqual([e["action"] for e in resp.json["entries"]][:2],
                         ["domain.deleted", "domain.created"])
        self.assertEntry(resp.json["entries"][0], domain)

    def test_audit_is_per_domain(self):
        mine, other = self.api.create_domain("pulse"), self.api.create_domain("pulse")
        self.api.create_key(other)
        entries = self.api.all_audit(mine)
        self.assertEqual([e["action"] for e in entries], ["domain.created"])

    def test_audit_pages_with_a_cursor(self):
        domain = self.api.create_domain("pulse")
        key = self.api.create_key(domain)
        for i in range(4):
            self.api.rename(key["id"], f"name {i}")
        everything = self.api.all_audit(domain)
        self.assertEqual(len(everything), 6)
        first = self.api.audit(domain, limit=2)
        self.assertStatus(first, 200)
        self.assertEqual(len(first.json["entries"]), 2)
        self.assertIsInstance(first.json["next"], str)
        paged, cursor = list(first.json["entries"]), first.json["next"]
        while cursor:
            page = self.api.audit(domain, limit=2, before=cursor)
            self.assertStatus(page, 200)
            paged.extend(page.json["entries"])
            cursor = page.json["next"] if page.json["entries"] else None
        self.assertEqual([e["id"] for e in paged], [e["id"] for e in everything])

    def test_audit_limit_out_of_range_is_rejected(self):
        domain = self.api.create_domain("pulse")
        for limit in ("0", "501", "-1", "ten"):
            with self.subTest(limit=limit):
                resp = self.api.get(f"/admin/audit?domain={domain}&limit={limit}")
                self.assertError(resp, 400, "validation_failed", field="limit")


if __name__ == "__main__":
    unittest.main()
