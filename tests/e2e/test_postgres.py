"""SPEC §5 on one node: the PostgreSQL store chosen by CC_DATABASE_URL.

Start-up against a wrong URL (a clear message naming host and database, never the
password), `cc-inbound migrate` and the operator CLI on PostgreSQL, a newer database
refused, `backup` pointing to PostgreSQL's own tools, values that need escaping stored
exactly, and CLI changes reaching a running node through the change feed.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import unittest

import pg_cluster
from harness import (BINARY, CcTestCase, Server, check_binary, run_cli, server_environment, unique_domain,
                     unique_id)

PASSWORD = "pw-Zq8Xv3sEcret"


def cli(args, url, timeout=60.0):
    return run_cli(args, "/nonexistent/unused.db", env={"CC_DATABASE_URL": url}, timeout=timeout)


@unittest.skipUnless(pg_cluster.available(), "PostgreSQL 15 server binaries are not installed")
class PostgresStartupTest(CcTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = pg_cluster.shared_cluster()

    def serve_and_fail(self, url):
        check_binary()
        env = server_environment("/nonexistent/unused.db", "t" * 40, {"CC_DATABASE_URL": url})
        started = time.monotonic()
        done = subprocess.run([BINARY, "serve"], env=env, capture_output=True, timeout=30)
        self.assertLess(time.monotonic() - started, 15.0)
        output = done.stdout.decode() + done.stderr.decode()
        self.assertNotEqual(done.returncode, 0, output)
        self.assertNotIn(PASSWORD, output)
        return output

    def test_unreachable_server_fails_startup_naming_host_and_database(self):
        port = pg_cluster._free_port()
        output = self.serve_and_fail(f"postgresql://cc:{PASSWORD}@127.0.0.1:{port}/ccprod")
        self.assertIn("127.0.0.1", output)
        self.assertIn(str(port), output)
        self.assertIn("ccprod", output)
        self.assertIn("cannot connect to PostgreSQL", output)

    def test_missing_database_fails_startup_naming_it(self):
        output = self.serve_and_fail(f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.cluster.port}/no_such_db")
        self.assertIn("no_such_db", output)
        self.assertIn("does not exist", output)

    def test_key_value_connection_string_with_password_is_not_echoed(self):
        port = pg_cluster._free_port()
        output = self.serve_and_fail(f"host=127.0.0.1 port={port} dbname=ccprod user=cc password={PASSWORD}")
        self.assertIn("ccprod", output)

    def test_malformed_connection_string_is_refused_without_echoing_it(self):
        output = self.serve_and_fail(f"postgresql://cc:{PASSWORD}@127.0.0.1:5432/db?nosuchoption=1")
        self.assertIn("CC_DATABASE_URL", output)

    def test_migrate_applies_once_and_records_the_schema(self):
        url = self.cluster.create_database()
        first = cli(["migrate"], url)
        self.assertEqual(first.returncode, 0, first.stderr)
        line = json.loads(first.stdout.decode().strip().splitlines()[-1])
        self.assertEqual(line["backend"], "postgres")
        self.assertEqual(line["applied"], [1, 2, 3, 4])
        again = cli(["migrate"], url)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(json.loads(again.stdout.decode().strip().splitlines()[-1])["applied"], [])
        rows = self.cluster.psql("SELECT version, name, length(checksum) FROM schema_migrations",
                                 url.rsplit("/", 1)[1])
        self.assertEqual(rows.splitlines()[0], "1|0001_initial.sql|64")

    def test_postgresql_migrations_mirror_the_sqlite_ones(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "migrations")

        def numbered(directory):
            return sorted(name for name in os.listdir(directory) if name.endswith(".sql"))
        self.assertEqual(numbered(os.path.join(root, "postgres")), numbered(root))

    def test_a_database_newer_than_the_binary_is_refused(self):
        url = self.cluster.create_database()
        self.assertEqual(cli(["migrate"], url).returncode, 0)
        self.cluster.psql("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 'x', 0)",
                          url.rsplit("/", 1)[1])
        for args in (["migrate"], ["domains", "list"]):
            done = cli(args, url)
            self.assertNotEqual(done.returncode, 0)
            self.assertIn("9999", done.stderr.decode())
            self.assertIn("newer", done.stderr.decode())
        output = self.serve_and_fail(url)
        self.assertIn("newer", output)

    def test_backup_points_to_postgresql_tools(self):
        url = self.cluster.create_database()
        done = cli(["backup", os.path.join("/tmp", unique_id("never"))], url)
        self.assertEqual(done.returncode, 2)
        message = done.stderr.decode()
        self.assertIn("pg_dump", message)
        self.assertIn("pg_basebackup", message)


@unittest.skipUnless(pg_cluster.available(), "PostgreSQL 15 server binaries are not installed")
class PostgresNodeTest(CcTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = pg_cluster.shared_cluster()
        cls.url = cls.cluster.create_database()
        cls.node = Server({"CC_DATABASE_URL": cls.url})
        cls.addClassCleanup(cls.node.close)
        cls.node.start()

    def test_operator_cli_change_reaches_the_running_node_within_100_ms(self):
        domain = unique_domain()
        self.assertEqual(cli(["domains", "set", domain, "signal"], self.url).returncode, 0)
        made = cli(["keys", "create", "--domain", domain, "--name", "from cli"], self.url)
        self.assertEqual(made.returncode, 0, made.stderr)
        key = json.loads(made.stdout)
        self.assertEqual(self.node.api.key(key["id"])["name"], "from cli")
        resp = self.node.api.inbound(key["key"], {"event": "lead", "email": "c@example.com"})
        self.assertAccepted(resp)
        revoked = cli(["keys", "revoke", key["id"]], self.url)
        self.assertEqual(revoked.returncode, 0, revoked.stderr)
        done_at = time.monotonic()
        while True:
            resp = self.node.api.inbound(key["key"], {"event": "probe"})
            if resp.status == 401:
                break
            self.assertLess(time.monotonic() - done_at, 0.1, "CLI revocation not in effect within 100 ms")
        self.assertError(resp, 401, "revoked_api_key")
        listed = cli(["keys", "list", "--domain", domain], self.url)
        self.assertEqual(json.loads(listed.stdout)["keys"][0]["status"], "revoked")

    def test_values_that_need_escaping_are_stored_exactly(self):
        domain, created = self.node.api.new_key()
        tricky = ['a"b\\c', "{x,y}", "NULL", "ünï €", "lead,\"quoted\" \\\\ x", "x'); DROP TABLE events; --"]
        batch = [{"event": "lead", "external_id": t, "click_id": t + "!", "event_id": unique_id(),
                  "properties": {"note": t}} for t in tricky]
        resp = self.node.api.inbound(created["key"], {"events": batch}, batch=True)
        self.assertEqual(resp.status, 200, resp.text)
        self.assertEqual(resp.json["accepted"], len(tricky), resp.text)
        stored = {e["event_id"]: e for e in self.node.api.all_events(domain)}
        for sent in batch:
            got = stored[sent["event_id"]]
            self.assertEqual(got["external_id"], sent["external_id"])
            self.assertEqual(got["click_id"], sent["click_id"])
            self.assertEqual(got["properties"], sent["properties"])
            self.assertEqual(json.loads(got["raw"]), sent)

    def test_a_nul_character_does_not_fail_the_whole_group(self):
        domain, created = self.node.api.new_key()
        batch = [{"event": "lead", "external_id": "nul\u0000inside", "event_id": unique_id()},
                 {"event": "lead", "external_id": "plain", "event_id": unique_id()}]
        resp = self.node.api.inbound(created["key"], {"events": batch}, batch=True)
        self.assertEqual(resp.status, 200, resp.text)
        self.assertEqual(resp.json["accepted"], 2, resp.text)
        stored = {e["event_id"]: e for e in self.node.api.all_events(domain)}
        self.assertEqual(stored[batch[1]["event_id"]]["external_id"], "plain")
        self.assertEqual(stored[batch[0]["event_id"]]["external_id"], "nul\ufffdinside")
        self.assertEqual(json.loads(stored[batch[0]["event_id"]]["raw"])["external_id"], "nul\u0000inside")

    def test_listing_order_and_cursor_on_postgres(self):
        domain, created = self.node.api.new_key()
        ids = [unique_id() for _ in range(7)]
        for event_id in ids:
            self.assertAccepted(self.node.api.inbound(created["key"], {"event": "lead", "email": "l@example.com",
                                                                        "event_id": event_id}))
        first = self.node.api.events(domain, limit=3).json
        self.assertEqual([e["event_id"] for e in first["events"]], ids[::-1][:3])
        rest = self.node.api.all_events(domain)
        self.assertEqual([e["event_id"] for e in rest], ids[::-1])
        audit = self.node.api.all_audit(domain)
        self.assertEqual([a["action"] for a in audit][-2:], ["key.created", "domain.created"])

    def test_password_never_reaches_the_log(self):
        # The harness's URL has no password; a node given one must not print it.
        cluster = self.cluster
        url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{cluster.port}/{self.url.rsplit('/', 1)[1]}"
        node = Server({"CC_DATABASE_URL": url})
        self.addCleanup(node.close)
        node.start()
        node.api.create_domain()
        self.assertEqual(node.api.get("/readyz", token=None).status, 200)
        metrics = node.api.get("/metrics", token=None).text
        node.stop()
        self.assertNotIn(PASSWORD, node.log_text())
        self.assertNotIn(PASSWORD, metrics)
        self.assertIn(str(cluster.port), node.log_text())


if __name__ == "__main__":
    unittest.main()
