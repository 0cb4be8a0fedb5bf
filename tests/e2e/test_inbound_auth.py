"""Inbound endpoint: API key authentication, domain_mismatch via Host, the order of the
checks, immediate revocation, last-used tracking and rate limiting."""

import time
import unittest

from harness import (BATCH, INBOUND, BASE62, RawConnection, ServerTestCase, build_request,
                     forge_key, parse_time, poll, utcnow)

EVENT = {"event": "lead", "email": "lead@example.org"}


class InboundAuthTest(ServerTestCase):

    def setUp(self):
        self.domain, self.created = self.api.new_key("command")
        self.key = self.created["key"]

    def test_valid_key_is_accepted(self):
        self.assertAccepted(self.api.inbound(self.key, EVENT))

    def test_header_name_is_case_insensitive(self):
        resp = self.api.inbound(None, EVENT, headers={"x-cc-api-key": self.key})
        self.assertAccepted(resp)

    def test_missing_key_is_401(self):
        for batch in (False, True):
            with self.subTest(batch=batch):
                body = {"events": [EVENT]} if batch else EVENT
                self.assertError(self.api.inbound(None, body, batch=batch), 401, "missing_api_key")

    def test_malformed_keys_are_401_invalid(self):
        key = self.key
        malformed = {
            "short": "abc",
            "prefix only": "cc_",
            "one char short": key[:-1],
            "one char long": key + "0",
            "upper-case prefix": "CC_" + key[3:],
            "other prefix": "ck_" + key[3:],
            "non-base62 char": key[:10] + "-" + key[11:],
            "whitespace inside": key[:20] + " " + key[21:],
        }
        for why, value in malformed.items():
            with self.subTest(why=why):
                self.assertError(self.api.inbound(value, EVENT), 401, "invalid_api_key")

    def test_bad_checksum_is_401_invalid(self):
        last = self.key[-1]
        bad = self.key[:-1] + BASE62[(BASE62.index(last) + 1) % 62]
        self.assertError(self.api.inbound(bad, EVENT), 401, "invalid_api_key")
        flipped = self.key[:3] + ("A" if self.key[3] != "A" else "B") + self.key[4:]
        self.assertError(self.api.inbound(flipped, EVENT), 401, "invalid_api_key")

    def test_unknown_key_with_valid_checksum_is_401_invalid(self):
        self.assertError(self.api.inbound(forge_key(), EVENT), 401, "invalid_api_key")
        self.assertError(self.api.inbound(forge_key(), {"events": [EVENT]}, batch=True),
                         401, "invalid_api_key")

    def test_key_in_query_string_is_never_accepted(self):
        for param in ("api_key", "key", "x-cc-api-key", "X-CC-Api-Key"):
            for path in (INBOUND, BATCH):
                with self.subTest(param=param, path=path):
                    body = {"events": [EVENT]} if path == BATCH else EVENT
                    resp = self.api.inbound(None, body, path=f"{path}?{param}={self.key}")
                    err = self.assertError(resp, 401, "missing_api_key")
                    self.assertNotIn(self.key, resp.text)
                    self.assertTrue(err["message"])
        self.assertEqual(self.api.all_events(self.domain), [])

    def test_revoked_key_is_401_and_names_its_prefix(self):
        self.api.revoke(self.created["id"])
        err = self.assertError(self.api.inbound(self.key, EVENT), 401, "revoked_api_key")
        self.assertIn(self.created["prefix"], err["message"])
        self.assertNotIn(self.key, err["message"])

    def test_revocation_takes_effect_on_the_very_next_request(self):
        conn = self.api.connection()
        try:
            self.assertAccepted(self.api.inbound(self.key, EVENT, conn=conn))
            self.assertStatus(self.api.revoke(self.created["id"]), 200)
            self.assertError(self.api.inbound(self.key, EVENT, conn=conn), 401, "revoked_api_key")
            self.assertStatus(self.api.restore(self.created["id"]), 200)
            self.assertAccepted(self.api.inbound(self.key, EVENT, conn=conn))
        finally:
            conn.close()

    def test_deletion_takes_effect_on_the_very_next_request(self):
        conn = self.api.connection()
        try:
            self.assertAccepted(self.api.inbound(self.key, EVENT, conn=conn))
            self.assertStatus(self.api.delete_key(self.created["id"]), 204)
            self.assertError(self.api.inbound(self.key, EVENT, conn=conn), 401, "invalid_api_key")
        finally:
            conn.close()

    def test_rolled_key_with_zero_grace_is_401_expired(self):
        new = self.api.roll(self.created["id"], {"grace_seconds": 0}).json
        self.assertError(self.api.inbound(self.key, EVENT), 401, "expired_api_key")
        self.assertAccepted(self.api.inbound(new["key"], EVENT))

    def test_last_used_is_visible_within_2_seconds(self):
        self.assertIsNone(self.api.key(self.created["id"])["last_used_at"])
        before = utcnow()
        self.assertAccepted(self.api.inbound(self.key, EVENT))
        first = self.wait_last_used_change(None)
        # A flush has just happened: a use now waits for the whole flush period, the worst
        # case, instead of whatever part of it was left.
        self.assertAccepted(self.api.inbound(self.key, EVENT))
        key = self.wait_last_used_change(first["last_used_at"])
        used = parse_time(key["last_used_at"])
        self.assertGreaterEqual((used - before).total_seconds(), -1)
        self.assertLessEqual((used - utcnow()).total_seconds(), 1)
        self.assertEqual(key["last_used_ip"], "127.0.0.1")

    def wait_last_used_change(self, old):
        """Poll until last_used_at differs from `old`; fails if a poll that still saw `old`
        was sent more than 2 s after the use was answered (then the server showed a stale
        value later than the SPEC allows, however slow the machine)."""
        answered = time.monotonic()
        stale_at = []

        def changed():
            asked = time.monotonic()
            key = self.api.key(self.created["id"])
            if key["last_used_at"] == old:
                stale_at.append(asked - answered)
                return None
            return key

        key = poll(changed, 10, interval=0.05, what="last_used_at to change")
        late = [round(t, 2) for t in stale_at if t > 2.0]
        self.assertEqual(late, [], "last_used_at still stale this many seconds after the use")
        return key


class DomainMismatchTest(ServerTestCase):
    """403 when Host is a registered domain D (or cleanclicks.D) other than the key's."""

    def setUp(self):
        self.mine, created = self.api.new_key("command")
        self.key = created["key"]
        self.other = self.api.create_domain("pulse")

    def send(self, host, key=None, **kw):
        return self.api.inbound(key or self.key, EVENT, host=host, **kw)

    def test_host_of_another_registered_domain_is_403(self):
        self.assertError(self.send(self.other), 403, "domain_mismatch")

    def test_cleanclicks_host_of_another_registered_domain_is_403(self):
        self.assertError(self.send(f"cleanclicks.{self.other}"), 403, "domain_mismatch")

    def test_host_with_port_and_any_case_is_matched(self):
        for host in (f"{self.other}:443", self.other.upper(), f"CleanClicks.{self.other}:8080"):
            with self.subTest(host=host):
                self.assertError(self.send(host), 403, "domain_mismatch")

    def test_batch_is_checked_too(self):
        resp = self.api.inbound(self.key, {"events": [EVENT]}, batch=True, host=self.other)
        self.assertError(resp, 403, "domain_mismatch")

    def test_own_domain_is_accepted(self):
        for host in (self.mine, f"cleanclicks.{self.mine}", f"{self.mine}:443"):
            with self.subTest(host=host):
                self.assertAccepted(self.send(host))

    def test_unregistered_hosts_are_accepted(self):
        for host in ("ingest.cleanclicks.example", f"127.0.0.1:{self.port}", "localhost",
                     f"www.{self.other}", f"cleanclicks.{self.other}.evil.example"):
            with self.subTest(host=host):
                self.assertAccepted(self.send(host))

    def test_nothing_is_stored_on_mismatch(self):
        self.send(self.other)
        self.assertEqual(self.api.all_events(self.mine), [])
        self.assertEqual(self.api.all_events(self.other), [])


class CheckOrderTest(ServerTestCase):
    """413 (headers) → 401 → 403 → 429 → 415 → 400 JSON → 400 validation."""

    def setUp(self):
        self.mine, created = self.api.new_key("command")
        self.key = created["key"]
        self.other = self.api.create_domain("pulse")

    def test_size_is_checked_before_auth(self):
        data = build_request("POST", INBOUND, {"Content-Type": "text/plain",
                                               "Host": self.other, "Content-Length": "40000000"})
        with RawConnection(self.port) as conn:
            conn.send(data)
            self.assertError(conn.read_response(timeout=10), 413, "payload_too_large")

    def test_auth_is_checked_before_domain_and_content_type(self):
        resp = self.api.inbound(None, "not json", host=self.other, content_type="text/plain")
        self.assertError(resp, 401, "missing_api_key")
        resp = self.api.inbound(forge_key(), "not json", host=self.other, content_type="text/plain")
        self.assertError(resp, 401, "invalid_api_key")

    def test_domain_is_checked_before_content_type(self):
        resp = self.api.inbound(self.key, "not json", host=self.other, content_type="text/plain")
        self.assertError(resp, 403, "domain_mismatch")

    def test_content_type_is_checked_before_json(self):
        resp = self.api.inbound(self.key, "{not json", content_type="text/plain")
        self.assertError(resp, 415, "unsupported_media_type")

    def test_json_is_checked_before_validation(self):
        self.assertError(self.api.inbound(self.key, '{"event": '), 400, "invalid_json")
        self.assertError(self.api.inbound(self.key, {"event": ""}), 400, "validation_failed",
                         field="event")


class RateLimitTest(ServerTestCase):

    # A burst of 3 and one token every 4 s: the three requests that empty the bucket have
    # 4 s (not 1 s) before a refill could let the fourth through on a slow machine.
    server_env = {"CC_RATE_LIMIT_PULSE": "0.25:3"}

    def setUp(self):
        self.domain, created = self.api.new_key("pulse")
        self.key = created["key"]

    def exhaust(self, conn):
        for _ in range(3):
            self.assertAccepted(self.api.inbound(self.key, EVENT, conn=conn))

    def assertRateLimited(self, resp):
        self.assertError(resp, 429, "rate_limited")
        retry = resp.headers.get("Retry-After")
        self.assertIsNotNone(retry)
        self.assertRegex(retry, r"^\d+$")
        self.assertGreaterEqual(int(retry), 1)
        return int(retry)

    def test_fourth_request_in_a_second_is_429_with_retry_after(self):
        conn = self.api.connection()
        try:
            self.exhaust(conn)
            self.assertRateLimited(self.api.inbound(self.key, EVENT, conn=conn))
        finally:
            conn.close()
        self.assertEqual(len(self.api.all_events(self.domain)), 3)

    def test_rate_limit_is_checked_before_content_type(self):
        conn = self.api.connection()
        try:
            self.exhaust(conn)
            resp = self.api.inbound(self.key, "x", content_type="text/plain", conn=conn)
            self.assertRateLimited(resp)
        finally:
            conn.close()

    def test_key_recovers_after_retry_after(self):
        conn = self.api.connection()
        try:
            self.exhaust(conn)
            retry = self.assertRateLimited(self.api.inbound(self.key, EVENT, conn=conn))
        finally:
            conn.close()
        resp = poll(lambda: (r := self.api.inbound(self.key, EVENT)).status == 202 and r,
                    retry + 3, interval=0.25, what="the bucket to refill")
        self.assertAccepted(resp)

    def test_limit_is_per_key(self):
        other = self.api.create_key(self.domain, "second")["key"]
        conn = self.api.connection()
        try:
            self.exhaust(conn)
            self.assertRateLimited(self.api.inbound(self.key, EVENT, conn=conn))
            self.assertAccepted(self.api.inbound(other, EVENT, conn=conn))
        finally:
            conn.close()

    def test_other_plans_have_their_own_limits(self):
        _, created = self.api.new_key("command")
        conn = self.api.connection()
        try:
            for _ in range(6):
                self.assertAccepted(self.api.inbound(created["key"], EVENT, conn=conn))
        finally:
            conn.close()


if __name__ == "__main__":
    unittest.main()
