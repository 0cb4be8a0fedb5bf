"""Key controls (SPEC §7): browser requests refused and keys marked exposed, allowed IPs
per key, hourly usage, the rejection log, and GitHub secret-scanning leak reports."""

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid
from datetime import datetime, timezone

from harness import (BATCH, INBOUND, ServerTestCase, detail_fields, forge_key, poll,
                     run_cli, unique_id)

EVENT = {"event": "lead", "email": "lead@example.org"}


def event(**extra):
    return {**EVENT, "event_id": unique_id(), **extra}


class BrowserRequestTest(ServerTestCase):

    def setUp(self):
        self.domain, self.created = self.api.new_key("command")
        self.key = self.created["key"]

    def test_origin_header_is_refused_and_says_server_to_server(self):
        for batch in (False, True):
            with self.subTest(batch=batch):
                body = {"events": [event()]} if batch else event()
                err = self.assertError(
                    self.api.inbound(self.key, body, batch=batch, headers={"Origin": "https://shop.example"}),
                    403, "browser_request_refused")
                self.assertIn("server-to-server", err["message"])

    def test_sec_fetch_site_alone_is_refused(self):
        self.assertError(self.api.inbound(self.key, event(), headers={"Sec-Fetch-Site": "cross-site"}),
                         403, "browser_request_refused")
        self.assertEqual(self.api.key(self.created["id"])["exposed_origin"], "sec-fetch-site: cross-site")

    def test_same_origin_fetch_is_named_by_its_referer(self):
        self.assertError(self.api.inbound(self.key, event(), headers={
            "Sec-Fetch-Site": "same-origin", "Referer": "https://shop.example/checkout?step=2"}),
            403, "browser_request_refused")
        self.assertEqual(self.api.key(self.created["id"])["exposed_origin"], "https://shop.example")

    def test_sec_fetch_mode_alone_is_a_server_request(self):
        # Node 20's server-side fetch sends sec-fetch-mode: cors on every request.
        self.assertAccepted(self.api.inbound(self.key, event(), headers={"sec-fetch-mode": "cors"}))

    def test_browser_without_a_key_is_refused_too(self):
        self.assertError(self.api.inbound(None, event(), headers={"Origin": "https://a.example"}),
                         403, "browser_request_refused")
        self.assertError(self.api.inbound(forge_key(), event(), headers={"Origin": "https://a.example"}),
                         403, "browser_request_refused")

    def test_preflight_gets_no_cors_headers(self):
        for path in (INBOUND, BATCH, INBOUND + "/"):
            with self.subTest(path=path):
                resp = self.api.request("OPTIONS", path, token=None, headers={
                    "Origin": "https://shop.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "x-cc-api-key, content-type"})
                cors = [name for name, _ in resp.headers.items() if name.lower().startswith("access-control-")]
                self.assertEqual(cors, [], resp.headers)
                self.assertGreaterEqual(resp.status, 400)

    def test_valid_key_is_marked_exposed_once_and_keeps_working(self):
        before = self.api.key(self.created["id"])
        self.assertIsNone(before["exposed_at"])
        self.assertIsNone(before["exposed_origin"])
        self.assertError(self.api.inbound(self.key, event(), headers={"Origin": "https://shop.example"}),
                         403, "browser_request_refused")
        key = self.api.key(self.created["id"])
        self.assertRecent(key["exposed_at"])
        self.assertEqual(key["exposed_origin"], "https://shop.example")
        # A second sighting from elsewhere keeps the first.
        self.assertError(self.api.inbound(self.key, event(), headers={"Origin": "https://other.example"}),
                         403, "browser_request_refused")
        again = self.api.key(self.created["id"])
        self.assertEqual(again["exposed_at"], key["exposed_at"])
        self.assertEqual(again["exposed_origin"], "https://shop.example")
        exposed = [e for e in self.api.all_audit(self.domain) if e["action"] == "key.exposed"]
        self.assertEqual(len(exposed), 1, exposed)
        self.assertEqual(exposed[0]["key_id"], self.created["id"])
        self.assertNotIn(self.key, json.dumps(exposed))
        # Still works from a server, and still active.
        self.assertAccepted(self.api.inbound(self.key, event()))
        self.assertEqual(self.api.key(self.created["id"])["status"], "active")

    def test_revoked_key_seen_in_a_browser_is_not_marked(self):
        self.api.revoke(self.created["id"])
        self.assertError(self.api.inbound(self.key, event(), headers={"Origin": "https://shop.example"}),
                         403, "browser_request_refused")
        self.assertIsNone(self.api.key(self.created["id"])["exposed_at"])

    def test_rolled_successor_is_not_exposed(self):
        self.assertError(self.api.inbound(self.key, event(), headers={"Origin": "https://shop.example"}),
                         403, "browser_request_refused")
        rolled = self.api.roll(self.created["id"], {"grace_seconds": 0})
        self.assertStatus(rolled, 201)
        self.assertIsNone(rolled.json["exposed_at"])
        self.assertIsNone(rolled.json["exposed_origin"])


class AllowedIpsTest(ServerTestCase):

    def setUp(self):
        self.domain = self.api.create_domain("command")

    def test_create_normalizes_and_allows_the_listed_address(self):
        key = self.api.create_key(self.domain, allowed_ips=["127.0.0.1", "10.0.0.0/8", "2001:DB8::/32"])
        self.assertEqual(key["allowed_ips"], ["127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32"])
        self.assertEqual(self.api.key(key["id"])["allowed_ips"], key["allowed_ips"])
        self.assertAccepted(self.api.inbound(key["key"], event()))

    def test_absent_or_empty_means_any_address(self):
        key = self.api.create_key(self.domain)
        self.assertEqual(key["allowed_ips"], [])
        self.assertAccepted(self.api.inbound(key["key"], event()))
        key2 = self.api.create_key(self.domain, allowed_ips=[])
        self.assertEqual(key2["allowed_ips"], [])

    def test_request_from_elsewhere_is_403_and_patch_takes_effect_at_once(self):
        key = self.api.create_key(self.domain, allowed_ips=["10.1.2.0/24"])
        err = self.assertError(self.api.inbound(key["key"], event()), 403, "ip_not_allowed")
        self.assertIn(key["prefix"], err["message"])
        self.assertNotIn(key["key"], err["message"])
        resp = self.api.patch(f"/admin/keys/{key['id']}", {"allowed_ips": ["127.0.0.0/8"]})
        self.assertStatus(resp, 200)
        self.assertKeyObject(resp.json)
        self.assertEqual(resp.json["allowed_ips"], ["127.0.0.0/8"])
        self.assertAccepted(self.api.inbound(key["key"], event()))
        self.assertStatus(self.api.patch(f"/admin/keys/{key['id']}", {"allowed_ips": ["192.0.2.1"]}), 200)
        self.assertError(self.api.inbound(key["key"], event()), 403, "ip_not_allowed")
        self.assertStatus(self.api.patch(f"/admin/keys/{key['id']}", {"allowed_ips": []}), 200)
        self.assertAccepted(self.api.inbound(key["key"], event()))
        changes = [e for e in self.api.all_audit(self.domain) if e["action"] == "key.allowed_ips_changed"]
        self.assertEqual(len(changes), 3, changes)
        self.assertEqual(changes[-1]["details"]["to"], ["127.0.0.0/8"])  # oldest is last

    def test_patch_name_and_ips_together(self):
        key = self.api.create_key(self.domain)
        resp = self.api.patch(f"/admin/keys/{key['id']}", {"name": "Backend", "allowed_ips": ["127.0.0.1"]})
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["name"], "Backend")
        self.assertEqual(resp.json["allowed_ips"], ["127.0.0.1/32"])

    def test_ipv4_mapped_ipv6_entry_is_matched_as_ipv4(self):
        key = self.api.create_key(self.domain, allowed_ips=["::ffff:127.0.0.1"])
        self.assertEqual(key["allowed_ips"], ["127.0.0.1/32"])
        self.assertAccepted(self.api.inbound(key["key"], event()))

    def test_invalid_entries_are_400_naming_the_entry_and_change_nothing(self):
        cases = {
            "not an address": ("allowed_ips[1]", ["127.0.0.1", "example.com"]),
            "prefix too long": ("allowed_ips[0]", ["10.0.0.0/33"]),
            "ipv6 prefix too long": ("allowed_ips[0]", ["2001:db8::/129"]),
            "host bits set": ("allowed_ips[0]", ["10.0.0.1/8"]),
            "bad octet": ("allowed_ips[0]", ["256.1.1.1"]),
            "empty prefix": ("allowed_ips[0]", ["10.0.0.0/"]),
            "not a string": ("allowed_ips[0]", [42]),
            "not a list": ("allowed_ips", "127.0.0.1"),
            "51 entries": ("allowed_ips", [f"10.0.0.{i}" for i in range(51)]),
        }
        key = self.api.create_key(self.domain, allowed_ips=["127.0.0.1"])
        for why, (field, value) in cases.items():
            with self.subTest(why=why):
                self.assertError(self.api.post_key(self.domain, allowed_ips=value), 400, "validation_failed",
                                 field=field)
                self.assertError(self.api.patch(f"/admin/keys/{key['id']}", {"allowed_ips": value}), 400,
                                 "validation_failed", field=field)
        self.assertEqual(self.api.key(key["id"])["allowed_ips"], ["127.0.0.1/32"])
        self.assertEqual(len(self.api.list_keys(self.domain).json["keys"]), 1)

    def test_fifty_entries_are_allowed(self):
        key = self.api.create_key(self.domain, allowed_ips=[f"10.0.0.{i}" for i in range(49)] + ["127.0.0.1"])
        self.assertEqual(len(key["allowed_ips"]), 50)
        self.assertAccepted(self.api.inbound(key["key"], event()))


class AllowedIpsCliTest(ServerTestCase):

    def cli(self, *args):
        return run_cli(["keys", *args], self.server.database)

    def test_create_and_allow_ips_from_the_cli_reach_the_server(self):
        domain = self.api.create_domain("command")
        out = self.cli("create", "--domain", domain, "--name", "cli", "--allowed-ips", "192.0.2.1,10.0.0.0/8")
        self.assertEqual(out.returncode, 0, out.stderr)
        created = json.loads(out.stdout)
        self.assertEqual(created["allowed_ips"], ["192.0.2.1/32", "10.0.0.0/8"])
        poll(lambda: self.api.inbound(created["key"], event()).status == 403, timeout=5, what="key loaded")
        self.assertError(self.api.inbound(created["key"], event()), 403, "ip_not_allowed")
        out = self.cli("allow-ips", created["id"], "127.0.0.1")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["allowed_ips"], ["127.0.0.1/32"])
        poll(lambda: self.api.inbound(created["key"], event()).status == 202, timeout=5, what="CLI change")
        out = self.cli("allow-ips", created["id"])  # none: any address
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.api.key(created["id"])["allowed_ips"], [])

    def test_bad_entries_are_refused_naming_them(self):
        domain = self.api.create_domain("command")
        out = self.cli("create", "--domain", domain, "--name", "cli", "--allowed-ips", "10.0.0.0/40")
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"allowed_ips[0]", out.stderr)
        self.assertEqual(self.api.list_keys(domain).json["keys"], [])


class AllowedIpsBehindProxyTest(ServerTestCase):
    server_env = {"CC_TRUSTED_PROXIES": "127.0.0.1"}

    def test_client_address_is_resolved_through_trusted_proxies(self):
        domain = self.api.create_domain("command")
        key = self.api.create_key(domain, allowed_ips=["203.0.113.0/24"])
        self.assertAccepted(self.api.inbound(key["key"], event(), headers={"X-Forwarded-For": "203.0.113.9"}))
        self.assertError(self.api.inbound(key["key"], event(), headers={"X-Forwarded-For": "198.51.100.1"}),
                         403, "ip_not_allowed")
        # The proxy itself is not the client.
        self.assertError(self.api.inbound(key["key"], event()), 403, "ip_not_allowed")


def current_hour() -> str:
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return now.strftime("%Y-%m-%dT%H:00:00.000Z")


class UsageTest(ServerTestCase):

    def setUp(self):
        self.domain, self.created = self.api.new_key("command")
        self.key = self.created["key"]

    def usage(self, query="hours=48"):
        return self.api.get(f"/admin/keys/{self.created['id']}/usage?{query}")

    def test_counts_each_outcome_within_two_seconds(self):
        repeated = event()
        self.assertAccepted(self.api.inbound(self.key, repeated))
        self.assertAccepted(self.api.inbound(self.key, event()))
        self.assertStatus(self.api.inbound(self.key, repeated), 200)  # duplicate
        self.assertError(self.api.inbound(self.key, {"event": "lead"}), 400, "validation_failed")  # rejected
        self.assertError(self.api.inbound(self.key, event(), headers={"Origin": "https://x.example"}),
                         403, "browser_request_refused")  # auth_failed
        batch = self.api.inbound(self.key, {"events": [event(), {"event": "lead"}]}, batch=True)
        self.assertStatus(batch, 200)
        started = time.monotonic()
        want = {"accepted": 3, "duplicate": 1, "rejected": 2, "auth_failed": 1}

        def counted():
            resp = self.usage("hours=1")
            self.assertStatus(resp, 200)
            last = resp.json["hours"][-1]
            return last if {k: last[k] for k in want} == want else None
        last = poll(counted, timeout=5, what="usage counts")
        self.assertLess(time.monotonic() - started, 2.5)
        self.assertEqual(last["hour"], current_hour())

    def test_revoked_and_ip_refusals_count_as_auth_failed(self):
        self.api.patch(f"/admin/keys/{self.created['id']}", {"allowed_ips": ["192.0.2.0/24"]})
        self.assertError(self.api.inbound(self.key, event()), 403, "ip_not_allowed")
        self.api.revoke(self.created["id"])
        self.assertError(self.api.inbound(self.key, event()), 401, "revoked_api_key")
        poll(lambda: self.usage("hours=1").json["hours"][-1]["auth_failed"] == 2, timeout=5, what="auth_failed")

    def test_window_has_one_entry_per_hour_oldest_first(self):
        resp = self.usage()
        self.assertStatus(resp, 200)
        self.assertEqual(set(resp.json), {"key_id", "hours"})
        self.assertEqual(resp.json["key_id"], self.created["id"])
        hours = resp.json["hours"]
        self.assertEqual(len(hours), 48)
        for entry in hours:
            self.assertEqual(set(entry), {"hour", "accepted", "duplicate", "rejected", "auth_failed"})
            self.assertTime(entry["hour"])
        stamps = [datetime.strptime(h["hour"], "%Y-%m-%dT%H:%M:%S.000Z") for h in hours]
        for a, b in zip(stamps, stamps[1:]):
            self.assertEqual((b - a).total_seconds(), 3600)
        self.assertEqual(hours[-1]["hour"], current_hour())
        self.assertEqual(len(self.usage("hours=720").json["hours"]), 720)
        self.assertEqual(len(self.api.get(f"/admin/keys/{self.created['id']}/usage").json["hours"]), 48)

    def test_bad_hours_are_400(self):
        for query in ("hours=0", "hours=721", "hours=abc", "hours=", "hours=1.5", "hours=-3"):
            with self.subTest(query=query):
                self.assertError(self.usage(query), 400, "validation_failed", field="hours")
        self.assertError(self.usage("hours=5&bogus=1"), 400, "validation_failed", field="bogus")

    def test_unknown_key_is_404(self):
        self.assertError(self.api.get("/admin/keys/key_doesnotexist/usage"), 404, "key_not_found")

    def test_requires_admin_token(self):
        self.assertError(self.api.get(f"/admin/keys/{self.created['id']}/usage", token=None), 401, "unauthorized")


class RejectionsTest(ServerTestCase):

    def setUp(self):
        self.domain, self.created = self.api.new_key("command")
        self.key = self.created["key"]

    def rejections(self, query):
        return self.api.get(f"/admin/rejections?{query}")

    def wait_for(self, request_id):
        def found():
            resp = self.rejections(f"request_id={request_id}")
            self.assertStatus(resp, 200)
            return resp.json["rejections"] or None
        return poll(found, timeout=5, what=f"rejection {request_id}")

    def test_a_refused_event_is_found_by_its_request_id_without_its_values(self):
        request_id = "support-" + uuid.uuid4().hex
        resp = self.api.inbound(self.key, event(value="12.5", currency="QQQ", email="secret-person@example.org"),
                                headers={"X-Request-Id": request_id})
        self.assertError(resp, 400, "validation_failed", field="currency")
        [row] = self.wait_for(request_id)
        self.assertEqual(row["request_id"], request_id)
        self.assertEqual(row["key_id"], self.created["id"])
        self.assertEqual(row["key_prefix"], self.created["prefix"])
        self.assertEqual(row["domain"], self.domain)
        self.assertEqual(row["status"], 400)
        self.assertEqual(row["code"], "validation_failed")
        self.assertIn("currency", [d["field"] for d in row["details"]])
        self.assertEqual(row["client_ip"], "127.0.0.1")
        self.assertRecent(row["at"])
        text = json.dumps(row)
        self.assertNotIn("QQQ", text)
        self.assertNotIn("secret-person", text)
        self.assertNotIn(self.key, text)

    def test_each_refusal_after_identification_is_logged_newest_first(self):
        sent = []

        def send(body, status, code, **kw):
            rid = unique_id("rq")
            self.assertError(self.api.inbound(self.key, body, headers={"X-Request-Id": rid, **kw.pop("headers", {})},
                                              **kw), status, code)
            sent.append((rid, status, code))
        send("{not json", 400, "invalid_json", content_type="application/json")
        send("x", 415, "unsupported_media_type", content_type="text/plain")
        send(event(), 403, "browser_request_refused", headers={"Origin": "https://x.example"})
        self.api.revoke(self.created["id"])
        send(event(), 401, "revoked_api_key")
        # Not identified: never logged.
        self.assertError(self.api.inbound(forge_key(), event(), headers={"X-Request-Id": "unknown-key-rq"}),
                         401, "invalid_api_key")
        self.wait_for(sent[-1][0])
        rows = self.rejections(f"domain={self.domain}").json["rejections"]
        got = [(r["request_id"], r["status"], r["code"]) for r in rows]
        self.assertEqual(got, list(reversed(sent)))
        self.assertEqual(self.rejections("request_id=unknown-key-rq").json["rejections"], [])

    def test_cursor_paging(self):
        for _ in range(3):
            self.assertError(self.api.inbound(self.key, {"event": "lead"}), 400, "validation_failed")
        poll(lambda: len(self.rejections(f"domain={self.domain}").json["rejections"]) == 3, timeout=5, what="3 rows")
        first = self.rejections(f"domain={self.domain}&limit=2").json
        self.assertEqual(len(first["rejections"]), 2)
        self.assertIsInstance(first["next"], str)
        second = self.rejections(f"domain={self.domain}&limit=2&before={first['next']}").json
        self.assertEqual(len(second["rejections"]), 1)
        self.assertIsNone(second["next"])
        ids = [r["request_id"] for r in first["rejections"] + second["rejections"]]
        self.assertEqual(len(set(ids)), 3)

    def test_at_most_1000_are_kept_per_domain(self):
        conn = self.api.connection()
        self.addCleanup(conn.close)
        last = None
        for i in range(1005):
            last = f"cap-{i}-{uuid.uuid4().hex[:8]}"
            resp = self.api.inbound(self.key, {"event": "lead"}, headers={"X-Request-Id": last}, conn=conn)
            self.assertStatus(resp, 400)
        self.wait_for(last)
        seen, before = [], None
        while True:
            query = f"domain={self.domain}&limit=500" + (f"&before={before}" if before else "")
            page = self.rejections(query).json
            seen += page["rejections"]
            before = page["next"]
            if not before:
                break
        self.assertEqual(len(seen), 1000)
        self.assertEqual(seen[0]["request_id"], last)

    def test_bad_queries(self):
        self.assertError(self.rejections(f"domain={self.domain}&limit=0"), 400, "validation_failed", field="limit")
        self.assertError(self.rejections(f"domain={self.domain}&before=x"), 400, "validation_failed", field="before")
        self.assertError(self.rejections(f"domain={self.domain}&color=red"), 400, "validation_failed", field="color")
        self.assertError(self.rejections(""), 400, "validation_failed", field="domain")
        self.assertError(self.rejections("domain=unknown-" + uuid.uuid4().hex[:8] + ".example"), 404,
                         "domain_not_found")
        self.assertStatus(self.rejections(f"domain={self.domain.upper()}"), 200)


def openssl(*args, **kw):
    return subprocess.run(["openssl", *args], check=True, capture_output=True, **kw)


class LeakKeys:
    """An ECDSA P-256 key pair made with the openssl CLI, and its GitHub-style keys file."""

    def __init__(self, directory, name):
        self.private = os.path.join(directory, f"{name}.pem")
        self.public = os.path.join(directory, f"{name}.pub.pem")
        self.identifier = uuid.uuid4().hex
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", self.private)
        openssl("ec", "-in", self.private, "-pubout", "-out", self.public)
        with open(self.public) as f:
            self.pem = f.read()

    def sign(self, body: bytes) -> str:
        path = self.private + ".body"
        with open(path, "wb") as f:
            f.write(body)
        der = openssl("dgst", "-sha256", "-sign", self.private, path).stdout
        return base64.b64encode(der).decode()

    def entry(self):
        return {"key_identifier": self.identifier, "key": self.pem, "is_current": True}


def write_keys_file(path, *pairs):
    with open(path + ".tmp", "w") as f:
        json.dump({"public_keys": [p.entry() for p in pairs]}, f)
    os.replace(path + ".tmp", path)


class LeakReportTest(ServerTestCase):
    share_server = False

    @classmethod
    def setUpClass(cls):
        cls.keydir = tempfile.mkdtemp(prefix="cc-leak-")
        cls.addClassCleanup(shutil.rmtree, cls.keydir, True)
        cls.github = LeakKeys(cls.keydir, "github")
        cls.keys_file = os.path.join(cls.keydir, "keys.json")
        write_keys_file(cls.keys_file, cls.github)
        cls.server_env = {"CC_LEAK_REPORT_KEYS_FILE": cls.keys_file}
        super().setUpClass()

    def report(self, alerts, *, signer=None, body=None, headers=None):
        raw = body if body is not None else json.dumps(alerts).encode()
        signer = signer or self.github
        sent = {"Github-Public-Key-Identifier": signer.identifier,
                "Github-Public-Key-Signature": signer.sign(raw)}
        sent.update(headers or {})
        return self.api.post("/__cc/leaks", raw, token=None, headers=sent)

    def test_reported_active_key_is_revoked_and_others_are_false_positives(self):
        domain, created = self.api.new_key("command")
        key = created["key"]
        self.assertAccepted(self.api.inbound(key, event()))
        unknown = forge_key()
        url = "https://github.com/acme/site/blob/abc/config.js"
        alerts = [{"token": key, "type": "cleanclicks_inbound_key", "url": url, "source": "content"},
                  {"token": unknown, "type": "cleanclicks_inbound_key", "url": url, "source": "content"},
                  {"token": "cc_not-a-key", "type": "cleanclicks_inbound_key", "url": url, "source": "commit"}]
        resp = self.report(alerts)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json, [
            {"token_raw": key, "token_type": "cleanclicks_inbound_key", "label": "true_positive"},
            {"token_raw": unknown, "token_type": "cleanclicks_inbound_key", "label": "false_positive"},
            {"token_raw": "cc_not-a-key", "token_type": "cleanclicks_inbound_key", "label": "false_positive"}])
        self.assertEqual(self.api.key(created["id"])["status"], "revoked")
        self.assertError(self.api.inbound(key, event()), 401, "revoked_api_key")
        revoked = [e for e in self.api.all_audit(domain) if e["action"] == "key.revoked"]
        self.assertEqual(len(revoked), 1, revoked)
        self.assertEqual(revoked[0]["details"]["reason"], "leaked")
        self.assertEqual(revoked[0]["details"]["url"], url)
        self.assertNotIn(key, self.server.log_text())
        # Reported again: still ours, nothing more happens.
        again = self.report(alerts[:1])
        self.assertEqual(again.json[0]["label"], "true_positive")
        self.assertEqual(len([e for e in self.api.all_audit(domain) if e["action"] == "key.revoked"]), 1)

    def test_bad_signatures_are_401_and_change_nothing(self):
        domain, created = self.api.new_key("command")
        alerts = [{"token": created["key"], "type": "t", "url": "u", "source": "content"}]
        raw = json.dumps(alerts).encode()
        other = LeakKeys(self.keydir, "other-" + uuid.uuid4().hex[:6])
        cases = {
            "missing both headers": self.api.post("/__cc/leaks", raw, token=None),
            "missing signature": self.api.post("/__cc/leaks", raw, token=None,
                                               headers={"Github-Public-Key-Identifier": self.github.identifier}),
            "signature over other bytes": self.api.post("/__cc/leaks", raw, token=None, headers={
                "Github-Public-Key-Identifier": self.github.identifier,
                "Github-Public-Key-Signature": self.github.sign(raw + b" ")}),
            "unknown key identifier": self.report(alerts, signer=other),
            "signed by another key": self.api.post("/__cc/leaks", raw, token=None, headers={
                "Github-Public-Key-Identifier": self.github.identifier,
                "Github-Public-Key-Signature": other.sign(raw)}),
            "not base64": self.api.post("/__cc/leaks", raw, token=None, headers={
                "Github-Public-Key-Identifier": self.github.identifier,
                "Github-Public-Key-Signature": "!!!"}),
        }
        for why, resp in cases.items():
            with self.subTest(why=why):
                self.assertError(resp, 401, "invalid_signature")
        self.assertEqual(self.api.key(created["id"])["status"], "active")

    def test_bad_bodies_are_400(self):
        self.assertError(self.report(None, body=b'{"token": "x"}'), 400, "validation_failed")
        self.assertError(self.report(None, body=b"not json"), 400, "invalid_json")
        self.assertError(self.report([{"type": "x"}]), 400, "validation_failed", field="[0].token")
        too_many = [{"token": forge_key(), "type": "t", "url": "u", "source": "content"} for _ in range(1001)]
        self.assertError(self.report(too_many), 400, "validation_failed")
        thousand = too_many[:1000]
        resp = self.report(thousand)
        self.assertStatus(resp, 200)
        self.assertEqual(len(resp.json), 1000)

    def test_keys_file_is_reloaded_on_sighup(self):
        newer = LeakKeys(self.keydir, "newer-" + uuid.uuid4().hex[:6])
        alerts = [{"token": forge_key(), "type": "t", "url": "u", "source": "content"}]
        self.assertError(self.report(alerts, signer=newer), 401, "invalid_signature")
        write_keys_file(self.keys_file, self.github, newer)
        self.server.proc.send_signal(signal.SIGHUP)
        poll(lambda: self.report(alerts, signer=newer).status == 200, timeout=5, what="reloaded keys")
        self.assertStatus(self.report(alerts), 200)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PAGE = """<!doctype html><html><body>waiting<script>
fetch(%(url)s, {method: "POST", headers: {"X-CC-Api-Key": %(key)s, "Content-Type": "application/json"},
                body: JSON.stringify({"event": "lead", "email": "browser@example.org"})})
  .then(r => r.text().then(t => { document.body.textContent = "status:" + r.status + " " + t; }))
  .catch(e => { document.body.textContent = "failed:" + e; });
</script></body></html>"""


@unittest.skipUnless(CHROMIUM, "chromium is not installed")
class RealBrowserTest(ServerTestCase):
    """Headless Chromium calling the inbound endpoint from a page on another origin."""

    def setUp(self):
        import http.server
        import threading
        self.domain, self.created = self.api.new_key("command")
        page = (PAGE % {"url": json.dumps(f"http://127.0.0.1:{self.port}{INBOUND}"),
                        "key": json.dumps(self.created["key"])}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass
        self.site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.site.serve_forever, daemon=True).start()
        self.addCleanup(self.site.server_close)
        self.addCleanup(self.site.shutdown)
        self.origin = f"http://127.0.0.1:{self.site.server_address[1]}"
        self.profile = tempfile.mkdtemp(prefix="cc-chromium-")
        self.addCleanup(shutil.rmtree, self.profile, True)

    def browse(self, *flags):
        out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              f"--user-data-dir={self.profile}", "--virtual-time-budget=15000", *flags,
                              "--dump-dom", self.origin + "/page.html"],
                             capture_output=True, text=True, timeout=120)
        return out.stdout

    def test_cross_origin_fetch_is_blocked_at_the_preflight(self):
        dom = self.browse()
        self.assertIn("failed:", dom)
        key = self.api.key(self.created["id"])
        self.assertIsNone(key["exposed_at"])  # the key never reached us
        self.assertEqual(self.api.all_events(self.domain), [])

    def test_browser_without_cors_protection_is_refused_and_key_marked_exposed(self):
        # With web security off the browser skips CORS and sends the POST itself, with the
        # fetch metadata every browser adds (Sec-Fetch-Site, and a Referer).
        dom = self.browse("--disable-web-security")
        self.assertIn("status:403", dom)
        self.assertIn("browser_request_refused", dom)
        key = self.api.key(self.created["id"])
        self.assertRecent(key["exposed_at"])
        self.assertEqual(key["exposed_origin"], self.origin)
        self.assertEqual(self.api.all_events(self.domain), [])


class LeakRouteAbsentTest(ServerTestCase):

    def test_without_the_setting_the_route_is_404(self):
        resp = self.api.post("/__cc/leaks", b"[]", token=None, headers={
            "Github-Public-Key-Identifier": "x", "Github-Public-Key-Signature": "eA=="})
        self.assertError(resp, 404, "not_found")


if __name__ == "__main__":
    unittest.main()
