"""Operations: `migrate`, graceful shutdown on SIGTERM, restarts, JSON logs without
secrets, Prometheus metrics and the connection limit."""

import json
import os
import time
import unittest
import uuid

from harness import (INBOUND, STOP_TIMEOUT, CcTestCase, RawConnection, ServerTestCase,
                     build_request, expect, forge_key, poll, run_cli, sha256_hex, unique_id)


def purchase(event_id=None):
    body = {"event": "purchase", "email": "buyer@example.com"}
    if event_id:
        body["event_id"] = event_id
    return body


def is_draining(port) -> bool:
    """True once a new connection is refused, not served, or told 503 by /readyz."""
    try:
        conn = RawConnection(port, timeout=1)
    except OSError:
        return True
    with conn:
        try:
            conn.send(build_request("GET", "/readyz", {"Connection": "close"}))
            return conn.read_response(timeout=1).status == 503
        except OSError:  # refused, reset, closed or timed out: not being served
            return True


def wait_draining(server):
    poll(lambda: is_draining(server.port), 10, what="the server to start draining")


def begin_in_flight(server, key, event_id):
    """Open a POST whose body is only partly sent; returns (connection, rest of body)."""
    body = json.dumps(purchase(event_id)).encode()
    conn = RawConnection(server.port)
    # A first complete exchange proves the connection is accepted and being served.
    conn.send(build_request("GET", "/healthz"))
    expect(conn.read_response(), 200, "GET /healthz before the in-flight request")
    # Expect: 100-continue makes the server say when it has parsed the head and started
    # reading the body: from that answer on, the request is in flight.
    conn.send(build_request("POST", INBOUND, {"Content-Type": "application/json",
                                              "X-CC-Api-Key": key,
                                              "Expect": "100-continue",
                                              "Content-Length": str(len(body))}))
    expect(conn.read_response(timeout=10), 100, "100 Continue: the head is parsed, the body awaited")
    conn.send(body[:10])
    return conn, body[10:]


def metric_sum(text, name) -> float:
    """Sum of every sample of `name` (all label sets) in Prometheus text format."""
    total = 0.0
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            sample, rest = line.split("{", 1)[0], line.rsplit("}", 1)[1]
        else:
            sample, _, rest = line.partition(" ")
        if sample == name:
            total += float(rest.split()[0])
    return total


def scalar_values(obj):
    """Every scalar anywhere inside a parsed JSON value."""
    if isinstance(obj, dict):
        for value in obj.values():
            yield from scalar_values(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from scalar_values(value)
    else:
        yield obj


class MigrateTest(CcTestCase):

    def test_migrate_creates_the_database_and_exits_0(self):
        database = self.temp_database()
        result = run_cli(["migrate"], database)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertTrue(os.path.getsize(database) > 0)

    def test_migrate_twice_is_harmless(self):
        database = self.temp_database()
        for _ in range(2):
            result = run_cli(["migrate"], database)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_server_runs_on_a_migrated_database(self):
        database = self.temp_database()
        self.assertEqual(run_cli(["migrate"], database).returncode, 0)
        server = self.start_server(database=database)
        self.assertStatus(server.api.get("/readyz", token=None), 200)
        server.api.new_key("pulse")

    def test_migrate_keeps_existing_data(self):
        database = self.temp_database()
        server = self.start_server(database=database)
        domain = server.api.create_domain("signal")
        self.assertEqual(server.stop(), 0)
        self.assertEqual(run_cli(["migrate"], database).returncode, 0)
        again = self.start_server(database=database)
        self.assertEqual(again.api.get_domain(domain).json["plan"], "signal")


class ShutdownTest(CcTestCase):

    def test_sigterm_on_an_idle_server_exits_0(self):
        server = self.start_server()
        started = time.monotonic()
        self.assertEqual(server.stop(), 0, server.log_tail())
        self.assertLess(time.monotonic() - started, STOP_TIMEOUT)

    def test_in_flight_request_is_answered_and_committed(self):
        database = self.temp_database()
        server = self.start_server({"CC_SHUTDOWN_GRACE_MS": "15000"}, database=database)
        domain, created = server.api.new_key()
        event_id = unique_id()
        conn, rest = begin_in_flight(server, created["key"], event_id)
        with conn:
            server.terminate()
            wait_draining(server)
            conn.send(rest)
            resp = conn.read_response(timeout=15)
        self.assertEqual(self.assertAccepted(resp), event_id)
        self.assertEqual(server.wait(STOP_TIMEOUT), 0, server.log_tail())

        again = self.start_server(database=database)
        self.assertEqual([e["event_id"] for e in again.api.all_events(domain)], [event_id])

    def test_readiness_reports_draining(self):
        server = self.start_server({"CC_SHUTDOWN_GRACE_MS": "15000"})
        _, created = server.api.new_key()
        watcher = RawConnection(server.port)
        self.addCleanup(watcher.close)
        watcher.send(build_request("GET", "/readyz"))
        self.assertStatus(watcher.read_response(), 200)
        conn, rest = begin_in_flight(server, created["key"], unique_id())
        with conn:
            server.terminate()
            wait_draining(server)
            if watcher.try_send(build_request("GET", "/readyz")):
                try:
                    resp = watcher.read_response(timeout=5)
                except OSError:
                    resp = None  # closing idle connections on shutdown is fine too
                if resp is not None:
                    self.assertError(resp, 503, "unavailable")
                    self.assertRegex(resp.headers.get("Retry-After") or "", r"^\d+$")
            conn.send(rest)
            self.assertAccepted(conn.read_response(timeout=15))
        self.assertEqual(server.wait(STOP_TIMEOUT), 0, server.log_tail())

    def test_idle_keep_alive_connections_do_not_delay_exit(self):
        server = self.start_server()
        with RawConnection(server.port) as idle:
            idle.send(build_request("GET", "/healthz"))
            self.assertStatus(idle.read_response(), 200)
            started = time.monotonic()
            self.assertEqual(server.stop(), 0, server.log_tail())
            self.assertLess(time.monotonic() - started, STOP_TIMEOUT)

    def test_a_stuck_request_is_cut_after_the_grace_period(self):
        server = self.start_server({"CC_SHUTDOWN_GRACE_MS": "1000", "CC_BODY_TIMEOUT_MS": "60000"})
        _, created = server.api.new_key()
        conn, _ = begin_in_flight(server, created["key"], unique_id())
        with conn:
            started = time.monotonic()
            server.terminate()
            code = server.wait(1.0 + 8.0)
            self.assertIsNotNone(code, "still running long after the shutdown grace period")
            self.assertEqual(code, 0, server.log_tail())
            self.assertLess(time.monotonic() - started, 9.0)

    def test_last_used_times_are_flushed_on_shutdown(self):
        database = self.temp_database()
        # The longest flush interval allowed, far longer than this test runs.
        server = self.start_server({"CC_LAST_USED_FLUSH_MS": "60000"}, database=database)
        _, created = server.api.new_key()
        self.assertAccepted(server.api.inbound(created["key"], purchase()))
        self.assertEqual(server.stop(), 0, server.log_tail())

        again = self.start_server(database=database)
        key = again.api.key(created["id"])
        self.assertIsNotNone(key["last_used_at"], "last-used time lost at shutdown")
        self.assertEqual(key["last_used_ip"], "127.0.0.1")

    def test_acked_events_are_kept_through_sigterm(self):
        database = self.temp_database()
        server = self.start_server(database=database)
        domain, created = server.api.new_key()
        acked = [self.assertAccepted(server.api.inbound(created["key"], purchase(unique_id())))
                 for _ in range(20)]
        self.assertEqual(server.stop(), 0, server.log_tail())
        again = self.start_server(database=database)
        self.assertEqual(sorted(e["event_id"] for e in again.api.all_events(domain)), sorted(acked))


class RestartTest(CcTestCase):

    def test_domains_and_keys_survive_a_restart(self):
        database = self.temp_database()
        server = self.start_server(database=database)
        domain = server.api.create_domain("signal")
        kept = server.api.create_key(domain, "kept")
        revoked = server.api.create_key(domain, "revoked")
        server.api.revoke(revoked["id"])
        self.assertEqual(server.stop(), 0, server.log_tail())

        again = self.start_server(database=database)
        info = again.api.get_domain(domain).json
        self.assertEqual((info["plan"], info["active_keys"]), ("signal", 1))
        self.assertAccepted(again.api.inbound(kept["key"], purchase()))
        self.assertError(again.api.inbound(revoked["key"], purchase()), 401, "revoked_api_key")
        self.assertEqual(again.api.key(revoked["id"])["status"], "revoked")


class LogTest(ServerTestCase):

    def wait_logged(self, text, timeout=5):
        poll(lambda: text in self.server.log_text(), timeout, what=f"{text!r} in the log")

    def test_stdout_is_json_lines(self):
        marker = f"json-lines-{uuid.uuid4().hex}"
        self.api.get("/healthz", token=None, headers={"X-Request-Id": marker})
        self.wait_logged(marker)
        for line in self.server.log_lines("stdout"):
            if line.strip():
                self.assertIsInstance(json.loads(line), dict, line)

    def test_requests_are_logged_with_their_request_id(self):
        marker = f"logged-{uuid.uuid4().hex}"
        self.api.get("/no/such/route", token=None, headers={"X-Request-Id": marker})
        self.wait_logged(marker)
        lines = [json.loads(line) for line in self.server.log_lines("stdout") if marker in line]
        self.assertTrue(any(v in (404, "404") for obj in lines for v in scalar_values(obj)),
                        f"no log line with the request id carries status 404: {lines}")

    def test_no_secrets_in_the_log(self):
        domain, created = self.api.new_key("signal")
        key = created["key"]
        revoked = self.api.create_key(domain, "to revoke")
        self.api.revoke(revoked["id"])
        forged = forge_key()
        self.assertAccepted(self.api.inbound(key, purchase()))
        self.api.inbound(revoked["key"], purchase())
        self.api.inbound(forged, purchase())
        self.api.inbound(key, "{broken")
        self.api.get("/admin/domains")
        marker = f"secrets-{uuid.uuid4().hex}"
        self.api.get("/healthz", token=None, headers={"X-Request-Id": marker})
        self.wait_logged(marker)
        log = self.server.log_text()
        for secret in (self.server.admin_token, key, sha256_hex(key), revoked["key"],
                       sha256_hex(revoked["key"]), forged):
            self.assertNotIn(secret, log)


class MetricsTest(ServerTestCase):

    def metrics(self):
        resp = self.api.get("/metrics", token=None)
        self.assertStatus(resp, 200)
        return resp.text

    def test_counters_move_with_traffic(self):
        _, created = self.api.new_key()
        before = self.metrics()
        self.assertAccepted(self.api.inbound(created["key"], purchase()))
        poll(lambda: metric_sum(self.metrics(), "cc_events_total") > metric_sum(before, "cc_events_total"),
             5, what="cc_events_total to grow")
        self.assertGreater(metric_sum(self.metrics(), "cc_http_requests_total"),
                           metric_sum(before, "cc_http_requests_total"))

    def test_no_secrets_in_metrics(self):
        domain, created = self.api.new_key()
        self.assertAccepted(self.api.inbound(created["key"], purchase()))
        text = self.metrics()
        for secret in (self.server.admin_token, created["key"], sha256_hex(created["key"])):
            self.assertNotIn(secret, text)


class MaxConnectionsTest(ServerTestCase):
    """Never more than CC_MAX_CONNECTIONS busy connections. What happens to one over the
    cap is the server's choice (closed, 503, or queued until a slot frees), and idle
    keep-alive connections may be reclaimed; busy ones must never be dropped for it."""

    server_env = {"CC_MAX_CONNECTIONS": "4"}

    def test_connections_over_the_limit_are_not_served_concurrently(self):
        _, created = self.api.new_key()
        busy = []
        try:
            for i in range(4):
                conn, rest = begin_in_flight(self.server, created["key"], unique_id(f"busy{i}"))
                busy.append((conn, rest))
            extra = RawConnection(self.port)
            self.addCleanup(extra.close)
            extra.try_send(build_request("GET", "/healthz"))
            queued = not extra.readable(2)
            if not queued:
                try:
                    resp = extra.read_response(timeout=5)
                except OSError:
                    resp = None  # refused by closing: fine
                if resp is not None:
                    self.assertError(resp, 503, "unavailable")
                    self.assertRegex(resp.headers.get("Retry-After") or "", r"^\d+$")
            # The busy connections were not sacrificed for the newcomer.
            for conn, rest in busy:
                conn.send(rest)
                self.assertAccepted(conn.read_response(timeout=10))
            if queued:  # slots are free now, so a queued request must be served
                self.assertStatus(extra.read_response(timeout=10), 200)
        finally:
            for conn, _ in busy:
                conn.close()
        poll(lambda: self.api.get("/healthz", token=None).status == 200, 10,
             what="capacity to come back")


if __name__ == "__main__":
    unittest.main()
