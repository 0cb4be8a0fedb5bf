"""The harness's own guarantees (issue 19 item 8): servers are stopped with SIGTERM, so
LeakSanitizer runs at their exit; any sanitizer report in a server's or a CLI command's
output fails the test; UBSan runs with halt_on_error=1."""

from __future__ import annotations

import os
import unittest
from unittest import mock

import harness
from harness import CcTestCase, Server

ASAN_REPORT = [
    '{"level":"info","msg":"listening"}',
    "=================================================================",
    "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010",
    "    #0 0x55 in cc::web::connection::on_read src/web/connection.cpp:120",
    "SUMMARY: AddressSanitizer: heap-use-after-free src/web/connection.cpp:120",
]
LSAN_REPORT = ["==4242==ERROR: LeakSanitizer: detected memory leaks",
               "Direct leak of 64 byte(s) in 1 object(s) allocated from:"]
UBSAN_REPORT = ["src/events/decimal.cpp:88:17: runtime error: signed integer overflow: "
                "9223372036854775807 + 1 cannot be represented in type 'long'"]


class SanitizerReportTest(unittest.TestCase):

    def test_reports_of_every_sanitizer_are_found(self):
        for report in (ASAN_REPORT, LSAN_REPORT, UBSAN_REPORT):
            with self.subTest(report=report[-1]):
                self.assertTrue(harness.sanitizer_reports(report))
                with self.assertRaises(AssertionError):
                    harness.assert_no_sanitizer_report(report, "a server")

    def test_ordinary_log_lines_are_not_reports(self):
        lines = ['{"level":"error","msg":"admin storage error","error":"database is locked"}',
                 '{"level":"info","msg":"request","status":500,"code":"internal_error"}']
        self.assertEqual(harness.sanitizer_reports(lines), [])
        harness.assert_no_sanitizer_report(lines, "a server")

    def test_closing_a_server_with_a_report_in_its_stderr_fails(self):
        server = Server()
        with server._lock:
            server._lines.extend(("stderr", line) for line in LSAN_REPORT)
        with self.assertRaisesRegex(AssertionError, "LeakSanitizer"):
            server.close()

    def test_children_run_ubsan_with_halt_on_error_and_leak_detection(self):
        with mock.patch.dict(os.environ, {"UBSAN_OPTIONS": "halt_on_error=0", "ASAN_OPTIONS": "detect_leaks=0"}):
            env = harness.server_environment("/nonexistent/cc.db")
        # Ours come last, so they win over what the environment of the run set.
        self.assertTrue(env["UBSAN_OPTIONS"].endswith("halt_on_error=1"), env["UBSAN_OPTIONS"])
        self.assertTrue(env["ASAN_OPTIONS"].endswith("detect_leaks=1"), env["ASAN_OPTIONS"])


class ServerStopTest(CcTestCase):

    def test_close_stops_the_server_with_sigterm(self):
        server = Server()
        server.start()
        self.assertStatus(server.api.get("/healthz", token=None), 200)
        server.close()
        # A SIGKILLed process reports -9; SIGTERM lets it drain and exit 0 (and run LSan).
        self.assertEqual(server.proc.returncode, 0, server.log_tail())


if __name__ == "__main__":
    unittest.main()
