"""Operations hardening: /readyz names the failed check, files are the owner's only,
backups never follow a link, admin tokens are long and may come from files, secrets leave
the environment and the command line, core dumps are off, repeated failed admin
authentications are slowed down without holding a network thread, and the docs'
commands work as written."""

import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (BINARY, HERE, Api, CcTestCase, RawConnection, Server, build_request, check_binary,
                     poll, run_cli, server_environment)

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
LONG_TOKEN = "ops-" + "0123456789abcdef" * 3


def first_json_line(server):
    for line in server.log_lines("stdout"):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class ReadinessNamesTheFailedCheckTest(CcTestCase):

    def test_storage_failure_is_named_and_clears(self):
        server = self.start_server()
        ready = server.api.get("/readyz", token=None)
        self.assertStatus(ready, 200)
        self.assertEqual(ready.json, {"status": "ready"})
        db = sqlite3.connect(server.database, isolation_level=None, timeout=10)
        self.addCleanup(db.close)
        version = db.execute("SELECT version FROM registry_version WHERE id = 1").fetchone()[0]
        db.execute("DELETE FROM registry_version WHERE id = 1")

        def not_ready():
            resp = server.api.get("/readyz", token=None)
            return resp if resp.status != 200 else None

        resp = poll(not_ready, 10, what="/readyz to report the broken storage")
        self.assertError(resp, 503, "unavailable")
        self.assertRegex(resp.headers.get("Retry-After") or "", r"^\d+$")
        self.assertEqual([d["field"] for d in resp.json["error"]["details"]], ["storage"], resp)
        self.assertIn("storage", resp.json["error"]["message"])
        self.assertNotIn("draining", resp.json["error"]["message"])
        # /healthz is about the process, not its storage
        self.assertStatus(server.api.get("/healthz", token=None), 200)
        db.execute("INSERT INTO registry_version (id, version) VALUES (1, ?)", (version,))
        poll(lambda: server.api.get("/readyz", token=None).status == 200, 10, what="/readyz to recover")


class FileModesTest(CcTestCase):
    """umask 077 at start-up: database, -wal, -shm, backups and new folders are the owner's."""

    def test_database_files_folders_and_backups_are_owner_only(self):
        old = os.umask(0o022)  # what a shell usually has: the service must not rely on it
        self.addCleanup(os.umask, old)
        root = tempfile.mkdtemp(prefix="cc-e2e-modes-")
        self.addCleanup(shutil.rmtree, root, True)
        database = os.path.join(root, "new", "folder", "cc.db")
        server = self.start_server(database=database)
        domain, _ = server.api.new_key("command")
        for path in (database, database + "-wal", database + "-shm"):
            with self.subTest(path=os.path.basename(path)):
                self.assertTrue(os.path.exists(path), path)
                self.assertEqual(mode(path), 0o600, oct(mode(path)))
        for folder in (os.path.join(root, "new"), os.path.dirname(database)):
            with self.subTest(folder=folder):
                self.assertEqual(mode(folder), 0o700, oct(mode(folder)))
        backup = os.path.join(root, "backup.db")
        result = run_cli(["backup", backup], database)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(mode(backup), 0o600, oct(mode(backup)))
        copy = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        self.addCleanup(copy.close)
        self.assertEqual(copy.execute("SELECT count(*) FROM domains WHERE domain = ?", (domain,)).fetchone()[0], 1)

    def test_backup_refuses_a_dangling_symlink_and_an_existing_file(self):
        root = tempfile.mkdtemp(prefix="cc-e2e-link-")
        self.addCleanup(shutil.rmtree, root, True)
        database = os.path.join(root, "cc.db")
        self.assertEqual(run_cli(["migrate"], database).returncode, 0)
        target = os.path.join(root, "elsewhere", "planted.db")
        os.makedirs(os.path.dirname(target))
        link = os.path.join(root, "backup.db")
        os.symlink(target, link)
        result = run_cli(["backup", link], database)
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertFalse(os.path.exists(target), "the backup followed a dangling symbolic link")
        existing = os.path.join(root, "existing.db")
        with open(existing, "w") as f:
            f.write("keep me")
        result = run_cli(["backup", existing], database)
        self.assertNotEqual(result.returncode, 0)
        with open(existing) as f:
            self.assertEqual(f.read(), "keep me")


class AdminTokenRulesTest(CcTestCase):

    def serve_once(self, env, args=()):
        check_binary()
        workdir = tempfile.mkdtemp(prefix="cc-e2e-tok-")
        self.addCleanup(shutil.rmtree, workdir, True)
        return subprocess.run([BINARY, "serve", *args], cwd=workdir, capture_output=True, timeout=30,
                              env=server_environment(os.path.join(workdir, "cc.db"), None, env))

    def test_short_token_is_refused_at_start_up_without_quoting_it(self):
        result = self.serve_once({"CC_ADMIN_TOKEN": "S3cret-but-short"})
        self.assertEqual(result.returncode, 2, result.stdout)
        err = result.stderr.decode()
        self.assertIn("admin_token", err)
        self.assertIn("32", err)
        self.assertNotIn("S3cret", err + result.stdout.decode())

    def test_token_from_a_file_works_and_the_variable_holding_it_is_not_needed(self):
        folder = tempfile.mkdtemp(prefix="cc-e2e-secret-")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "admin-token")
        with open(path, "w") as f:
            f.write(LONG_TOKEN + "\n")
        server = self.start_server({"CC_ADMIN_TOKEN_FILE": path}, admin_token=None)
        api = Api(server.host, server.port, LONG_TOKEN)
        self.assertStatus(api.get("/admin/domains"), 200)
        self.assertError(api.get("/admin/domains", token=LONG_TOKEN + "x"), 401, "unauthorized")
        self.assertNotIn(LONG_TOKEN, server.log_text())

    def test_token_variable_is_wiped_from_the_process_environment(self):
        server = self.start_server()
        with open(f"/proc/{server.proc.pid}/environ", "rb") as f:
            environ = f.read()
        self.assertNotIn(server.admin_token.encode(), environ)
        self.assertIn(b"CC_DATABASE=", environ)  # the rest of the environment is left alone
        self.assertStatus(server.api.get("/admin/domains"), 200)

    def test_token_flag_is_warned_about_and_hidden_from_the_command_line(self):
        server = self.start_server(admin_token=None, args=["--admin-token", LONG_TOKEN])
        with open(f"/proc/{server.proc.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        self.assertNotIn(LONG_TOKEN.encode(), cmdline)
        self.assertStatus(Api(server.host, server.port, LONG_TOKEN).get("/admin/domains"), 200)
        warnings = [json.loads(l) for l in server.log_lines("stdout") if '"insecure configuration"' in l]
        self.assertEqual(len(warnings), 1, server.log_tail())
        self.assertEqual(warnings[0]["level"], "warning")
        self.assertIn("CC_ADMIN_TOKEN_FILE", warnings[0]["hint"])
        self.assertNotIn(LONG_TOKEN, server.log_text())

    def test_without_a_token_the_first_log_line_says_how_to_give_one(self):
        server = self.start_server(admin_token=None)
        first = first_json_line(server)
        self.assertEqual(first.get("msg"), "admin API disabled", server.log_tail())
        self.assertIn("CC_ADMIN_TOKEN_FILE", first.get("hint", ""))
        self.assertIn("CC_ADMIN_TOKEN", first.get("hint", "").replace("CC_ADMIN_TOKEN_FILE", ""))


class CoreDumpsTest(CcTestCase):

    def test_core_dumps_are_off_in_serve(self):
        server = self.start_server()
        with open(f"/proc/{server.proc.pid}/limits") as f:
            line = next(l for l in f if l.startswith("Max core file size"))
        self.assertEqual(line.split()[4:6], ["0", "0"], line)
        listening = next(json.loads(l) for l in server.log_lines("stdout") if '"msg":"listening"' in l)
        self.assertIs(listening.get("core_dumps"), False, listening)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to start the server as another user")
    def test_process_is_not_dumpable(self):
        # A process that is not dumpable gets its /proc files owned by root; run the
        # server as nobody so that the ownership shows it.
        check_binary()
        workdir = tempfile.mkdtemp(prefix="cc-e2e-dump-")
        self.addCleanup(shutil.rmtree, workdir, True)
        os.chmod(workdir, 0o777)
        env = server_environment(os.path.join(workdir, "cc.db"), None, {"CC_LOG_LEVEL": "error"})
        proc = subprocess.Popen([BINARY, "serve"], cwd=workdir, env=env, user=65534, group=65534,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        line = proc.stdout.readline().decode()
        self.assertIn('"msg":"listening"', line, proc.stderr.read(4000) if proc.poll() is not None else line)
        status = os.stat(f"/proc/{proc.pid}/environ")
        self.assertEqual(status.st_uid, 0, "the server's /proc files are its own: it is dumpable")


class AdminFailureThrottleTest(CcTestCase):
    """After five failures from one address, each further one is answered later (still
    401), doubling; the network thread is free meanwhile and a right token is not slowed."""

    def test_repeated_failures_are_slowed_down_without_blocking(self):
        server = self.start_server({"CC_ADMIN_FAILURE_DELAY_MS": "400", "CC_THREADS": "1"})
        api = server.api
        for _ in range(5):
            self.assertError(api.get("/admin/domains", token="wrong-" + LONG_TOKEN), 401, "unauthorized")
        for expected in (0.4, 0.8):
            started = time.monotonic()
            resp = api.get("/admin/domains", token="wrong-" + LONG_TOKEN)
            elapsed = time.monotonic() - started
            self.assertError(resp, 401, "unauthorized")
            self.assertGreaterEqual(elapsed, expected - 0.02, f"failure answered after {elapsed:.3f}s")
        # The next failure waits 1.6 s; meanwhile the one network thread serves others.
        delayed = {}

        def guess():
            delayed["resp"] = api.get("/admin/domains", token="wrong-" + LONG_TOKEN)
            delayed["at"] = time.monotonic()

        thread = threading.Thread(target=guess, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        time.sleep(0.1)  # let the guess reach the server (it is answered 1.6 s later at the earliest)
        self.assertStatus(api.get("/healthz", token=None), 200)
        self.assertStatus(api.get("/admin/domains"), 200)  # the right token is answered at once
        answered_others = time.monotonic()
        thread.join(10)
        self.assertError(delayed["resp"], 401, "unauthorized")
        self.assertLess(answered_others, delayed["at"], "others waited for the delayed 401")
        # Without credentials nothing was guessed: never delayed.
        started = time.monotonic()
        self.assertError(api.get("/admin/domains", token=None), 401, "unauthorized")
        self.assertLess(time.monotonic() - started, 1.5)


class ConfigAndLogsTest(CcTestCase):

    def test_config_syntax_error_reports_the_position_only(self):
        folder = tempfile.mkdtemp(prefix="cc-e2e-conf-")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "cc.json")
        with open(path, "w") as f:
            f.write('{\n  "listen": "127.0.0.1:0",\n  "admin_token": "S3cretToken0123456789abcdef0123456789\n}\n')
        result = run_cli(["serve", "--config", path], os.path.join(folder, "cc.db"))
        self.assertEqual(result.returncode, 2, result.stdout)
        err = result.stderr.decode()
        self.assertRegex(err, r"line 3, column \d+")
        self.assertNotIn("S3cret", err)
        self.assertNotIn("last read", err)

    def test_log_level_warning_is_accepted_as_log_lines_spell_it(self):
        for how in ({"env": {"CC_LOG_LEVEL": "warning"}}, {"args": ["--log-level", "warning"]}):
            with self.subTest(**{k: str(v) for k, v in how.items()}):
                server = self.start_server(how.get("env"), admin_token=None, args=how.get("args", ()))
                first = first_json_line(server)
                self.assertEqual(first["level"], "warning", first)
                self.assertStatus(server.api.get("/healthz", token=None), 200)
                self.assertNotIn('"msg":"request"', server.log_text())  # info lines are off

    def test_log_numbers_carry_no_float_noise(self):
        server = self.start_server()
        for _ in range(20):
            server.api.get("/healthz", token=None)
        lines = poll(lambda: [l for l in server.log_lines("stdout") if '"msg":"request"' in l and "/healthz" in l]
                     if len([l for l in server.log_lines("stdout") if '"msg":"request"' in l]) >= 20 else None,
                     10, what="20 request log lines")
        for line in lines:
            latency = re.search(r'"latency_ms":([0-9.eE+-]+)', line)
            self.assertIsNotNone(latency, line)
            self.assertRegex(latency.group(1), r"^\d+(\.\d{1,3})?$", line)


class DocsMatchBehaviourTest(CcTestCase):

    def test_markdown_links_point_at_files_in_the_repository(self):
        files = [os.path.join(ROOT, "README.md")] + [
            os.path.join(ROOT, "docs", n) for n in sorted(os.listdir(os.path.join(ROOT, "docs"))) if n.endswith(".md")]
        for path in files:
            with open(path) as f:
                text = f.read()
            for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
                if re.match(r"^[a-z]+:", target):
                    continue
                with self.subTest(doc=os.path.relpath(path, ROOT), link=target):
                    self.assertTrue(os.path.exists(os.path.join(os.path.dirname(path), target)), target)
            with self.subTest(doc=os.path.relpath(path, ROOT), check="no path to the SPEC outside the repository"):
                self.assertNotIn("../shared/SPEC.md", text)

    def test_operations_backup_example_runs_on_a_default_install(self):
        with open(os.path.join(ROOT, "docs", "OPERATIONS.md")) as f:
            text = f.read()
        section = text[text.index("## Back up and restore"):]
        block = re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip()
        self.assertEqual(len(block.splitlines()), 1, block)
        # A default install: the project root with build/cc-inbound and data/cc-inbound.db.
        root = tempfile.mkdtemp(prefix="cc-e2e-install-")
        self.addCleanup(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, "build"))
        os.symlink(BINARY, os.path.join(root, "build", "cc-inbound"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
        migrated = subprocess.run([BINARY, "migrate"], cwd=root, env=env, capture_output=True, timeout=60)
        self.assertEqual(migrated.returncode, 0, migrated.stderr)
        self.assertTrue(os.path.exists(os.path.join(root, "data", "cc-inbound.db")))
        result = subprocess.run(["bash", "-c", block], cwd=root, env=env, capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0, (block, result.stderr))
        backups = [n for n in os.listdir(os.path.join(root, "data")) if n.startswith("cc-backup-")]
        self.assertEqual(len(backups), 1, os.listdir(os.path.join(root, "data")))

    def test_cors_preflight_example_sets_the_origin_first(self):
        with open(os.path.join(ROOT, "docs", "ADMIN_API.md")) as f:
            text = f.read()
        section = text[text.index("## CORS"):]
        block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
        origin = re.search(r"Origin: (https://[^' ]+)", block).group(1)
        self.assertLess(block.index("CC_CORS_ORIGINS=" + origin), block.index("OPTIONS"), block)
        # and the preflight it shows works against a server configured that way
        server = self.start_server({"CC_CORS_ORIGINS": origin})
        with RawConnection(server.port) as conn:
            conn.send(build_request("OPTIONS", "/admin/keys", {"Origin": origin,
                                                                "Access-Control-Request-Method": "POST"}))
            resp = conn.read_response()
        self.assertStatus(resp, 204)
        self.assertEqual(resp.headers.get("Access-Control-Allow-Origin"), origin)

    def test_architecture_first_purge_time_matches_the_code(self):
        with open(os.path.join(ROOT, "src", "app", "maintenance.cpp")) as f:
            code = f.read()
        seconds = re.search(r"next_purge = steady_clock::now\(\) \+ seconds\((\d+)\)", code).group(1)
        with open(os.path.join(ROOT, "docs", "ARCHITECTURE.md")) as f:
            doc = f.read()
        self.assertIn(f"first pass {seconds} s after start", doc)


if __name__ == "__main__":
    unittest.main()
