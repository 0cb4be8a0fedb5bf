"""GET /openapi.json (SPEC §4): the served document is the repository's, every operation
it describes is routed, and the response check the harness applies to every response
catches what it must (a missing field, an extra field, an undocumented status)."""

from __future__ import annotations

import json
import os
import unittest

import openapi_check
from harness import Headers, Response, ServerTestCase, unique_domain

DOCUMENT = openapi_check.DOCUMENT_PATH

VALID_KEY = {
    "id": "key_4yHx7jFvfEtVes5Y0mp1", "domain": "example.com", "name": "Zapier Integration",
    "prefix": "cc_NMJz4lby", "status": "active", "created_at": "2026-01-02T03:04:05.678Z",
    "last_used_at": None, "last_used_ip": None, "revoked_at": None, "expires_at": None,
    "rolled_to": None, "allowed_ips": [], "exposed_at": None, "exposed_origin": None,
}


def json_headers(**extra):
    return Headers([("Content-Type", "application/json"), ("X-Request-Id", "req_test"),
                    *extra.items()])


def problems(method, target, status, body, headers=None):
    raw = json.dumps(body).encode() if body is not None else b""
    return openapi_check.problems_of(method, target, status, headers or json_headers(), raw, body)[1]


class TestChecker(unittest.TestCase):
    """The response check itself, on hand-made responses (no server)."""

    def test_a_key_object_as_the_spec_states_it_matches(self):
        self.assertEqual(problems("GET", "/admin/keys/key_4yHx7jFvfEtVes5Y0mp1", 200, VALID_KEY), [])

    def test_a_key_object_without_a_spec_field_is_refused(self):
        for field in ("rolled_to", "allowed_ips", "exposed_at", "exposed_origin", "last_used_ip"):
            broken = {k: v for k, v in VALID_KEY.items() if k != field}
            with self.subTest(field=field):
                found = problems("GET", "/admin/keys/key_x", 200, broken)
                self.assertTrue(any(field in p for p in found), found)

    def test_a_key_object_leaking_a_hash_is_refused(self):
        found = problems("GET", "/admin/keys/key_x", 200, {**VALID_KEY, "key_hash": "ab" * 32})
        self.assertTrue(any("key_hash" in p for p in found), found)

    def test_a_full_key_outside_the_create_response_is_refused(self):
        found = problems("GET", "/admin/keys/key_x", 200, {**VALID_KEY, "key": "cc_" + "a" * 38})
        self.assertTrue(found)

    def test_an_undocumented_status_is_refused(self):
        found = problems("POST", "/__cc/inbound", 201, {"status": "accepted", "event_id": "e"})
        self.assertTrue(any("not documented" in p for p in found), found)

    def test_an_error_code_the_operation_does_not_have_is_refused(self):
        body = {"error": {"code": "key_not_found", "message": "No.", "request_id": "r"}}
        self.assertTrue(problems("POST", "/__cc/inbound", 401, body))
        ok = {"error": {"code": "revoked_api_key", "message": "The key cc_x was revoked.", "request_id": "r"}}
        self.assertEqual(problems("POST", "/__cc/inbound", 401, ok), [])

    def test_an_error_without_request_id_or_with_extra_members_is_refused(self):
        self.assertTrue(problems("POST", "/__cc/inbound", 401,
                                 {"error": {"code": "missing_api_key", "message": "No key."}}))
        self.assertTrue(problems("POST", "/__cc/inbound", 401,
                                 {"error": {"code": "missing_api_key", "message": "No key.", "request_id": "r"},
                                  "status": 401}))

    def test_a_missing_request_id_header_or_wrong_content_type_is_refused(self):
        body = {"status": "accepted", "event_id": "e1"}
        self.assertEqual(problems("POST", "/__cc/inbound", 202, body), [])
        self.assertTrue(problems("POST", "/__cc/inbound", 202, body,
                                 Headers([("Content-Type", "application/json")])))
        self.assertTrue(problems("POST", "/__cc/inbound", 202, body,
                                 Headers([("Content-Type", "text/plain"), ("X-Request-Id", "r")])))

    def test_rate_limited_and_unavailable_need_retry_after(self):
        body = {"error": {"code": "rate_limited", "message": "Slow down.", "request_id": "r"}}
        self.assertTrue(problems("POST", "/__cc/inbound", 429, body))
        self.assertEqual(problems("POST", "/__cc/inbound", 429, body, json_headers(**{"Retry-After": "1"})), [])

    def test_trailing_slash_and_head_use_the_documented_operation(self):
        self.assertEqual(problems("POST", "/__cc/inbound/", 202, {"status": "accepted", "event_id": "e"}), [])
        self.assertEqual(openapi_check.problems_of("HEAD", "/healthz", 200, json_headers(), b"", None)[1], [])

    def test_unknown_paths_and_methods_must_be_errors(self):
        self.assertTrue(problems("GET", "/nope", 200, {"ok": True}))
        self.assertEqual(problems("GET", "/nope", 404,
                                  {"error": {"code": "not_found", "message": "No route.", "request_id": "r"}}), [])
        self.assertTrue(problems("PUT", "/__cc/inbound", 200, {}))

    def test_raw_error_responses_must_have_the_error_shape(self):
        saved = openapi_check.MODE
        try:
            openapi_check.MODE = "1"
            good = {"error": {"code": "bad_request", "message": "Bad request.", "request_id": "r"}}
            openapi_check.check_raw_response(Response(400, json_headers(), json.dumps(good).encode()))
            for body in (b"Bad Request", json.dumps({"error": "bad_request"}).encode()):
                with self.subTest(body=body), self.assertRaises(AssertionError):
                    openapi_check.check_raw_response(Response(400, json_headers(), body))
        finally:
            openapi_check.MODE = saved

    def test_check_response_fails_the_test_on_a_mismatch(self):
        resp = Response(200, json_headers(), json.dumps({**VALID_KEY, "extra": 1}).encode())
        saved = openapi_check.MODE
        try:
            openapi_check.MODE = "1"
            with self.assertRaises(AssertionError):
                openapi_check.check_response("GET", "/admin/keys/key_x", resp)
            openapi_check.MODE = "0"
            openapi_check.check_response("GET", "/admin/keys/key_x", resp)
        finally:
            openapi_check.MODE = saved


def concrete(template: str) -> str:
    """A request path for a template, with made-up parameter values."""
    values = {"{domain}": unique_domain("oa"), "{id}": "key_0000000000000000000000",
              "{event_id}": "no-such-event", "{asset}": "no-such-asset.js"}
    for name, value in values.items():
        template = template.replace(name, value)
    return template


class TestServedDocument(ServerTestCase):

    def test_served_document_is_the_repository_file_as_json(self):
        resp = self.api.get("/openapi.json", token=None)
        self.assertStatus(resp, 200)
        self.assertEqual((resp.headers.get("Content-Type") or "").split(";")[0], "application/json")
        with open(DOCUMENT, "rb") as f:
            self.assertEqual(resp.body, f.read(), "the binary embeds a stale openapi/openapi.json")
        self.assertEqual(resp.json["openapi"], "3.1.0")

    def test_document_describes_every_spec_route(self):
        with open(DOCUMENT, encoding="utf-8") as f:
            paths = json.load(f)["paths"]
        expected = {
            ("post", "/__cc/inbound"), ("post", "/__cc/inbound/batch"), ("post", "/__cc/leaks"),
            ("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics"), ("get", "/openapi.json"),
            ("get", "/dashboard/"),
            ("get", "/admin/domains"), ("put", "/admin/domains/{domain}"), ("get", "/admin/domains/{domain}"),
            ("delete", "/admin/domains/{domain}"), ("post", "/admin/keys"), ("get", "/admin/keys"),
            ("get", "/admin/keys/{id}"), ("patch", "/admin/keys/{id}"), ("delete", "/admin/keys/{id}"),
            ("post", "/admin/keys/{id}/revoke"), ("post", "/admin/keys/{id}/restore"),
            ("post", "/admin/keys/{id}/roll"), ("get", "/admin/keys/{id}/usage"),
            ("get", "/admin/events"), ("get", "/admin/events/{event_id}"), ("get", "/admin/audit"),
            ("get", "/admin/rejections"),
        }
        documented = {(m, p) for p, item in paths.items() for m in item}
        self.assertLessEqual(expected, documented, expected - documented)

    def test_every_documented_operation_is_routed(self):
        """A phantom operation (documented, not served) answers 404 not_found or 405."""
        with open(DOCUMENT, encoding="utf-8") as f:
            paths = json.load(f)["paths"]
        missing = []
        for template, item in paths.items():
            for method, operation in item.items():
                codes = json.dumps(openapi_check.document().resolve(operation["responses"].get("404", {})))
                if method == "options" or '"not_found"' in codes:
                    continue  # a documented 404 not_found (leaks unconfigured, unknown asset)
                body = {} if "requestBody" in operation else None
                with openapi_check.suspended():
                    resp = self.api.request(method.upper(), concrete(template), body)
                code = (resp.json or {}).get("error", {}).get("code") if isinstance(resp.json, dict) else None
                if resp.status == 405 or (resp.status == 404 and code == "not_found"):
                    missing.append(f"{method.upper()} {template} -> {resp.status}")
        self.assertEqual(missing, [], "documented operations the server does not route")


if __name__ == "__main__":
    unittest.main()
