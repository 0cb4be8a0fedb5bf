"""GET /dashboard/ (SPEC §6): the embedded single-page dashboard, its headers and caching.

The flows themselves are walked in a real browser by tests/browser (ctest browser.dashboard);
this file pins what the server does over plain HTTP.
"""

import json
import re
import unittest

from harness import Api, CcTestCase, Server, ServerTestCase

CSP = "default-src 'self'; frame-ancestors 'none'"
ASSETS = {
    "/dashboard/": "text/html",
    "/dashboard/index.html": "text/html",
    "/dashboard/app.css": "text/css",
    "/dashboard/app.js": "text/javascript",
    "/dashboard/api.js": "text/javascript",
    "/dashboard/favicon.svg": "image/svg+xml",
}


class DashboardServingTest(ServerTestCase):
    def assertSecurityHeaders(self, resp):
        self.assertEqual(resp.headers.get("Content-Security-Policy"), CSP, resp.headers)
        self.assertEqual(resp.headers.get("X-Content-Type-Options"), "nosniff")
        self.assertEqual(resp.headers.get("Referrer-Policy"), "no-referrer")

    def test_every_asset_has_its_type_cache_headers_and_etag(self):
        for path, kind in ASSETS.items():
            with self.subTest(path=path):
                resp = self.api.get(path, token=None)
                self.assertEqual(resp.status, 200, resp)
                self.assertTrue(resp.headers.get("Content-Type", "").startswith(kind), resp.headers)
                self.assertEqual(resp.headers.get("Cache-Control"), "no-cache")
                self.assertRegex(resp.headers.get("ETag", ""), r'^"[0-9a-f]{32}"$')
                self.assertSecurityHeaders(resp)
                self.assertTrue(resp.body)

    def test_the_page_loads_without_a_token_and_has_no_inline_script_or_style(self):
        resp = self.api.get("/dashboard/", token=None)
        self.assertEqual(resp.status, 200)
        html = resp.text
        self.assertIn('<script type="module" src="app.js"></script>', html)
        self.assertNotRegex(html, r"<script(?![^>]*\bsrc=)[^>]*>", "inline script")
        self.assertNotIn("<style", html)
        self.assertNotRegex(html, r"\sstyle=", "inline style attribute")
        self.assertNotRegex(html, r"\son[a-z]+=", "inline event handler")
        # Nothing from another origin: every src/href is relative to /dashboard/.
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            self.assertFalse(re.match(r"^(?:[a-z]+:)?//", url), url)

    def test_each_module_the_page_imports_is_served(self):
        seen, todo = set(), ["app.js"]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            resp = self.api.get("/dashboard/" + name, token=None)
            self.assertEqual(resp.status, 200, name)
            todo.extend(re.findall(r"from '\./([a-z0-9_-]+\.js)'", resp.text))
        self.assertGreaterEqual(len(seen), 5, seen)

    def test_if_none_match_answers_304_without_a_body(self):
        first = self.api.get("/dashboard/app.js", token=None)
        etag = first.headers.get("ETag")
        for sent in (etag, "W/" + etag, '"other", ' + etag, "*"):
            with self.subTest(sent=sent):
                resp = self.api.get("/dashboard/app.js", token=None, headers={"If-None-Match": sent})
                self.assertEqual(resp.status, 304, resp)
                self.assertEqual(resp.body, b"")
                self.assertEqual(resp.headers.get("ETag"), etag)
                self.assertSecurityHeaders(resp)
        stale = self.api.get("/dashboard/app.js", token=None, headers={"If-None-Match": '"0000"'})
        self.assertEqual(stale.status, 200)
        self.assertEqual(stale.body, first.body)

    def test_etags_differ_between_assets(self):
        tags = {self.api.get(p, token=None).headers.get("ETag") for p in ("/dashboard/app.js", "/dashboard/app.css", "/dashboard/api.js")}
        self.assertEqual(len(tags), 3)

    def test_without_the_slash_redirects_to_the_page(self):
        resp = self.api.get("/dashboard", token=None)
        self.assertEqual(resp.status, 301, resp)
        self.assertEqual(resp.headers.get("Location"), "/dashboard/")

    def test_unknown_asset_is_a_json_404_with_the_headers(self):
        for path in ("/dashboard/missing.js", "/dashboard/..%2Fmigrations", "/dashboard/a/b.js"):
            with self.subTest(path=path):
                resp = self.api.get(path, token=None)
                self.assertEqual(resp.status, 404, resp)
                self.assertEqual(resp.json["error"]["code"], "not_found")

    def test_the_page_holds_no_secret_and_the_token_is_not_needed(self):
        resp = self.api.get("/dashboard/", token=None)
        self.assertNotIn(self.server.admin_token, resp.text)
        # A wrong token is ignored by the page routes (the page itself asks for one).
        self.assertEqual(self.api.get("/dashboard/", token="wrong").status, 200)


class DashboardOnTheAdminListenerTest(CcTestCase):
    """With admin_listen, the dashboard moves there with the admin API (same origin)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = Server({"CC_ADMIN_LISTEN": "127.0.0.1:0"})
        cls.addClassCleanup(cls.server.close)
        cls.server.start()
        line = next(json.loads(l) for l in cls.server.log_lines("stdout") if '"msg":"listening"' in l)
        host, _, port = line["admin_address"].rpartition(":")
        cls.admin = Api(host.strip("[]"), int(port), cls.server.admin_token)

    def test_dashboard_is_served_beside_the_admin_api_only(self):
        self.assertEqual(self.admin.get("/dashboard/", token=None).status, 200)
        self.assertEqual(self.admin.get("/admin/domains").status, 200)
        self.assertEqual(self.server.api.get("/dashboard/", token=None).status, 404)
        self.assertEqual(self.server.api.get("/dashboard", token=None).status, 404)


if __name__ == "__main__":
    unittest.main()
