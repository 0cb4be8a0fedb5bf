"""Storage faults: a full disk (simulated with RLIMIT_FSIZE, so writes fail with EFBIG)
and a database locked by another process. The inbound endpoint must answer
503 unavailable with Retry-After, promptly; never acknowledge an event it did not store;
and recover by itself once the fault is gone.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest
import uuid
from unittest import mock

from harness import CcTestCase, Server, ServerTestCase, poll, unique_id


def report(text: str):
    print(f"[storage-faults] {text}", file=sys.stderr, flush=True)


def writer_queue_depth(api) -> float:
    """cc_writer_queue_depth_events from /metrics: events submitted and not yet committed."""
    for line in api.get("/metrics", token=None).text.splitlines():
        if line.startswith("cc_writer_queue_depth_events"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no cc_writer_queue_depth_events in /metrics")


def big_event(event_id: str, pad: int = 6000) -> dict:
    """An event whose stored row spans a couple of pages (properties and raw body)."""
    return {"event": "purchase", "event_id": event_id, "email": "buyer@example.com",
            "properties": {"pad": "x" * pad}}


@contextlib.contextmanager
def file_size_limit(limit_bytes: int):
    """While active, processes started through subprocess.Popen (the harness's Server)
    begin with RLIMIT_FSIZE soft-limited to `limit_bytes` and SIGXFSZ ignored, so a write
    past the limit fails with EFBIG instead of killing the process: a full disk that
    affects only the server, not this machine."""
    real_popen = subprocess.Popen

    def preexec():
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, hard))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def limited_popen(*args, **kwargs):
        kwargs["preexec_fn"] = preexec
        return real_popen(*args, **kwargs)

    with mock.patch.object(subprocess, "Popen", limited_popen):
        yield


def database_files_size(database: str) -> dict:
    out = {}
    for suffix in ("", "-wal", "-shm"):
        path = database + suffix
        if os.path.exists(path):
            out[os.path.basename(path)] = os.path.getsize(path)
    return out


def integrity(database: str) -> str:
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


class FullDiskTest(CcTestCase):
    """Writes start failing with EFBIG: 503 + Retry-After, no false 202, and recovery
    without a restart once space is back."""

    HEADROOM = 384 * 1024  # what the WAL may grow by before writes fail

    def test_full_disk_is_503_and_recovers_by_itself(self):
        database = self.temp_database()
        token = "disk-" + uuid.uuid4().hex
        # 1. Create the schema, a domain and a key without any limit; stop cleanly so the
        #    WAL is checkpointed into the main file.
        setup = Server(database=database, admin_token=token)
        self.addCleanup(setup.close)
        setup.start()
        domain, created = setup.api.new_key("command")
        key = created["key"]
        self.assertEqual(setup.stop(), 0, setup.log_tail())
        initial = database_files_size(database)
        limit = max(initial.values()) + self.HEADROOM

        # 2. The same database under a file size limit a little above what it holds now.
        server = None
        for attempt in range(4):  # should the start itself need more room, give it more
            candidate = Server(database=database, admin_token=token)
            self.addCleanup(candidate.close)
            try:
                with file_size_limit(limit):
                    candidate.start()
                server = candidate
                break
            except RuntimeError:
                candidate.close()
                limit *= 2
        self.assertIsNotNone(server, "the server does not start even with a generous file size limit")
        report(f"full disk: database files {initial}, RLIMIT_FSIZE {limit} bytes")

        # 3. Fill it: events of ~12 KiB each until the answers turn 503.
        acked, refused, retry_after, slowest = [], [], set(), 0.0
        first_503_body = None
        started = time.monotonic()
        for i in range(400):
            if time.monotonic() - started > 30 or len(refused) >= 5:
                break
            event_id = f"fill-{i}-{uuid.uuid4().hex[:8]}"
            t0 = time.monotonic()
            resp = server.api.inbound(key, big_event(event_id))
            slowest = max(slowest, time.monotonic() - t0)
            if resp.status == 202:
                self.assertEqual(resp.json["event_id"], event_id)
                acked.append(event_id)
            elif resp.status == 503:
                self.assertError(resp, 503, "unavailable")
                retry_after.add(resp.headers.get("Retry-After"))
                refused.append(event_id)
                first_503_body = first_503_body or resp.text
            else:
                self.fail(f"unexpected answer while the disk fills: {resp!r}")
        full_at = database_files_size(database)
        report(f"full disk: {len(acked)} events acked, then {len(refused)} refused with 503 "
               f"(Retry-After {sorted(retry_after)}), slowest answer {slowest:.3f}s; files {full_at}")
        self.assertTrue(refused, f"the disk never filled: {len(acked)} events acked under a {limit}-byte limit")
        self.assertTrue(acked, "nothing could be stored even before the limit")
        for value in retry_after:
            self.assertRegex(value or "", r"^\d+$", "503 without a usable Retry-After")
        self.assertLess(slowest, 10.0, "an answer took too long while the disk was full")

        # A batch is refused as a whole, the same way.
        batch_ids = [f"fill-batch-{j}-{uuid.uuid4().hex[:8]}" for j in range(3)]
        batch = server.api.inbound(key, {"events": [big_event(e) for e in batch_ids]}, batch=True)
        if batch.status == 200:  # only if space was found for it: then every one is acked
            acked += [r["event_id"] for r in batch.json["results"] if r["status"] == "accepted"]
        else:
            self.assertError(batch, 503, "unavailable")
            refused += batch_ids
        # The process is alive and says so; what /readyz says under a full disk is reported.
        self.assertStatus(server.api.get("/healthz", token=None), 200)
        ready = server.api.get("/readyz", token=None)
        self.assertIn(ready.status, (200, 503), ready)
        report(f"full disk: /healthz 200, /readyz {ready.status}, batch {batch.status}")

        # 4. Space comes back: raise the limit of the running process.
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, hard))
        raised_at = time.monotonic()
        recovered = []

        def accepted_again():
            event_id = f"after-{len(recovered)}-{uuid.uuid4().hex[:8]}"
            resp = server.api.inbound(key, big_event(event_id))
            if resp.status == 202:
                recovered.append(event_id)
                return True
            self.assertEqual(resp.status, 503, resp)
            refused.append(event_id)
            return False

        poll(accepted_again, 10, interval=0.1, what="202 once the file size limit is raised")
        recovery = time.monotonic() - raised_at
        for i in range(20):  # and it stays healthy under more writes
            self.assertAccepted(server.api.inbound(key, big_event(f"more-{i}-{uuid.uuid4().hex[:8]}")))
            recovered.append(None)
        report(f"full disk: first 202 {recovery:.3f}s after the limit was raised, 20 more accepted")
        self.assertLess(recovery, 5.0)
        self.assertEqual(server.stop(), 0, server.log_tail())

        # 5. Every 202 is stored; nothing answered 503 is. The file is sound.
        self.assertEqual(integrity(database), "ok")
        again = Server(database=database, admin_token=token)
        self.addCleanup(again.close)
        again.start()
        stored = {e["event_id"] for e in again.api.all_events(domain)}
        report(f"full disk: after restart {len(stored)} events stored; "
               f"{len(set(acked) - stored)} acked missing, {len(set(refused) & stored)} refused but stored")
        self.assertEqual(sorted(set(acked) - stored), [], "acknowledged events lost to the full disk")
        self.assertEqual(sorted(set(e for e in recovered if e) - stored), [])
        self.assertEqual(sorted(set(refused) & stored), [],
                         "events answered 503 ('nothing was stored') were stored after all")


class LockedDatabaseTest(ServerTestCase):
    """Another process holds the write lock: 503 within the busy timeout (no hang), and
    service comes back as soon as the lock is released."""

    share_server = False
    server_env = {"CC_BUSY_TIMEOUT_MS": "300"}

    def setUp(self):
        self.domain, created = self.api.new_key("command")
        self.key = created["key"]

    def lock_database(self):
        """An exclusive write transaction from another connection, held until closed."""
        db = sqlite3.connect(self.server.database, isolation_level=None, timeout=10)
        db.execute("BEGIN EXCLUSIVE")
        return db

    def test_inbound_is_503_while_locked_then_202(self):
        db = self.lock_database()
        refused = []
        try:
            timings = []
            for i in range(3):
                event_id = unique_id("locked")
                t0 = time.monotonic()
                resp = self.api.inbound(self.key, big_event(event_id, pad=100))
                timings.append(time.monotonic() - t0)
                self.assertError(resp, 503, "unavailable")
                self.assertRegex(resp.headers.get("Retry-After") or "", r"^\d+$")
                refused.append(event_id)
            batch_ids = [unique_id("locked-batch") for _ in range(2)]
            t0 = time.monotonic()
            batch = self.api.inbound(self.key, {"events": [big_event(e, pad=100) for e in batch_ids]}, batch=True)
            timings.append(time.monotonic() - t0)
            self.assertError(batch, 503, "unavailable")
            refused += batch_ids
            health = self.api.get("/healthz", token=None)
            ready = self.api.get("/readyz", token=None)
            report(f"locked database: inbound 503 in {', '.join(f'{t:.3f}s' for t in timings)} "
                   f"(busy timeout 0.3s); /healthz {health.status}, /readyz {ready.status}")
            self.assertStatus(health, 200)
            # Readers are not blocked in WAL mode: readiness (a read) stays consistent.
            self.assertIn(ready.status, (200, 503))
            if ready.status == 503:
                self.assertError(ready, 503, "unavailable")
            self.assertLess(max(timings), 5.0, "a locked database made a request hang")
        finally:
            db.execute("COMMIT")
            db.close()
        released = time.monotonic()
        event_id = unique_id("unlocked")
        poll(lambda: self.api.inbound(self.key, big_event(event_id, pad=100)).status in (200, 202), 5,
             what="202 once the lock is released")
        report(f"locked database: accepted again {time.monotonic() - released:.3f}s after COMMIT")
        stored = {e["event_id"] for e in self.api.all_events(self.domain)}
        self.assertIn(event_id, stored)
        self.assertEqual(sorted(set(refused) & stored), [], "events answered 503 were stored")

    def test_admin_writes_are_503_while_locked_and_reads_still_work(self):
        db = self.lock_database()
        try:
            t0 = time.monotonic()
            resp = self.api.post_key(self.domain, "while locked")
            elapsed = time.monotonic() - t0
            self.assertError(resp, 503, "unavailable")
            self.assertRegex(resp.headers.get("Retry-After") or "", r"^\d+$")
            self.assertLess(elapsed, 5.0)
            listing = self.api.list_keys(self.domain)
            self.assertStatus(listing, 200)
            report(f"locked database: admin write 503 in {elapsed:.3f}s, admin read {listing.status}")
        finally:
            db.execute("COMMIT")
            db.close()
        self.assertStatus(self.api.post_key(self.domain, "after the lock"), 201)
        names = [k["name"] for k in self.api.list_keys(self.domain).json["keys"]]
        self.assertNotIn("while locked", names)

    def test_a_lock_shorter_than_the_busy_timeout_is_waited_out(self):
        db = self.lock_database()
        results = []
        event_id = unique_id("short-lock")
        thread = threading.Thread(
            target=lambda: results.append(self.api.inbound(self.key, big_event(event_id, pad=100))), daemon=True)
        try:
            thread.start()
            # Release only once the event waits on the lock: it is queued for the group
            # commit, and the queue drains only after the commit (event_writer.cpp).
            poll(lambda: writer_queue_depth(self.api) >= 1, 5, interval=0.01,
                 what="the event to wait on the locked database")
            self.assertEqual(results, [], "answered while the database was still locked")
        finally:
            db.execute("COMMIT")
            db.close()
        thread.join(15)
        self.assertEqual(len(results), 1)
        self.assertAccepted(results[0])


if __name__ == "__main__":
    unittest.main()
