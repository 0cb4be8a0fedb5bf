"""Admin API: inbound keys (create, format, list, get, revoke, restore, delete, rename,
roll, expiry) and the rule that a full key is shown exactly once."""

import unittest
from datetime import timedelta

from harness import (KEY_FIELDS, KEY_LIST_FIELDS, KEY_RE, ServerTestCase, key_checksum_ok, parallel,
                     parse_time, poll, rfc3339, sha256_hex, unique_domain, utcnow)

EVENT = {"event": "lead", "click_id": "gclid-123"}


class KeyCreateTest(ServerTestCase):

    def setUp(self):
        self.domain = self.api.create_domain("command")

    def test_create_returns_the_key_object_and_the_full_key(self):
        resp = self.api.post_key(self.domain, "Zapier Integration")
        self.assertStatus(resp, 201)
        key = resp.json
        self.assertKeyObject(key, with_key=True)
        self.assertEqual(key["domain"], self.domain)
        self.assertEqual(key["name"], "Zapier Integration")
        self.assertEqual(key["status"], "active")
        self.assertEqual(key["prefix"], key["key"][:11])
        self.assertRecent(key["created_at"])
        for field in ("last_used_at", "last_used_ip", "revoked_at", "expires_at"):
            self.assertIsNone(key[field], field)
        self.assertNotIn(key["key"][3:], key["id"])
        self.assertNotIn(sha256_hex(key["key"]), key["id"])
        self.assertStatus(self.api.inbound(key["key"], EVENT), 202)

    def test_keys_have_the_documented_format_and_checksum(self):
        keys = [self.api.create_key(self.domain, f"k{i}") for i in range(6)]
        for key in keys:
            self.assertEqual(len(key["key"]), 41)
            self.assertRegex(key["key"], KEY_RE)
            self.assertTrue(key_checksum_ok(key["key"]), f"bad CRC32 checksum in {key['key']}")
        self.assertEqual(len({k["key"] for k in keys}), len(keys))
        self.assertEqual(len({k["id"] for k in keys}), len(keys))

    def test_name_is_trimmed(self):
        key = self.api.create_key(self.domain, "   Zapier Integration \t ")
        self.assertEqual(key["name"], "Zapier Integration")
        self.assertEqual(self.api.key(key["id"])["name"], "Zapier Integration")

    def test_name_of_100_characters_is_accepted(self):
        name = "n" * 100
        self.assertEqual(self.api.create_key(self.domain, f"  {name}  ")["name"], name)

    def test_invalid_names_are_rejected(self):
        for name in ("", "    ", "n" * 101, 42, None, ["a"]):
            with self.subTest(name=name):
                self.assertError(self.api.post_key(self.domain, name), 400, "validation_failed",
                                 field="name")
        self.assertEqual(self.api.list_keys(self.domain).json["keys"], [])

    def test_missing_name_is_rejected(self):
        resp = self.api.post("/admin/keys", {"domain": self.domain})
        self.assertError(resp, 400, "validation_failed", field="name")

    def test_missing_domain_is_rejected(self):
        resp = self.api.post("/admin/keys", {"name": "x"})
        self.assertError(resp, 400, "validation_failed", field="domain")

    def test_unknown_domain_is_404(self):
        self.assertError(self.api.post_key(unique_domain(), "x"), 404, "domain_not_found")

    def test_unknown_body_field_is_rejected_by_name(self):
        resp = self.api.post("/admin/keys", {"domain": self.domain, "name": "x", "scope": "all"})
        self.assertError(resp, 400, "validation_failed", field="scope")

    def test_malformed_json_is_invalid_json(self):
        self.assertError(self.api.post("/admin/keys", '{"domain": "x", '), 400, "invalid_json")

    def test_body_that_is_not_an_object_is_rejected(self):
        for body in (f'["{self.domain}", "x"]', '"x"', "null"):
            with self.subTest(body=body):
                self.assertError(self.api.post("/admin/keys", body), 400, "validation_failed")

    def test_future_expires_at_is_kept(self):
        expires = rfc3339(utcnow() + timedelta(days=1))
        key = self.api.create_key(self.domain, "temp", expires_at=expires)
        self.assertEqual(key["expires_at"], expires)
        self.assertEqual(key["status"], "active")
        self.assertEqual(self.api.key(key["id"])["expires_at"], expires)

    def test_expires_at_in_the_past_is_rejected(self):
        past = rfc3339(utcnow() - timedelta(minutes=1))
        resp = self.api.post_key(self.domain, "old", expires_at=past)
        self.assertError(resp, 400, "validation_failed", field="expires_at")
        self.assertEqual(self.api.list_keys(self.domain).json["keys"], [])

    def test_expires_at_that_is_not_rfc3339_is_rejected(self):
        for value in ("tomorrow", "2030-13-01T00:00:00Z", 12345):
            with self.subTest(value=value):
                resp = self.api.post_key(self.domain, "x", expires_at=value)
                self.assertError(resp, 400, "validation_failed", field="expires_at")


class KeyReadTest(ServerTestCase):

    def test_list_requires_a_domain(self):
        self.assertError(self.api.get("/admin/keys"), 400, "validation_failed", field="domain")

    def test_list_of_unknown_domain_is_404(self):
        self.assertError(self.api.list_keys(unique_domain()), 404, "domain_not_found")

    def test_list_shape_and_newest_first(self):
        domain = self.api.create_domain("signal")
        created = [self.api.create_key(domain, f"key {i}") for i in range(3)]
        resp = self.api.list_keys(domain)
        self.assertStatus(resp, 200)
        self.assertEqual(set(resp.json), KEY_LIST_FIELDS)
        self.assertEqual(resp.json["domain"], domain)
        self.assertEqual(resp.json["plan"], "signal")
        self.assertEqual(resp.json["key_limit"], 5)
        self.assertEqual(resp.json["active_keys"], 3)
        self.assertEqual([k["id"] for k in resp.json["keys"]], [k["id"] for k in reversed(created)])
        for item, original in zip(resp.json["keys"], reversed(created)):
            self.assertKeyObject(item)  # exactly the key fields: no "key"
            self.assertEqual(item, {f: original[f] for f in KEY_FIELDS})

    def test_list_contains_only_that_domains_keys(self):
        mine = self.api.create_domain("pulse")
        other = self.api.create_domain("pulse")
        key = self.api.create_key(mine)
        self.api.create_key(other)
        self.assertEqual([k["id"] for k in self.api.list_keys(mine).json["keys"]], [key["id"]])

    def test_get_key_by_id(self):
        domain = self.api.create_domain("pulse")
        created = self.api.create_key(domain, "reader")
        resp = self.api.get_key(created["id"])
        self.assertStatus(resp, 200)
        self.assertKeyObject(resp.json)
        self.assertEqual(resp.json, {f: created[f] for f in KEY_FIELDS})

    def test_get_unknown_key_is_404(self):
        for key_id in ("key_doesNotExist123", "nonsense"):
            with self.subTest(key_id=key_id):
                self.assertError(self.api.get_key(key_id), 404, "key_not_found")


class KeyLifecycleTest(ServerTestCase):

    def setUp(self):
        self.domain = self.api.create_domain("signal")
        self.key = self.api.create_key(self.domain, "lifecycle")

    def test_revoke_marks_the_key_revoked(self):
        resp = self.api.revoke(self.key["id"])
        self.assertStatus(resp, 200)
        self.assertKeyObject(resp.json)
        self.assertEqual(resp.json["status"], "revoked")
        self.assertRecent(resp.json["revoked_at"])
        self.assertEqual(resp.json["id"], self.key["id"])
        self.assertEqual(self.api.key(self.key["id"])["status"], "revoked")

    def test_revoking_a_revoked_key_is_a_no_op(self):
        first = self.api.revoke(self.key["id"]).json
        again = self.api.revoke(self.key["id"])
        self.assertStatus(again, 200)
        self.assertEqual(again.json, first)

    def test_revoked_key_is_refused_with_its_prefix(self):
        self.api.revoke(self.key["id"])
        err = self.assertError(self.api.inbound(self.key["key"], EVENT), 401, "revoked_api_key")
        self.assertIn(self.key["prefix"], err["message"])
        self.assertNotIn(self.key["key"], err["message"])

    def test_restore_makes_the_same_key_work_again(self):
        self.api.revoke(self.key["id"])
        resp = self.api.restore(self.key["id"])
        self.assertStatus(resp, 200)
        self.assertKeyObject(resp.json)
        self.assertEqual(resp.json["status"], "active")
        self.assertIsNone(resp.json["revoked_at"])
        self.assertStatus(self.api.inbound(self.key["key"], EVENT), 202)

    def test_delete_is_permanent(self):
        resp = self.api.delete_key(self.key["id"])
        self.assertStatus(resp, 204)
        self.assertEqual(resp.body, b"")
        self.assertError(self.api.get_key(self.key["id"]), 404, "key_not_found")
        self.assertError(self.api.inbound(self.key["key"], EVENT), 401, "invalid_api_key")
        self.assertNotIn(self.key["id"], [k["id"] for k in self.api.list_keys(self.domain).json["keys"]])
        self.assertError(self.api.delete_key(self.key["id"]), 404, "key_not_found")
        self.assertError(self.api.revoke(self.key["id"]), 404, "key_not_found")
        self.assertError(self.api.restore(self.key["id"]), 404, "key_not_found")
        self.assertError(self.api.roll(self.key["id"]), 404, "key_not_found")
        self.assertError(self.api.rename(self.key["id"], "x"), 404, "key_not_found")

    def test_delete_a_revoked_key(self):
        self.api.revoke(self.key["id"])
        self.assertStatus(self.api.delete_key(self.key["id"]), 204)
        self.assertError(self.api.inbound(self.key["key"], EVENT), 401, "invalid_api_key")

    def test_rename(self):
        resp = self.api.rename(self.key["id"], "  HubSpot sync  ")
        self.assertStatus(resp, 200)
        self.assertKeyObject(resp.json)
        self.assertEqual(resp.json["name"], "HubSpot sync")
        self.assertEqual({k: v for k, v in resp.json.items() if k != "name"},
                         {k: self.key[k] for k in KEY_FIELDS if k != "name"})
        self.assertEqual(self.api.key(self.key["id"])["name"], "HubSpot sync")

    def test_rename_rejects_invalid_names(self):
        for name in ("", "   ", "n" * 101, 7):
            with self.subTest(name=name):
                self.assertError(self.api.rename(self.key["id"], name), 400, "validation_failed",
                                 field="name")
        self.assertEqual(self.api.key(self.key["id"])["name"], "lifecycle")

    def test_rename_rejects_unknown_fields(self):
        resp = self.api.patch(f"/admin/keys/{self.key['id']}", {"name": "x", "status": "active"})
        self.assertError(resp, 400, "validation_failed", field="status")

    def test_unknown_key_operations_are_404(self):
        for call in (self.api.revoke, self.api.restore, self.api.delete_key,
                     lambda key_id: self.api.rename(key_id, "x"), self.api.roll):
            with self.subTest(call=call):
                self.assertError(call("key_unknown0001"), 404, "key_not_found")


class KeyRollTest(ServerTestCase):

    def setUp(self):
        self.domain = self.api.create_domain("signal")
        self.old = self.api.create_key(self.domain, "rolling")

    def assertGrace(self, new, seconds, old_id=None):
        old = self.api.key(old_id or self.old["id"])
        self.assertIsNotNone(old["expires_at"])
        grace = (parse_time(old["expires_at"]) - parse_time(new["created_at"])).total_seconds()
        self.assertAlmostEqual(grace, seconds, delta=10)

    def test_roll_issues_a_new_key_with_the_same_domain_and_name(self):
        resp = self.api.roll(self.old["id"], {"grace_seconds": 3600})
        self.assertStatus(resp, 201)
        new = dict(resp.json)
        self.assertKeyObject(new.pop("rolled_from"))
        self.assertKeyObject(new, with_key=True)
        self.assertNotEqual(new["id"], self.old["id"])
        self.assertNotEqual(new["key"], self.old["key"])
        self.assertEqual((new["domain"], new["name"], new["status"]), (self.domain, "rolling", "active"))
        self.assertNotIn(self.old["key"], resp.text)
        self.assertStatus(self.api.inbound(new["key"], EVENT), 202)
        self.assertGrace(new, 3600)

    def test_old_key_works_during_the_grace_period(self):
        self.api.roll(self.old["id"], {"grace_seconds": 3600})
        self.assertStatus(self.api.inbound(self.old["key"], EVENT), 202)
        self.assertEqual(self.api.key(self.old["id"])["status"], "active")

    def test_default_grace_is_one_day(self):
        for body in (None, {}):
            with self.subTest(body=body):
                old = self.api.create_key(self.domain, "default grace")
                resp = self.api.roll(old["id"], body)
                self.assertStatus(resp, 201)
                self.assertGrace(resp.json, 86400, old["id"])

    def test_zero_grace_expires_the_old_key_at_once(self):
        resp = self.api.roll(self.old["id"], {"grace_seconds": 0})
        self.assertStatus(resp, 201)
        self.assertError(self.api.inbound(self.old["key"], EVENT), 401, "expired_api_key")
        self.assertEqual(self.api.key(self.old["id"])["status"], "expired")
        self.assertStatus(self.api.inbound(resp.json["key"], EVENT), 202)

    def test_longest_grace_is_30_days(self):
        resp = self.api.roll(self.old["id"], {"grace_seconds": 2592000})
        self.assertStatus(resp, 201)
        self.assertGrace(resp.json, 2592000)

    def test_grace_out_of_range_is_rejected(self):
        for grace in (-1, 2592001, "3600"):
            with self.subTest(grace=grace):
                resp = self.api.roll(self.old["id"], {"grace_seconds": grace})
                self.assertError(resp, 400, "validation_failed", field="grace_seconds")
        self.assertIsNone(self.api.key(self.old["id"])["expires_at"])
        self.assertEqual(len(self.api.list_keys(self.domain).json["keys"]), 1)

    def test_roll_answer_carries_the_old_key_with_its_new_expiry(self):
        resp = self.api.roll(self.old["id"], {"grace_seconds": 3600})
        self.assertStatus(resp, 201)
        new = resp.json
        old = new["rolled_from"]
        self.assertKeyObject(old)
        self.assertNotIn("key", old)
        self.assertEqual(old["id"], self.old["id"])
        self.assertEqual(old["rolled_to"], new["id"])
        self.assertEqual(old["status"], "active")
        self.assertIsNone(new["rolled_to"])
        self.assertEqual(old, self.api.key(self.old["id"]))
        grace = (parse_time(old["expires_at"]) - parse_time(new["created_at"])).total_seconds()
        self.assertAlmostEqual(grace, 3600, delta=10)

    def test_every_key_object_shows_rolled_to(self):
        self.assertIsNone(self.old["rolled_to"])
        self.assertIsNone(self.api.key(self.old["id"])["rolled_to"])
        new = self.api.roll(self.old["id"], {"grace_seconds": 60}).json
        listed = {k["id"]: k for k in self.api.list_keys(self.domain).json["keys"]}
        self.assertEqual(listed[self.old["id"]]["rolled_to"], new["id"])
        self.assertIsNone(listed[new["id"]]["rolled_to"])
        self.assertEqual(self.api.revoke(self.old["id"]).json["rolled_to"], new["id"])

    def test_rolling_the_same_key_repeatedly_never_passes_the_plan_limit(self):
        # The reported bypass: a pulse domain (limit 2) with one key, the same key rolled
        # four times with a 30-day grace. Only the first roll may succeed.
        domain = self.api.create_domain("pulse")
        key = self.api.create_key(domain, "rolled")
        responses = [self.api.roll(key["id"], {"grace_seconds": 2592000}) for _ in range(4)]
        self.assertEqual([r.status for r in responses], [201, 409, 409, 409], [r.json for r in responses])
        successor = responses[0].json["id"]
        for resp in responses[1:]:
            err = self.assertError(resp, 409, "key_already_rolled")
            self.assertIn(successor, err["message"])
            self.assertNotIn("cc_", err["message"].replace(key["prefix"], ""))
        listed = self.api.list_keys(domain).json
        self.assertEqual(len(listed["keys"]), 2)
        self.assertLessEqual(listed["active_keys"], listed["key_limit"])
        self.assertEqual(self.api.get_domain(domain).json["active_keys"], 2)

    def test_concurrent_rolls_of_one_key_succeed_once(self):
        domain = self.api.create_domain("pulse")
        key = self.api.create_key(domain, "raced")
        results = parallel(self.api, [lambda conn: self.api.post(f"/admin/keys/{key['id']}/roll",
                                                                 {"grace_seconds": 2592000}, conn=conn)
                                      for _ in range(8)])
        self.assertEqual(sorted(r.status for r in results), [201] + [409] * 7, [r.text for r in results])
        for result in results:
            if result.status == 409:
                self.assertError(result, 409, "key_already_rolled")
        self.assertEqual(len(self.api.list_keys(domain).json["keys"]), 2)

    def test_the_successor_can_be_rolled_in_its_turn(self):
        second = self.api.roll(self.old["id"], {"grace_seconds": 0}).json
        third = self.api.roll(second["id"], {"grace_seconds": 0})
        self.assertStatus(third, 201)
        self.assertEqual(third.json["rolled_from"]["id"], second["id"])
        self.assertStatus(self.api.inbound(third.json["key"], EVENT), 202)

    def test_a_revoked_or_expired_key_cannot_be_rolled(self):
        revoked = self.api.create_key(self.domain, "revoked")
        self.api.revoke(revoked["id"])
        self.api.roll(self.old["id"], {"grace_seconds": 0})  # expired at once
        for key in (revoked, self.old):
            with self.subTest(key=key["name"]):
                err = self.assertError(self.api.roll(key["id"], {"grace_seconds": 60}), 409, "key_not_active")
                self.assertIn(key["prefix"], err["message"])
        self.assertEqual(len(self.api.list_keys(self.domain).json["keys"]), 3)

    def test_roll_rejects_unknown_fields(self):
        resp = self.api.roll(self.old["id"], {"grace_seconds": 10, "name": "other"})
        self.assertError(resp, 400, "validation_failed", field="name")


class KeyExpiryTest(ServerTestCase):

    def test_expired_key_is_refused_shown_expired_and_not_counted(self):
        # The 202 before the expiry counts only if it was answered before the expiry: on a
        # slow machine, try again with a longer lifetime instead of failing or passing by luck.
        for lifetime in (3, 6, 12, 24):
            domain = self.api.create_domain("pulse")
            expires = utcnow() + timedelta(seconds=lifetime)
            key = self.api.create_key(domain, "short", expires_at=rfc3339(expires))
            resp = self.api.inbound(key["key"], EVENT)
            if utcnow() < expires - timedelta(milliseconds=200):
                self.assertStatus(resp, 202)
                break
        else:
            self.fail("the machine is too slow to use a key before a 24 s expiry")

        def refused():
            resp = self.api.inbound(key["key"], EVENT)
            return resp if resp.status != 202 else None

        self.assertError(poll(refused, 15, interval=0.2, what="the key to expire"),
                         401, "expired_api_key")
        self.assertEqual(self.api.key(key["id"])["status"], "expired")
        listed = self.api.list_keys(domain).json
        self.assertEqual([k["status"] for k in listed["keys"]], ["expired"])
        self.assertEqual(listed["active_keys"], 0)


class SecretHygieneTest(ServerTestCase):
    """The full key is returned once, in the create response, and never again."""

    def assertNoSecret(self, texts, *secrets):
        for secret in secrets:
            for where, text in texts:
                self.assertNotIn(secret, text, f"secret found in {where}")

    def test_full_key_never_appears_again(self):
        domain = self.api.create_domain("signal")
        created = self.api.create_key(domain, "secret")
        key, key_id = created["key"], created["id"]
        seen = []

        def call(where, resp):
            seen.append((where, resp.text))
            return resp

        call("inbound", self.api.inbound(key, EVENT, headers={"X-Request-Id": "hygiene-1"}))
        call("list", self.api.list_keys(domain))
        call("get", self.api.get_key(key_id))
        call("rename", self.api.rename(key_id, "renamed"))
        call("domain", self.api.get_domain(domain))
        call("events", self.api.events(domain))
        call("revoke", self.api.revoke(key_id))
        call("revoked inbound", self.api.inbound(key, EVENT))
        call("restore", self.api.restore(key_id))
        rolled = call("roll", self.api.roll(key_id, {"grace_seconds": 60}))
        call("audit", self.api.audit(domain))
        call("metrics", self.api.get("/metrics", token=None))
        new_key = rolled.json["key"]
        call("list after roll", self.api.list_keys(domain))
        call("get new", self.api.get_key(rolled.json["id"]))
        call("audit after roll", self.api.audit(domain))
        self.assertEqual(len(self.api.all_events(domain)), 1)

        self.assertNoSecret(seen, key, sha256_hex(key))
        self.assertNoSecret(seen[-3:], new_key, sha256_hex(new_key))
        self.assertNoSecret([("server log", self.server.log_text())],
                            key, sha256_hex(key), new_key, sha256_hex(new_key))


if __name__ == "__main__":
    unittest.main()
