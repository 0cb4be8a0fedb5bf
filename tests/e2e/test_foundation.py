"""HTTP foundation: health, routing errors, request ids, size limits, header limits,
connection handling (keep-alive, pipelining, HTTP/1.0) and slow clients."""

import time
import unittest

from harness import (BATCH, INBOUND, REQUEST_ID_RE, RawConnection, ServerTestCase,
                     build_request, raw_exchange)


class HealthTest(ServerTestCase):

    def test_healthz_answers_ok(self):
        resp = self.api.get("/healthz", token=None)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json, {"status": "ok"})
        self.assertIn("application/json", resp.headers.get("Content-Type", ""))
        self.assertRequestId(resp)

    def test_readyz_answers_ready(self):
        resp = self.api.get("/readyz", token=None)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json, {"status": "ready"})
        self.assertRequestId(resp)

    def test_metrics_is_prometheus_text(self):
        _, key = self.api.new_key()
        self.assertAccepted(self.api.inbound(key["key"], {"event": "lead", "click_id": "m1"}))
        resp = self.api.get("/metrics", token=None)
        self.assertStatus(resp, 200)
        self.assertTrue(resp.headers.get("Content-Type", "").startswith("text/plain"),
                        resp.headers.get("Content-Type"))
        self.assertIn("cc_http_requests_total", resp.text)
        self.assertIn("cc_events_total", resp.text)
        self.assertRequestId(resp)


class RoutingTest(ServerTestCase):

    def test_unknown_route_is_404_not_found(self):
        self.assertError(self.api.get("/no/such/route", token=None), 404, "not_found")

    def test_unknown_route_with_post_is_404_not_found(self):
        self.assertError(self.api.post("/no/such/route", {"a": 1}, token=None), 404, "not_found")

    def test_wrong_method_on_healthz_is_405_with_allow(self):
        resp = self.api.post("/healthz", token=None)
        self.assertError(resp, 405, "method_not_allowed")
        self.assertIn("GET", resp.headers.get("Allow", ""))

    def test_wrong_method_on_inbound_is_405_with_allow(self):
        for path in (INBOUND, BATCH):
            with self.subTest(path=path):
                resp = self.api.get(path, token=None)
                self.assertError(resp, 405, "method_not_allowed")
                self.assertIn("POST", resp.headers.get("Allow", ""))

    def test_wrong_method_on_admin_collection_is_405_with_allow(self):
        resp = self.api.patch("/admin/domains", {"plan": "pulse"})
        self.assertError(resp, 405, "method_not_allowed")
        self.assertIn("GET", resp.headers.get("Allow", ""))

    def test_wrong_method_on_admin_item_lists_all_its_methods(self):
        resp = self.api.post("/admin/domains/x.example.com", {"plan": "pulse"})
        self.assertError(resp, 405, "method_not_allowed")
        allow = {m.strip() for m in resp.headers.get("Allow", "").split(",")}
        self.assertTrue({"GET", "PUT", "DELETE"} <= allow, allow)


class RequestIdTest(ServerTestCase):

    def test_generated_request_id_on_success(self):
        first = self.assertRequestId(self.api.get("/healthz", token=None))
        second = self.assertRequestId(self.api.get("/healthz", token=None))
        self.assertRegex(first, REQUEST_ID_RE)
        self.assertNotEqual(first, second)

    def test_generated_request_id_on_error_matches_body(self):
        resp = self.api.get("/no/such/route", token=None)
        self.assertError(resp, 404, "not_found")  # checks header == error.request_id

    def test_wellformed_request_id_is_echoed_on_success(self):
        rid = "abc-123.X:y_z"
        resp = self.api.get("/healthz", token=None, headers={"X-Request-Id": rid})
        self.assertEqual(resp.request_id, rid)

    def test_wellformed_request_id_is_echoed_on_error(self):
        rid = "client:req-42"
        resp = self.api.get("/no/such/route", token=None, headers={"X-Request-Id": rid})
        err = self.assertError(resp, 404, "not_found")
        self.assertEqual(err["request_id"], rid)

    def test_request_id_is_echoed_on_auth_errors(self):
        rid = "auth-check.1"
        resp = self.api.get("/admin/domains", token=None, headers={"X-Request-Id": rid})
        self.assertEqual(self.assertError(resp, 401, "unauthorized")["request_id"], rid)
        resp = self.api.inbound(None, {"event": "lead"}, headers={"X-Request-Id": rid})
        self.assertEqual(self.assertError(resp, 401, "missing_api_key")["request_id"], rid)

    def test_request_id_of_128_chars_is_echoed(self):
        rid = "a" * 128
        self.assertEqual(self.api.get("/healthz", token=None, headers={"X-Request-Id": rid}).request_id, rid)

    def test_malformed_request_id_is_replaced(self):
        for bad in ("a" * 129, "has space", "slash/inside", "<script>", "semi;colon", ""):
            with self.subTest(bad=bad):
                resp = self.api.get("/healthz", token=None, headers={"X-Request-Id": bad})
                self.assertStatus(resp, 200)
                rid = self.assertRequestId(resp)
                self.assertNotEqual(rid, bad)
                self.assertRegex(rid, REQUEST_ID_RE)


class BodyLimitTest(ServerTestCase):
    """413 is decided from the headers: the server must not wait for the body."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.domain, key = cls.api.new_key()
        cls.key = key["key"]

    def declare(self, method, path, length, headers=None):
        """Send only the headers, announcing `length` body bytes; the answer must come
        without any body being sent."""
        data = build_request(method, path, {"Content-Type": "application/json",
                                            "Content-Length": str(length), **(headers or {})})
        start = time.monotonic()
        with RawConnection(self.port) as conn:
            conn.send(data)
            resp = conn.read_response(timeout=10)
        return resp, time.monotonic() - start

    def test_inbound_body_over_limit_is_413_before_the_body_is_sent(self):
        resp, elapsed = self.declare("POST", INBOUND, 40_000_000, {"X-Request-Id": "big-1"})
        err = self.assertError(resp, 413, "payload_too_large")
        self.assertEqual(err["request_id"], "big-1")
        self.assertLess(elapsed, 10)

    def test_single_event_limit_is_32_kib(self):
        resp, _ = self.declare("POST", INBOUND, 32 * 1024 + 1, {"X-CC-Api-Key": self.key})
        self.assertError(resp, 413, "payload_too_large")

    def test_batch_body_over_limit_is_413_before_the_body_is_sent(self):
        resp, _ = self.declare("POST", BATCH, 40_000_000)
        self.assertError(resp, 413, "payload_too_large")

    def test_batch_limit_is_1_mib(self):
        resp, _ = self.declare("POST", BATCH, 1024 * 1024 + 1, {"X-CC-Api-Key": self.key})
        self.assertError(resp, 413, "payload_too_large")

    def test_admin_body_limit_is_64_kib(self):
        resp, _ = self.declare("PUT", "/admin/domains/big.example.com", 64 * 1024 + 1,
                               {"Authorization": f"Bearer {self.server.admin_token}"})
        self.assertError(resp, 413, "payload_too_large")

    def test_chunked_body_over_limit_is_413(self):
        head = build_request("POST", INBOUND, {"Content-Type": "application/json",
                                               "Transfer-Encoding": "chunked",
                                               "X-CC-Api-Key": self.key})
        chunk = b"1000\r\n" + b" " * 0x1000 + b"\r\n"  # 4 KiB of JSON whitespace
        with RawConnection(self.port) as conn:
            conn.send(head)
            for _ in range(16):  # up to 64 KiB, stopping as soon as the server answers
                if conn.readable(0.05) or not conn.try_send(chunk):
                    break
            conn.try_send(b"0\r\n\r\n")
            resp = conn.read_response(timeout=10)
        self.assertError(resp, 413, "payload_too_large")
        self.assertHealthy()


class HeaderLimitTest(ServerTestCase):

    def test_one_header_over_16_kib_is_431(self):
        data = build_request("GET", "/healthz", {"X-Pad": "a" * 20_000})
        self.assertError(raw_exchange(self.port, data), 431, "request_header_fields_too_large")
        self.assertHealthy()

    def test_many_headers_over_16_kib_in_total_are_431(self):
        data = build_request("GET", "/healthz", [(f"X-Pad-{i}", "b" * 2000) for i in range(10)])
        self.assertError(raw_exchange(self.port, data), 431, "request_header_fields_too_large")

    def test_headers_under_the_limit_are_served(self):
        data = build_request("GET", "/healthz", [(f"X-Pad-{i}", "c" * 2000) for i in range(6)])
        self.assertStatus(raw_exchange(self.port, data), 200)


class ConnectionTest(ServerTestCase):

    def test_keep_alive_connection_is_reused(self):
        with RawConnection(self.port) as conn:
            for i in range(3):
                conn.send(build_request("GET", "/healthz", {"X-Request-Id": f"ka-{i}"}))
                resp = conn.read_response()
                self.assertStatus(resp, 200)
                self.assertEqual(resp.request_id, f"ka-{i}")
                self.assertNotIn("close", (resp.headers.get("Connection") or "").lower())

    def test_keep_alive_with_http_client(self):
        conn = self.api.connection()
        try:
            self.assertStatus(self.api.get("/healthz", token=None, conn=conn), 200)
            sock = conn.sock
            for _ in range(3):
                self.assertStatus(self.api.get("/readyz", token=None, conn=conn), 200)
                self.assertIs(conn.sock, sock, "the server closed a keep-alive connection")
        finally:
            conn.close()

    def test_pipelined_requests_are_answered_in_order(self):
        requests = (build_request("GET", "/healthz", {"X-Request-Id": "pipe-1"})
                    + build_request("GET", "/no/such/route", {"X-Request-Id": "pipe-2"})
                    + build_request("GET", "/readyz", {"X-Request-Id": "pipe-3"}))
        with RawConnection(self.port) as conn:
            conn.send(requests)
            answers = [conn.read_response() for _ in range(3)]
        self.assertEqual([r.status for r in answers], [200, 404, 200])
        self.assertEqual([r.request_id for r in answers], ["pipe-1", "pipe-2", "pipe-3"])
        self.assertEqual(answers[0].json, {"status": "ok"})
        self.assertEqual(answers[2].json, {"status": "ready"})

    def test_http10_request_is_answered_and_closed(self):
        with RawConnection(self.port) as conn:
            conn.send(b"GET /healthz HTTP/1.0\r\n\r\n")
            resp = conn.read_response()
            self.assertStatus(resp, 200)
            self.assertEqual(resp.json, {"status": "ok"})
            self.assertTrue(resp.request_id)
            self.assertTrue(conn.wait_closed(10), "HTTP/1.0 without keep-alive must be closed")

    def test_garbage_request_is_refused_and_server_survives(self):
        with RawConnection(self.port) as conn:
            conn.send(b"THIS IS NOT HTTP AT ALL\r\n\r\n")
            closed = conn.wait_closed(10)
            if conn.buf:
                self.assertRegex(conn.buf[:13], rb"^HTTP/1\.[01] 4\d\d")
            else:
                self.assertTrue(closed, "neither answered nor closed")
        self.assertHealthy()


class SlowClientTest(ServerTestCase):
    """Clients that never finish are cut off (408 first is optional)."""

    HEADER_TIMEOUT = 1.0
    BODY_TIMEOUT = 1.5
    IDLE_TIMEOUT = 1.5
    SLACK = 5.0
    server_env = {"CC_HEADER_TIMEOUT_MS": "1000", "CC_BODY_TIMEOUT_MS": "1500",
                  "CC_IDLE_TIMEOUT_MS": "1500"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.domain, key = cls.api.new_key()
        cls.key = key["key"]

    def assertCutOff(self, conn, started, limit):
        closed = conn.wait_closed(started + limit - time.monotonic())
        self.assertTrue(closed, f"connection still open after {limit:.1f}s")
        if conn.buf:
            self.assertRegex(conn.buf[:13], rb"^HTTP/1\.[01] 408", conn.buf[:200])
        self.assertHealthy()

    def test_incomplete_headers_are_cut_off(self):
        with RawConnection(self.port) as conn:
            started = time.monotonic()
            conn.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            self.assertCutOff(conn, started, self.HEADER_TIMEOUT + self.SLACK)

    def test_trickled_headers_are_cut_off(self):
        with RawConnection(self.port) as conn:
            started = time.monotonic()
            conn.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            limit = self.HEADER_TIMEOUT + self.SLACK
            # A byte every 200 ms keeps every single read fast; the whole head is still late.
            while time.monotonic() - started < limit:
                if conn.readable(0.2) or not conn.try_send(b"a"):
                    break
            self.assertCutOff(conn, started, limit)

    def incomplete_inbound(self, conn, sent_bytes=10, length=100):
        conn.send(build_request("POST", INBOUND, {"Content-Type": "application/json",
                                                  "X-CC-Api-Key": self.key,
                                                  "Content-Length": str(length)}))
        conn.send(b'{"event": '[:sent_bytes])

    def test_incomplete_body_is_cut_off(self):
        with RawConnection(self.port) as conn:
            started = time.monotonic()
            self.incomplete_inbound(conn)
            self.assertCutOff(conn, started, self.BODY_TIMEOUT + self.SLACK)

    def test_trickled_body_is_cut_off(self):
        with RawConnection(self.port) as conn:
            started = time.monotonic()
            self.incomplete_inbound(conn, length=1000)
            limit = self.BODY_TIMEOUT + self.SLACK
            while time.monotonic() - started < limit:
                if conn.readable(0.2) or not conn.try_send(b" "):
                    break
            self.assertCutOff(conn, started, limit)

    def test_idle_keep_alive_connection_is_closed(self):
        with RawConnection(self.port) as conn:
            conn.send(build_request("GET", "/healthz"))
            self.assertStatus(conn.read_response(), 200)
            started = time.monotonic()
            self.assertTrue(conn.wait_closed(self.IDLE_TIMEOUT + self.SLACK),
                            "idle keep-alive connection was never closed")
            if conn.buf:  # nothing is due on an idle connection, except perhaps a 408
                self.assertRegex(conn.buf[:13], rb"^HTTP/1\.[01] 408", conn.buf[:200])
            self.assertLess(time.monotonic() - started, self.IDLE_TIMEOUT + self.SLACK)
        self.assertHealthy()


if __name__ == "__main__":
    unittest.main()
