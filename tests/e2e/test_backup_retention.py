"""Backup while serving, and retention of old events (issue: operations)."""

from __future__ import annotations

import os
import sqlite3
import time
import unittest

from harness import CcTestCase, Server, poll, run_cli, unique_domain, unique_id

DAY_MS = 24 * 3600 * 1000


def purchase(event_id):
    return {"event": "purchase", "event_id": event_id, "email": "buyer@example.com",
            "value": "19.90", "currency": "EUR"}


class BackupTest(CcTestCase):

    def test_backup_taken_while_serving_is_served_by_a_fresh_service_with_all_events(self):
        with Server() as server:
            domain = unique_domain("backup")
            server.api.put_domain(domain, "signal")
            created = server.api.create_key(domain, "backup key")
            sent = [unique_id("bk") for _ in range(25)]
            for event_id in sent:
                self.assertStatus(server.api.inbound(created["key"], purchase(event_id)), 202)
            target = os.path.join(server.tmpdir, "backup.db")
            done = run_cli(["backup", target], server.database)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertTrue(os.path.exists(target))
            # The service goes on serving after the backup.
            self.assertStatus(server.api.inbound(created["key"], purchase(unique_id("after"))), 202)
            again = run_cli(["backup", target], server.database)
            self.assertNotEqual(again.returncode, 0, "an existing file must not be overwritten")

            with Server(database=target, admin_token=server.admin_token) as restored:
                stored = {e["event_id"] for e in restored.api.all_events(domain)}
                self.assertEqual(stored, set(sent))
                # The key lives on in the copy: it authenticates, and a resend is a duplicate.
                resp = restored.api.inbound(created["key"], purchase(sent[0]))
                self.assertStatus(resp, 200)
                self.assertEqual(resp.json["status"], "duplicate")


class RetentionTest(CcTestCase):

    def test_events_older_than_the_retention_window_are_purged_and_newer_ones_kept(self):
        domain = unique_domain("retain")
        with Server() as first:
            first.api.put_domain(domain, "command")
            key = first.api.create_key(domain, "retention key")
            recent = unique_id("recent")
            self.assertStatus(first.api.inbound(key["key"], purchase(recent)), 202)
            database, token = first.database, first.admin_token
            first.stop()
            # Age copies of the event past a one-day window, straight in the file.
            now_ms = int(time.time() * 1000)
            with sqlite3.connect(database) as db:
                row = db.execute("SELECT domain, key_id, name, email, email_sha256, raw, occurred_at "
                                 "FROM events WHERE event_id = ?", (recent,)).fetchone()
                for i in range(40):
                    db.execute("INSERT INTO events (domain, event_id, key_id, name, email, email_sha256, raw, "
                               "occurred_at, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
                               (row[0], f"old-{i}", row[1], row[2], row[3], row[4], row[5],
                                row[6] - 3 * DAY_MS, now_ms - 3 * DAY_MS))
            with Server(env={"CC_RETENTION_DAYS": "1"}, database=database, admin_token=token) as second:
                def remaining():
                    return {e["event_id"] for e in second.api.all_events(domain)}
                poll(lambda: remaining() == {recent}, 30, what="old events to be purged")
                self.assertEqual(remaining(), {recent})
                # Intake goes on meanwhile.
                self.assertStatus(second.api.inbound(key["key"], purchase(unique_id("new"))), 202)


if __name__ == "__main__":
    unittest.main()
