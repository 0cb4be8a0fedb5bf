"""Smoke run of the load benchmark (bench/run.sh, docs/PERFORMANCE.md).

A few seconds: QUICK mode, one point (single-event scenario, 10 connections, 2 s), no
nginx, no SQLite probe, no scale runs, no micro-benchmarks, on the binary under test.
It checks only that the script runs to the end and that its honesty check passes: the
events stored equal the events the 2xx answers acknowledged (plus those of requests still
unanswered when wrk stopped). Figures are not checked: this machine may be busy.
Skipped when wrk (or sqlite3, curl) is not installed.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BINARY, assert_no_sanitizer_report

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCRIPT = os.path.join(ROOT, "bench", "run.sh")
MISSING = [tool for tool in ("wrk", "sqlite3", "curl", "bash") if shutil.which(tool) is None]


@unittest.skipIf(MISSING, "not installed: %s (apt-get install -y wrk sqlite3 curl)" % ", ".join(MISSING))
class SmokeBenchTest(unittest.TestCase):
    def test_quick_single_point_is_honest(self):
        with tempfile.TemporaryDirectory(prefix="cc-smoke-bench-") as out:
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": out,
                "TMPDIR": out,
                "QUICK": "1",
                "BENCH_DURATION": "2",
                "BENCH_CONNECTIONS": "10",
                "BENCH_SCENARIOS": "single",
                "BENCH_NGINX": "0",
                "BENCH_PROBE": "0",
                "BENCH_SCALE": "0",
                "BENCH_MICRO": "0",
                "BENCH_BUILD": "0",
                "BENCH_OUT": os.path.join(out, "results"),
                "CC_BINARY": BINARY,
            }
            proc = subprocess.run(["bash", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
                                  timeout=300)
            output = proc.stdout + proc.stderr
            self.assertEqual(proc.returncode, 0, "bench/run.sh failed:\n" + output[-4000:])
            with open(os.path.join(out, "results", "results.jsonl")) as f:
                rows = [json.loads(line) for line in f if line.strip()]
            points = [r for r in rows if r.get("target") == "cc-inbound"]
            self.assertEqual(len(points), 1, output[-4000:])
            point = points[0]
            self.assertEqual(point["scenario"], "single")
            self.assertEqual(point["connections"], 10)
            self.assertTrue(point["honest"], point.get("honesty_note"))
            self.assertEqual(point["server_exit"], 0)
            # The point did real work: every answer a 202, and as many events stored.
            self.assertGreater(point["c202"], 0)
            self.assertEqual(point["c202"], point["answered"], point)
            self.assertEqual(point["stored_delta"], point["accepted"] + point["unanswered_stored"])
            self.assertIn("Honesty: every check passed", proc.stdout)
            # The benchmark's servers are stopped with SIGTERM: a sanitizer build reports there.
            with open(os.path.join(out, "results", "server.log"), encoding="utf-8", errors="replace") as f:
                assert_no_sanitizer_report(f.read().splitlines(), "the benchmark's cc-inbound")


if __name__ == "__main__":
    unittest.main()
