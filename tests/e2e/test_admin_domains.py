"""Admin API: domains (create, plan change, list, get, delete, name rules) and plan limits
(counting, downgrades, revoked and expired keys, restores, concurrent creates)."""

import unittest
import uuid
from datetime import timedelta

from harness import (PLAN_LIMITS, CcTestCase, ServerTestCase, parallel, poll, rfc3339,
                     unique_domain, utcnow)


def domain_of_length(total: int) -> str:
    """A unique valid domain name of exactly `total` characters (labels ≤ 63)."""
    head, tail = f"t{uuid.uuid4().hex[:10]}", ".example"
    remain = total - len(head) - len(tail)
    labels = []
    while remain > 64:
        labels.append("x" * 63)
        remain -= 64
    assert remain >= 2, total
    labels.append("y" * (remain - 1))
    return head + "".join("." + label for label in labels) + tail


class DomainCrudTest(ServerTestCase):

    def test_put_creates_domain(self):
        domain = unique_domain()
        resp = self.api.put_domain(domain, "signal")
        self.assertStatus(resp, 200)
        self.assertDomainObject(resp.json, domain, "signal")
        self.assertEqual(resp.json["active_keys"], 0)
        self.assertRecent(resp.json["created_at"])

    def test_key_limit_follows_the_plan(self):
        for plan, limit in PLAN_LIMITS.items():
            with self.subTest(plan=plan):
                resp = self.api.put_domain(unique_domain(), plan)
                self.assertStatus(resp, 200)
                self.assertEqual(resp.json["plan"], plan)
                self.assertEqual(resp.json["key_limit"], limit)

    def test_put_changes_the_plan_and_keeps_created_at(self):
        domain = unique_domain()
        created = self.api.put_domain(domain, "pulse").json
        resp = self.api.put_domain(domain, "clarity")
        self.assertStatus(resp, 200)
        self.assertDomainObject(resp.json, domain, "clarity")
        self.assertEqual(resp.json["created_at"], created["created_at"])
        self.assertEqual(self.api.get_domain(domain).json["plan"], "clarity")

    def test_put_with_the_same_plan_is_idempotent(self):
        domain = unique_domain()
        first = self.api.put_domain(domain, "signal").json
        again = self.api.put_domain(domain, "signal")
        self.assertStatus(again, 200)
        self.assertEqual(again.json, first)

    def test_unknown_plan_is_rejected(self):
        for plan in ("gold", "", "enterprise", 5, None, ["pulse"]):
            with self.subTest(plan=plan):
                domain = unique_domain()
                resp = self.api.put(f"/admin/domains/{domain}", {"plan": plan})
                self.assertError(resp, 400, "validation_failed", field="plan")
                self.assertError(self.api.get_domain(domain), 404, "domain_not_found")

    def test_missing_plan_is_rejected(self):
        resp = self.api.put(f"/admin/domains/{unique_domain()}", {})
        self.assertError(resp, 400, "validation_failed", field="plan")

    def test_unknown_body_field_is_rejected_by_name(self):
        resp = self.api.put(f"/admin/domains/{unique_domain()}", {"plan": "pulse", "colour": "red"})
        self.assertError(resp, 400, "validation_failed", field="colour")

    def test_malformed_json_is_invalid_json(self):
        resp = self.api.put(f"/admin/domains/{unique_domain()}", '{"plan": ')
        self.assertError(resp, 400, "invalid_json")

    def test_body_that_is_not_an_object_is_rejected(self):
        for body in ('["pulse"]', '"pulse"', "42", "null"):
            with self.subTest(body=body):
                resp = self.api.put(f"/admin/domains/{unique_domain()}", body)
                self.assertError(resp, 400, "validation_failed")

    def test_invalid_domain_names_are_rejected(self):
        uniq = uuid.uuid4().hex[:8]
        bad = {
            "space": f"has space{uniq}.example.com",
            "leading hyphen": f"-lead{uniq}.example.com",
            "trailing hyphen": f"trail{uniq}-.example.com",
            "label over 63": "a" * 64 + f".{uniq}.example.com",
            "no dot": f"localhost{uniq}",
            "empty label": f"double{uniq}..example.com",
            "non-ascii": f"bücher{uniq}.example",
            "over 253": domain_of_length(254),
        }
        for why, name in bad.items():
            with self.subTest(why=why):
                self.assertError(self.api.put_domain(name, "pulse"), 400, "validation_failed",
                                 field="domain")

    def test_uppercase_domain_is_stored_lower_case(self):
        domain = unique_domain()
        resp = self.api.put_domain(domain.upper(), "pulse")
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["domain"], domain)
        self.assertEqual(self.api.get_domain(domain).json["domain"], domain)

    def test_length_boundaries_are_accepted(self):
        label63 = f"{uuid.uuid4().hex[:10]}" + "z" * 53 + ".example.com"
        longest = domain_of_length(253)
        self.assertEqual(len(longest), 253)
        for name in (label63, longest):
            with self.subTest(length=len(name)):
                resp = self.api.put_domain(name, "pulse")
                self.assertStatus(resp, 200)
                self.assertEqual(resp.json["domain"], name)

    def test_punycode_domain_is_accepted(self):
        name = f"xn--bcher-kva.{uuid.uuid4().hex[:10]}.example"
        resp = self.api.put_domain(name, "pulse")
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["domain"], name)

    def test_list_is_sorted_by_domain(self):
        uniq = uuid.uuid4().hex[:8]
        names = [f"zz{uniq}.example.com", f"aa{uniq}.example.com", f"mm{uniq}.example.com"]
        for name in names:
            self.api.create_domain("signal", name)
        resp = self.api.get("/admin/domains")
        self.assertStatus(resp, 200)
        self.assertEqual(set(resp.json), {"domains", "next"})
        listed = resp.json["domains"]
        self.assertEqual([d["domain"] for d in listed], sorted(d["domain"] for d in listed))
        mine = [d for d in listed if d["domain"] in names]
        self.assertEqual([d["domain"] for d in mine], sorted(names))
        for obj in mine:
            self.assertDomainObject(obj, plan="signal")

    def test_get_one_domain(self):
        domain = self.api.create_domain("clarity")
        self.api.create_key(domain)
        resp = self.api.get_domain(domain)
        self.assertStatus(resp, 200)
        self.assertDomainObject(resp.json, domain, "clarity")
        self.assertEqual(resp.json["active_keys"], 1)

    def test_get_unknown_domain_is_404(self):
        self.assertError(self.api.get_domain(unique_domain()), 404, "domain_not_found")

    def test_delete_domain(self):
        domain = self.api.create_domain("pulse")
        resp = self.api.delete_domain(domain)
        self.assertStatus(resp, 204)
        self.assertEqual(resp.body, b"")
        self.assertError(self.api.get_domain(domain), 404, "domain_not_found")
        self.assertNotIn(domain, [d["domain"] for d in self.api.get("/admin/domains").json["domains"]])

    def test_delete_unknown_domain_is_404(self):
        self.assertError(self.api.delete_domain(unique_domain()), 404, "domain_not_found")

    def test_delete_domain_with_an_active_key_is_409(self):
        domain = self.api.create_domain("pulse")
        self.api.create_key(domain)
        err = self.assertError(self.api.delete_domain(domain), 409, "domain_has_keys")
        self.assertIn("still has 1 key ", err["message"])
        self.assertStatus(self.api.get_domain(domain), 200)
        self.api.create_key(domain)
        err = self.assertError(self.api.delete_domain(domain), 409, "domain_has_keys")
        self.assertIn("still has 2 keys ", err["message"])

    def test_delete_domain_with_only_revoked_keys_is_409(self):
        domain = self.api.create_domain("pulse")
        key = self.api.create_key(domain)
        self.assertStatus(self.api.revoke(key["id"]), 200)
        self.assertError(self.api.delete_domain(domain), 409, "domain_has_keys")

    def test_delete_domain_after_its_keys_are_deleted(self):
        domain = self.api.create_domain("pulse")
        key = self.api.create_key(domain)
        self.assertStatus(self.api.delete_key(key["id"]), 204)
        self.assertStatus(self.api.delete_domain(domain), 204)

    def test_recreated_domain_starts_empty(self):
        domain = self.api.create_domain("pulse")
        self.assertStatus(self.api.delete_domain(domain), 204)
        resp = self.api.put_domain(domain, "signal")
        self.assertStatus(resp, 200)
        self.assertDomainObject(resp.json, domain, "signal")
        self.assertEqual(resp.json["active_keys"], 0)

    def test_active_keys_counts_only_active_keys(self):
        domain = self.api.create_domain("signal")
        keys = [self.api.create_key(domain, f"k{i}") for i in range(3)]
        self.api.revoke(keys[0]["id"])
        self.assertEqual(self.api.get_domain(domain).json["active_keys"], 2)
        listed = {d["domain"]: d for d in self.api.get("/admin/domains").json["domains"]}
        self.assertEqual(listed[domain]["active_keys"], 2)


class DomainPagingTest(CcTestCase):
    """GET /admin/domains pages with limit (1-500, default 100) and the `after` cursor."""

    def setUp(self):
        self.api = self.start_server().api  # its own database: exact counts

    def test_pages_follow_the_cursor_in_name_order(self):
        names = sorted(f"p{i:03d}.example.com" for i in range(7))
        for name in reversed(names):
            self.api.create_domain("pulse", name)
        seen, after, pages = [], None, 0
        while True:
            path = "/admin/domains?limit=3" + (f"&after={after}" if after else "")
            resp = self.api.get(path)
            self.assertStatus(resp, 200)
            self.assertEqual(set(resp.json), {"domains", "next"})
            for obj in resp.json["domains"]:
                self.assertDomainObject(obj, plan="pulse")
            seen += [d["domain"] for d in resp.json["domains"]]
            pages += 1
            after = resp.json["next"]
            if after is None:
                break
            self.assertLess(pages, 10)
        self.assertEqual(seen, names)
        self.assertEqual(pages, 3)

    def test_default_limit_is_100(self):
        for i in range(101):
            self.api.create_domain("pulse", f"d{i:03d}.example.org")
        resp = self.api.get("/admin/domains")
        self.assertEqual(len(resp.json["domains"]), 100)
        self.assertEqual(resp.json["next"], "d099.example.org")
        rest = self.api.get("/admin/domains?after=d099.example.org&limit=500").json
        self.assertEqual([d["domain"] for d in rest["domains"]], ["d100.example.org"])
        self.assertIsNone(rest["next"])

    def test_bad_paging_parameters_are_refused_by_name(self):
        for query, field in (("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"),
                             ("after=not%20a%20domain", "after"), ("before=abc", "before"), ("page=2", "page")):
            with self.subTest(query=query):
                self.assertError(self.api.get("/admin/domains?" + query), 400, "validation_failed", field=field)

    def test_after_is_lower_cased(self):
        self.api.create_domain("pulse", "a.example.net")
        self.api.create_domain("pulse", "b.example.net")
        listed = self.api.get("/admin/domains?after=A.EXAMPLE.NET").json["domains"]
        self.assertNotIn("a.example.net", [d["domain"] for d in listed])
        self.assertIn("b.example.net", [d["domain"] for d in listed])


class PlanLimitTest(ServerTestCase):

    def fill(self, domain, count):
        return [self.api.create_key(domain, f"key {i}") for i in range(count)]

    def test_each_plan_allows_exactly_its_limit(self):
        for plan in ("pulse", "signal", "clarity"):
            with self.subTest(plan=plan):
                domain = self.api.create_domain(plan)
                self.fill(domain, PLAN_LIMITS[plan])
                self.assertError(self.api.post_key(domain, "one too many"), 409, "plan_limit_reached")
                self.assertEqual(self.api.get_domain(domain).json["active_keys"], PLAN_LIMITS[plan])

    def test_command_plan_is_unlimited(self):
        domain = self.api.create_domain("command")
        self.fill(domain, 12)
        info = self.api.get_domain(domain).json
        self.assertIsNone(info["key_limit"])
        self.assertEqual(info["active_keys"], 12)

    def test_downgrade_keeps_existing_keys_but_blocks_new_ones(self):
        domain = self.api.create_domain("command")
        keys = self.fill(domain, 4)
        resp = self.api.put_domain(domain, "pulse")
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["active_keys"], 4)
        for key in keys:
            self.assertEqual(self.api.key(key["id"])["status"], "active")
            self.assertStatus(self.api.inbound(key["key"], {"event": "lead", "click_id": "c1"}), 202)
        self.assertError(self.api.post_key(domain, "new"), 409, "plan_limit_reached")
        # Back at the limit is still not under it.
        self.api.revoke(keys[0]["id"])
        self.api.revoke(keys[1]["id"])
        self.assertError(self.api.post_key(domain, "new"), 409, "plan_limit_reached")
        # Under the limit: one more fits, then the limit holds again.
        self.api.revoke(keys[2]["id"])
        self.assertStatus(self.api.post_key(domain, "new"), 201)
        self.assertError(self.api.post_key(domain, "newer"), 409, "plan_limit_reached")

    def test_revoked_keys_do_not_count_but_stay_listed(self):
        domain = self.api.create_domain("pulse")
        first, _ = self.fill(domain, 2)
        self.assertStatus(self.api.revoke(first["id"]), 200)
        third = self.api.create_key(domain, "third")
        listed = {k["id"]: k for k in self.api.list_keys(domain).json["keys"]}
        self.assertEqual(len(listed), 3)
        self.assertEqual(listed[first["id"]]["status"], "revoked")
        self.assertEqual(listed[third["id"]]["status"], "active")
        self.assertEqual(self.api.list_keys(domain).json["active_keys"], 2)

    def test_restore_over_the_limit_is_refused(self):
        domain = self.api.create_domain("pulse")
        first, _ = self.fill(domain, 2)
        self.api.revoke(first["id"])
        self.api.create_key(domain, "replacement")
        self.assertError(self.api.restore(first["id"]), 409, "plan_limit_reached")
        self.assertEqual(self.api.key(first["id"])["status"], "revoked")
        self.assertError(self.api.inbound(first["key"], {"event": "lead", "click_id": "c"}),
                         401, "revoked_api_key")

    def test_restore_under_the_limit_is_allowed(self):
        domain = self.api.create_domain("pulse")
        first, _ = self.fill(domain, 2)
        self.api.revoke(first["id"])
        resp = self.api.restore(first["id"])
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["status"], "active")
        self.assertEqual(self.api.get_domain(domain).json["active_keys"], 2)

    def test_expired_keys_do_not_count(self):
        # The 409 proves the short-lived key counted only if it came before the expiry: on a
        # slow machine, try again with a longer lifetime instead of failing or passing by luck.
        for lifetime in (3, 6, 12, 24):
            domain = self.api.create_domain("pulse")
            expires = utcnow() + timedelta(seconds=lifetime)
            self.api.create_key(domain, "short-lived", expires_at=rfc3339(expires))
            self.api.create_key(domain, "lasting")
            resp = self.api.post_key(domain, "third")
            if utcnow() < expires - timedelta(milliseconds=200):
                self.assertError(resp, 409, "plan_limit_reached")
                break
        else:
            self.fail("the machine is too slow to create three keys before a 24 s expiry")
        poll(lambda: self.api.get_domain(domain).json["active_keys"] == 1, 15,
             what="the expired key to stop counting")
        self.assertStatus(self.api.post_key(domain, "third"), 201)

    def test_roll_is_allowed_at_the_limit(self):
        domain = self.api.create_domain("pulse")
        first, _ = self.fill(domain, 2)
        resp = self.api.roll(first["id"], {"grace_seconds": 3600})
        self.assertStatus(resp, 201)
        new = dict(resp.json)
        self.assertKeyObject(new.pop("rolled_from"))
        self.assertKeyObject(new, with_key=True)

    def test_concurrent_creates_never_exceed_the_limit(self):
        domain = self.api.create_domain("pulse")
        results = parallel(self.api, [lambda conn, i=i: self.api.post_key(domain, f"racer {i}", conn=conn)
                                      for i in range(10)])
        self.assertResponses(results)
        self.assertEqual(sorted(r.status for r in results), [201] * 2 + [409] * 8)
        for result in results:
            if result.status == 409:
                self.assertError(result, 409, "plan_limit_reached")
        listed = self.api.list_keys(domain).json
        self.assertEqual(len(listed["keys"]), 2)
        self.assertEqual(listed["active_keys"], 2)

    def test_two_concurrent_creates_for_the_last_slot(self):
        for _ in range(5):
            domain = self.api.create_domain("signal")
            self.fill(domain, 4)
            results = parallel(self.api, [lambda conn: self.api.post_key(domain, "a", conn=conn),
                                          lambda conn: self.api.post_key(domain, "b", conn=conn)])
            self.assertEqual(sorted(r.status for r in self.assertResponses(results)), [201, 409])
            self.assertEqual(self.api.get_domain(domain).json["active_keys"], 5)

    def test_concurrent_restores_never_exceed_the_limit(self):
        domain = self.api.create_domain("pulse")
        first, second = self.fill(domain, 2)
        self.api.revoke(first["id"])
        self.api.revoke(second["id"])
        self.api.create_key(domain, "holder")
        results = parallel(self.api, [lambda conn: self.api.restore(first["id"], conn=conn),
                                      lambda conn: self.api.restore(second["id"], conn=conn)])
        self.assertEqual(sorted(r.status for r in self.assertResponses(results)), [200, 409])
        self.assertEqual(self.api.get_domain(domain).json["active_keys"], 2)


if __name__ == "__main__":
    unittest.main()
