"""The command line: `migrate` and the schema guard, the operator commands (domains,
keys) and their plan limits, keys managed from the CLI while a server runs on the same
database, settings from file / environment / flags, `--help` and `healthcheck`."""

import atexit
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (BINARY, KEY_ID_RE, KEY_RE, START_TIMEOUT, Api, CcTestCase, Server, check_binary,
                     key_checksum_ok, poll, run_cli, server_environment, unique_domain)

CLI_TIMEOUT = 60.0
# SPEC §4: a change made through the CLI reaches a server running on the same database
# within 100 ms. The tests wait exactly that long after the CLI has exited, then send
# one request: no polling, so a slower reload fails them.
KEY_PROPAGATION = 0.1


def text(result) -> str:
    return (result.stdout + result.stderr).decode("utf-8", "replace")


def unlistened_port() -> socket.socket:
    """A socket bound to a port and not listening: connections to the port are refused, and
    no other process can take the port while the socket is open (a port freed and reused
    could meanwhile belong to another test's server)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


class ArgServer(Server):
    """A harness Server started with extra command-line arguments (flags before or after
    `serve`); the harness's own Server always runs plain `cc-inbound serve`."""

    def __init__(self, args, env=None, **kw):
        super().__init__(env, **kw)
        self.args = list(args)

    def start(self, timeout=START_TIMEOUT):
        check_binary()
        self.proc = subprocess.Popen(
            [BINARY, *self.args], cwd=self.tmpdir,
            env=server_environment(self.database, self.admin_token, self.env),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        atexit.register(self.kill)  # never leave a server behind
        for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            pump = threading.Thread(target=self._pump, args=(name, stream), daemon=True)
            pump.start()
            self._pumps.append(pump)
        self._listening.wait(timeout)
        if self.port is None:
            code = self.proc.poll()
            self.kill()
            raise RuntimeError(f"server did not report listening within {timeout}s "
                               f"(exit code {code}); log:\n{self.log_tail()}")
        self.api = Api(self.host, self.port, self.admin_token)
        return self

    def listening(self) -> dict:
        for line in self.log_lines("stdout"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and obj.get("msg") == "listening":
                return obj
        raise AssertionError(f"no listening line in {self.log_tail()}")


class CliTestCase(CcTestCase):

    def cli(self, args, database, env=None, timeout=CLI_TIMEOUT) -> subprocess.CompletedProcess:
        try:
            return run_cli(args, database, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"`cc-inbound {' '.join(args)}` did not exit within {timeout}s")

    def ok(self, args, database, env=None):
        """Run and expect exit 0 with JSON on stdout; returns the parsed JSON."""
        result = self.cli(args, database, env)
        self.assertEqual(result.returncode, 0, f"{args}: {text(result)}")
        try:
            return json.loads(result.stdout)
        except ValueError:
            self.fail(f"{args}: stdout is not JSON: {result.stdout!r}")

    def refused(self, args, database, code, env=None):
        """Run and expect a non-zero exit naming the error code on stderr, nothing on stdout."""
        result = self.cli(args, database, env)
        self.assertNotEqual(result.returncode, 0, f"{args}: {text(result)}")
        self.assertIn(code, result.stderr.decode(), f"{args}: {text(result)}")
        self.assertEqual(result.stdout.strip(), b"", f"{args}: {text(result)}")
        return result


# ----------------------------------------------------------------------------- migrations

class MigrateCommandTest(CliTestCase):

    def migrated(self):
        database = self.temp_database()
        result = self.cli(["migrate"], database)
        self.assertEqual(result.returncode, 0, text(result))
        return database

    def test_migrate_on_a_fresh_database_creates_the_schema(self):
        database = self.migrated()
        with sqlite3.connect(database) as db:
            versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        self.assertIn(1, versions)
        self.assertEqual(versions, sorted(set(versions)))
        self.assertLessEqual({"schema_migrations", "domains", "api_keys", "events"}, tables)
        self.assertEqual(mode.lower(), "wal")

    def test_migrate_records_name_and_checksum(self):
        database = self.migrated()
        with sqlite3.connect(database) as db:
            rows = db.execute("SELECT version, name, checksum, applied_at FROM schema_migrations").fetchall()
        for version, name, checksum, applied_at in rows:
            self.assertTrue(name)
            self.assertRegex(checksum, r"^[0-9a-f]{64}$")
            self.assertGreater(applied_at, 0)

    def test_migrate_reports_what_it_did(self):
        database = self.temp_database()
        result = self.cli(["migrate"], database)
        self.assertEqual(result.returncode, 0, text(result))
        lines = [json.loads(l) for l in result.stdout.decode().splitlines() if l.strip()]
        migrated = [l for l in lines if l.get("msg") == "migrated"]
        self.assertEqual(len(migrated), 1, result.stdout)
        self.assertIn(1, migrated[0].get("applied", []))
        again = self.cli(["migrate"], database)
        self.assertEqual(again.returncode, 0, text(again))
        lines = [json.loads(l) for l in again.stdout.decode().splitlines() if l.strip()]
        self.assertEqual([l.get("applied") for l in lines if l.get("msg") == "migrated"], [[]])

    def newer_database(self):
        database = self.migrated()
        with sqlite3.connect(database) as db:
            db.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                       "VALUES (999, '0999_from_the_future.sql', ?, 1)", ("0" * 64,))
        return database

    def assertRefusedMentioningMigration(self, result, *words):
        self.assertNotEqual(result.returncode, 0, text(result))
        message = text(result).lower()
        self.assertIn("migration", message)
        for word in words:
            self.assertIn(word, message)

    def test_serve_refuses_a_database_newer_than_the_binary(self):
        database = self.newer_database()
        self.assertRefusedMentioningMigration(self.cli(["serve"], database), "999")

    def test_migrate_refuses_a_database_newer_than_the_binary(self):
        database = self.newer_database()
        self.assertRefusedMentioningMigration(self.cli(["migrate"], database), "999")
        with sqlite3.connect(database) as db:  # and leaves it alone
            self.assertEqual(db.execute("SELECT count(*) FROM schema_migrations WHERE version = 999").fetchone()[0], 1)

    def test_operator_commands_refuse_a_database_newer_than_the_binary(self):
        database = self.newer_database()
        self.assertRefusedMentioningMigration(self.cli(["domains", "list"], database), "999")

    def test_changed_checksum_of_an_applied_migration_is_refused(self):
        database = self.migrated()
        with sqlite3.connect(database) as db:
            db.execute("UPDATE schema_migrations SET checksum = ? WHERE version = 1", ("f" * 64,))
        self.assertRefusedMentioningMigration(self.cli(["serve"], database))
        self.assertRefusedMentioningMigration(self.cli(["migrate"], database))


# ----------------------------------------------------------------------------- operator commands

class MissingDatabaseTest(CliTestCase):
    """Only `migrate` (and `serve`) create a database: a typo in a path must not leave an
    empty one behind and report success."""

    def test_operator_commands_refuse_a_database_that_does_not_exist(self):
        parent = tempfile.mkdtemp(prefix="cc-e2e-missing-")
        self.addCleanup(shutil.rmtree, parent, True)
        missing_dir = os.path.join(parent, "nonexistent-dir")
        database = os.path.join(missing_dir, "x.db")
        commands = [
            ["domains", "list"],
            ["domains", "set", "example.com", "signal"],
            ["keys", "create", "--domain", "example.com", "--name", "n"],
            ["keys", "list", "--domain", "example.com"],
            ["keys", "revoke", "key_abc"],
            ["keys", "restore", "key_abc"],
            ["keys", "delete", "key_abc"],
            ["keys", "roll", "key_abc"],
            ["backup", os.path.join(parent, "copy.db")],
        ]
        for args in commands:
            with self.subTest(args=args):
                result = self.cli(args, database)
                self.assertNotEqual(result.returncode, 0, text(result))
                self.assertEqual(result.stdout.strip(), b"", text(result))
                message = result.stderr.decode()
                self.assertIn(database, message)
                self.assertIn("migrate", message)
                self.assertFalse(os.path.exists(missing_dir), f"{args} created {missing_dir}")
        # A missing file in a directory that exists is refused the same way.
        database = os.path.join(parent, "typo.db")
        result = self.cli(["domains", "list"], database)
        self.assertNotEqual(result.returncode, 0, text(result))
        self.assertEqual(os.listdir(parent), [])
        # migrate creates it; the same command then works.
        self.assertEqual(self.cli(["migrate"], database).returncode, 0)
        self.assertEqual(self.ok(["domains", "list"], database), [])


class OperatorCommandsTest(CliTestCase):

    def setUp(self):
        self.database = self.temp_database()
        # The operator commands need an existing database (MissingDatabaseTest).
        result = self.cli(["migrate"], self.database)
        self.assertEqual(result.returncode, 0, text(result))

    def domain(self, plan="signal"):
        domain = unique_domain("cli")
        obj = self.ok(["domains", "set", domain, plan], self.database)
        self.assertDomainObject(obj, domain, plan)
        return domain

    def create(self, domain, name="Backend"):
        obj = self.ok(["keys", "create", "--domain", domain, "--name", name], self.database)
        self.assertKeyObject(obj, with_key=True)
        return obj

    def test_domains_set_and_list(self):
        obj = self.ok(["domains", "set", "example.com", "signal"], self.database)
        self.assertDomainObject(obj, "example.com", "signal")
        self.assertEqual(obj["active_keys"], 0)
        listed = self.ok(["domains", "list"], self.database)
        self.assertIsInstance(listed, list)
        self.assertEqual([d["domain"] for d in listed], ["example.com"])
        self.assertDomainObject(listed[0], "example.com", "signal")
        # change the plan
        obj = self.ok(["domains", "set", "example.com", "clarity"], self.database)
        self.assertDomainObject(obj, "example.com", "clarity")

    def test_domains_set_refuses_an_unknown_plan_and_a_bad_name(self):
        self.refused(["domains", "set", "example.com", "platinum"], self.database, "validation_failed")
        self.refused(["domains", "set", "not a domain", "signal"], self.database, "validation_failed")
        self.assertEqual(self.ok(["domains", "list"], self.database), [])

    def test_keys_create_prints_the_full_key_once(self):
        domain = self.domain()
        created = self.create(domain, "Backend")
        self.assertRegex(created["key"], KEY_RE)
        self.assertTrue(key_checksum_ok(created["key"]))
        self.assertRegex(created["id"], KEY_ID_RE)
        self.assertEqual(created["name"], "Backend")
        self.assertEqual(created["domain"], domain)
        self.assertEqual(created["status"], "active")

        result = self.cli(["keys", "list", "--domain", domain], self.database)
        self.assertEqual(result.returncode, 0, text(result))
        self.assertNotIn(created["key"], text(result))
        listing = json.loads(result.stdout)
        self.assertEqual(listing["domain"], domain)
        self.assertEqual(listing["active_keys"], 1)
        self.assertEqual(len(listing["keys"]), 1)
        self.assertKeyObject(listing["keys"][0])
        self.assertEqual(listing["keys"][0]["id"], created["id"])
        self.assertEqual(listing["keys"][0]["prefix"], created["key"][:11])
        # The database holds only a hash.
        with sqlite3.connect(self.database) as db:
            for row in db.execute("SELECT * FROM api_keys"):
                for value in row:
                    self.assertNotEqual(value, created["key"])
                    if isinstance(value, (bytes, str)):
                        self.assertNotIn(created["key"], str(value))

    def test_keys_create_for_an_unknown_domain_is_refused(self):
        self.refused(["keys", "create", "--domain", unique_domain("none"), "--name", "x"],
                     self.database, "domain_not_found")

    def test_keys_create_validates_the_name(self):
        domain = self.domain()
        self.refused(["keys", "create", "--domain", domain, "--name", "   "], self.database, "validation_failed")
        self.refused(["keys", "create", "--domain", domain, "--name", "n" * 101], self.database, "validation_failed")

    def test_keys_create_with_expiry(self):
        domain = self.domain()
        created = self.ok(["keys", "create", "--domain", domain, "--name", "temp",
                           "--expires-at", "2099-01-01T00:00:00Z"], self.database)
        self.assertEqual(created["expires_at"], "2099-01-01T00:00:00.000Z")
        bad = self.cli(["keys", "create", "--domain", domain, "--name", "temp", "--expires-at", "tomorrow"],
                       self.database)
        self.assertNotEqual(bad.returncode, 0, text(bad))
        self.assertIn("expires-at", bad.stderr.decode())

    def test_pulse_plan_limit_is_enforced(self):
        domain = self.domain("pulse")
        first = self.create(domain, "one")
        self.create(domain, "two")
        result = self.refused(["keys", "create", "--domain", domain, "--name", "three"],
                              self.database, "plan_limit_reached")
        self.assertNotRegex(result.stderr.decode(), r"cc_[0-9A-Za-z]{38}")
        listing = self.ok(["keys", "list", "--domain", domain], self.database)
        self.assertEqual(len(listing["keys"]), 2)
        # Revoked keys do not count: revoke one, a new one fits, restoring the old is refused.
        self.ok(["keys", "revoke", first["id"]], self.database)
        self.create(domain, "three")
        self.refused(["keys", "restore", first["id"]], self.database, "plan_limit_reached")

    def test_revoke_restore_roll_delete(self):
        domain = self.domain()
        created = self.create(domain)
        key_id = created["id"]

        revoked = self.ok(["keys", "revoke", key_id], self.database)
        self.assertKeyObject(revoked)
        self.assertEqual(revoked["status"], "revoked")
        self.assertIsNotNone(revoked["revoked_at"])
        again = self.ok(["keys", "revoke", key_id], self.database)  # a no-op
        self.assertEqual(again["status"], "revoked")

        restored = self.ok(["keys", "restore", key_id], self.database)
        self.assertEqual(restored["status"], "active")
        self.assertIsNone(restored["revoked_at"])

        rolled = self.ok(["keys", "roll", key_id, "--grace-seconds", "3600"], self.database)
        rolled_from = rolled.pop("rolled_from")
        self.assertKeyObject(rolled_from)
        self.assertEqual((rolled_from["id"], rolled_from["rolled_to"]), (key_id, rolled["id"]))
        self.assertKeyObject(rolled, with_key=True)
        self.assertNotEqual(rolled["id"], key_id)
        self.assertNotEqual(rolled["key"], created["key"])
        self.assertEqual((rolled["domain"], rolled["name"]), (domain, created["name"]))
        listing = self.ok(["keys", "list", "--domain", domain], self.database)
        old = next(k for k in listing["keys"] if k["id"] == key_id)
        self.assertIsNotNone(old["expires_at"], "the rolled key gets an expiry")
        self.assertNotIn(rolled["key"], json.dumps(listing))
        self.refused(["keys", "roll", key_id], self.database, "key_already_rolled")

        result = self.cli(["keys", "delete", key_id], self.database)
        self.assertEqual(result.returncode, 0, text(result))
        listing = self.ok(["keys", "list", "--domain", domain], self.database)
        self.assertEqual([k["id"] for k in listing["keys"]], [rolled["id"]])
        self.refused(["keys", "delete", key_id], self.database, "key_not_found")
        self.refused(["keys", "revoke", key_id], self.database, "key_not_found")

    def test_roll_refuses_a_grace_over_30_days(self):
        domain = self.domain()
        created = self.create(domain)
        result = self.cli(["keys", "roll", created["id"], "--grace-seconds", str(31 * 86400)], self.database)
        self.assertNotEqual(result.returncode, 0, text(result))
        self.assertEqual(result.stdout.strip(), b"")

    def test_unknown_key_ids_are_refused(self):
        for command in ("revoke", "restore", "delete", "roll"):
            with self.subTest(command):
                self.refused(["keys", command, "key_doesnotexist"], self.database, "key_not_found")

    def test_missing_subcommand_or_argument_is_a_usage_error(self):
        for args in (["keys"], ["domains"], ["keys", "create", "--domain", "example.com"],
                     ["keys", "revoke"], ["no-such-command"]):
            with self.subTest(args=args):
                result = self.cli(args, self.database)
                self.assertNotEqual(result.returncode, 0, text(result))


class CliWithRunningServerTest(CliTestCase):
    """The CLI writes the database a server is serving from: the server picks the change
    up without a restart (it reloads its key index when the registry changes)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dbdir = tempfile.mkdtemp(prefix="cc-e2e-cli-db-")
        cls.database = os.path.join(cls.dbdir, "cc.db")
        cls.server = Server(database=cls.database)
        cls.addClassCleanup(cls.server.close)
        cls.addClassCleanup(shutil.rmtree, cls.dbdir, True)
        cls.server.start()
        cls.api = cls.server.api

    def setUp(self):
        self.assertTrue(self.server.running, self.server.log_tail())

    def send(self, key):
        return self.api.inbound(key, {"event": "lead", "email": "cli@example.com"})

    def wait_for_status(self, key, status, what):
        """The very next request, KEY_PROPAGATION after the CLI exited, has `status`."""
        time.sleep(KEY_PROPAGATION)
        resp = self.send(key)
        self.assertEqual(resp.status, status, f"{what}: {resp.status} {resp.text}")
        return resp, KEY_PROPAGATION

    def test_key_created_by_the_cli_authenticates_against_the_running_server(self):
        domain = unique_domain("clirun")
        self.ok(["domains", "set", domain, "signal"], self.database)
        created = self.ok(["keys", "create", "--domain", domain, "--name", "from the cli"], self.database)
        resp, _ = self.wait_for_status(created["key"], 202, "the CLI-created key to be accepted")
        self.assertAccepted(resp)
        # The admin API of the running server sees the CLI's domain, key and audit trail.
        listing = self.api.list_keys(domain)
        self.assertStatus(listing, 200)
        self.assertEqual([k["id"] for k in listing.json["keys"]], [created["id"]])
        audit = self.api.all_audit(domain)
        self.assertTrue(any(e.get("actor") == "cli" for e in audit), audit)

    def test_key_revoked_by_the_cli_is_refused_by_the_running_server(self):
        domain = self.api.create_domain("signal")
        created = self.api.create_key(domain, "revoke me from the cli")
        self.assertAccepted(self.send(created["key"]))
        self.ok(["keys", "revoke", created["id"]], self.database)
        resp, _ = self.wait_for_status(created["key"], 401, "the CLI-revoked key to be refused")
        self.assertError(resp, 401, "revoked_api_key")
        self.assertIn(created["prefix"], resp.json["error"]["message"])
        # and restored again from the CLI
        self.ok(["keys", "restore", created["id"]], self.database)
        self.assertAccepted(self.wait_for_status(created["key"], 202, "the restored key")[0])

    def test_key_deleted_by_the_cli_is_refused_by_the_running_server(self):
        domain = self.api.create_domain("signal")
        created = self.api.create_key(domain, "delete me from the cli")
        self.assertAccepted(self.send(created["key"]))
        result = self.cli(["keys", "delete", created["id"]], self.database)
        self.assertEqual(result.returncode, 0, text(result))
        resp, _ = self.wait_for_status(created["key"], 401, "the CLI-deleted key to be refused")
        self.assertError(resp, 401, "invalid_api_key")
        self.assertStatus(self.api.get_key(created["id"]), 404)

    def test_cli_plan_limit_counts_keys_made_over_http(self):
        domain = self.api.create_domain("pulse")
        self.api.create_key(domain, "http one")
        self.api.create_key(domain, "http two")
        self.refused(["keys", "create", "--domain", domain, "--name", "cli three"], self.database,
                     "plan_limit_reached")


# ----------------------------------------------------------------------------- settings

class SettingsTest(CliTestCase):

    def assertOneLineNaming(self, result, setting):
        self.assertEqual(result.returncode, 2, text(result))
        lines = [l for l in result.stderr.decode().splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn(setting, lines[0])

    def test_bad_number_in_the_environment_exits_2_naming_the_setting(self):
        result = self.cli(["serve"], self.temp_database(), env={"CC_HEADER_TIMEOUT_MS": "abc"})
        self.assertOneLineNaming(result, "header_timeout_ms")
        self.assertIn("abc", result.stderr.decode())

    def test_out_of_range_and_bad_values_exit_2(self):
        cases = [
            ({"CC_HEADER_TIMEOUT_MS": "0"}, "header_timeout_ms"),
            ({"CC_HEADER_TIMEOUT_MS": "10s"}, "header_timeout_ms"),
            ({"CC_MAX_CONNECTIONS": "-1"}, "max_connections"),
            ({"CC_LISTEN": "no-port"}, "listen"),
            ({"CC_LISTEN": "127.0.0.1:99999"}, "listen"),
            ({"CC_RATE_LIMIT_PULSE": "fast"}, "rate_limit_pulse"),
            ({"CC_SQLITE_SYNCHRONOUS": "off"}, "sqlite_synchronous"),
            ({"CC_LOG_LEVEL": "loud"}, "log_level"),
        ]
        for env, setting in cases:
            with self.subTest(env=env):
                self.assertOneLineNaming(self.cli(["serve"], self.temp_database(), env=env), setting)

    def test_bad_flag_value_exits_2_naming_the_setting(self):
        result = self.cli(["serve", "--header-timeout-ms", "abc"], self.temp_database())
        self.assertEqual(result.returncode, 2, text(result))
        lines = [l for l in result.stderr.decode().splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertRegex(lines[0], r"header[_-]timeout[_-]ms")

    def test_bad_settings_are_refused_before_touching_the_database(self):
        database = self.temp_database()
        result = self.cli(["migrate"], database, env={"CC_HEADER_TIMEOUT_MS": "abc"})
        self.assertEqual(result.returncode, 2, text(result))
        self.assertFalse(os.path.exists(database))

    def test_listen_flag_overrides_cc_listen(self):
        # CC_LISTEN names a port we hold: if it were used, the bind would fail.
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen(1)
            held = holder.getsockname()[1]
            server = ArgServer(["serve", "--listen", "127.0.0.1:0"], {"CC_LISTEN": f"127.0.0.1:{held}"})
            self.addCleanup(server.close)
            server.start()
            self.assertNotEqual(server.port, held)
            self.assertEqual(server.listening()["address"], f"127.0.0.1:{server.port}")
            self.assertStatus(server.api.get("/healthz", token=None), 200)

    def write_config(self, settings) -> str:
        directory = tempfile.mkdtemp(prefix="cc-e2e-config-")
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, "cc-inbound.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(settings, f)
        return path

    def test_config_file_via_flag_is_read(self):
        path = self.write_config({"_comment": "test", "listen": "127.0.0.1:0", "threads": 3,
                                  "rate_limit_pulse": {"per_second": 5, "burst": 10}})
        server = ArgServer(["--config", path, "serve"], {"CC_LISTEN": None})
        self.addCleanup(server.close)
        server.start()
        self.assertEqual(server.listening()["threads"], 3)
        self.assertStatus(server.api.get("/healthz", token=None), 200)

    def test_config_file_via_cc_config_is_read_and_env_and_flags_override_it(self):
        path = self.write_config({"listen": "127.0.0.1:0", "threads": 3})
        cases = [
            ([], {}, 3),                              # file
            ([], {"CC_THREADS": "4"}, 4),             # env over file
            (["--threads", "5"], {"CC_THREADS": "4"}, 5),  # flag over env
        ]
        for args, env, threads in cases:
            with self.subTest(args=args, env=env):
                server = ArgServer(["serve", *args], {"CC_CONFIG": path, **env})
                self.addCleanup(server.close)
                server.start()
                self.assertEqual(server.listening()["threads"], threads)
                server.stop()

    def test_config_flag_wins_over_cc_config(self):
        used = self.write_config({"threads": 3})
        ignored = self.write_config({"threads": 7})
        server = ArgServer(["--config", used, "serve"], {"CC_CONFIG": ignored})
        self.addCleanup(server.close)
        server.start()
        self.assertEqual(server.listening()["threads"], 3)

    def test_bad_config_files_exit_2(self):
        directory = tempfile.mkdtemp(prefix="cc-e2e-config-")
        self.addCleanup(shutil.rmtree, directory, True)
        not_json = os.path.join(directory, "broken.json")
        with open(not_json, "w", encoding="utf-8") as f:
            f.write("{ this is not json")
        cases = [
            (os.path.join(directory, "missing.json"), "missing.json"),
            (not_json, "broken.json"),
            (self.write_config({"no_such_setting": 1}), "no_such_setting"),
            (self.write_config({"header_timeout_ms": "abc"}), "header_timeout_ms"),
            (self.write_config(["not", "an", "object"]), "cc-inbound.json"),
        ]
        for path, mention in cases:
            with self.subTest(mention=mention):
                result = self.cli(["--config", path, "serve"], self.temp_database())
                self.assertOneLineNaming(result, mention)

    def test_shipped_config_files_are_valid(self):
        root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
        config_dir = os.path.join(root, "config")
        names = sorted(n for n in os.listdir(config_dir) if n.endswith(".json")) if os.path.isdir(config_dir) else []
        if not names:
            self.skipTest("no config/*.json in the source tree")
        for name in names:
            with self.subTest(name):
                # `migrate` reads the whole configuration and exits; the database is ours.
                result = self.cli(["--config", os.path.join(config_dir, name), "migrate"], self.temp_database())
                self.assertEqual(result.returncode, 0, text(result))


class HelpAndHealthcheckTest(CliTestCase):

    def test_help_exits_0_and_lists_the_commands(self):
        result = self.cli(["--help"], self.temp_database())
        self.assertEqual(result.returncode, 0, text(result))
        usage = result.stdout.decode()
        for word in ("serve", "migrate", "healthcheck", "domains", "keys", "--listen", "CC_LISTEN"):
            self.assertIn(word, usage)

    def test_subcommand_help_exits_0(self):
        for args in (["keys", "--help"], ["keys", "create", "--help"], ["domains", "set", "--help"]):
            with self.subTest(args=args):
                result = self.cli(args, self.temp_database())
                self.assertEqual(result.returncode, 0, text(result))
                self.assertIn("Usage", result.stdout.decode())

    def test_healthcheck_against_a_running_server_exits_0(self):
        server = self.start_server()
        result = self.cli(["healthcheck"], self.temp_database(), env={"CC_LISTEN": f"127.0.0.1:{server.port}"})
        self.assertEqual(result.returncode, 0, text(result))

    def test_healthcheck_with_the_listen_flag(self):
        server = self.start_server()
        result = self.cli(["healthcheck", "--listen", f"127.0.0.1:{server.port}"], self.temp_database())
        self.assertEqual(result.returncode, 0, text(result))

    def test_healthcheck_with_nothing_listening_exits_non_zero(self):
        with unlistened_port() as held:
            port = held.getsockname()[1]
            result = self.cli(["healthcheck"], self.temp_database(), env={"CC_LISTEN": f"127.0.0.1:{port}"})
        self.assertNotEqual(result.returncode, 0, text(result))

    def test_healthcheck_with_a_server_that_never_answers_gives_up(self):
        # A listener whose accept queue is never served: the TCP connect succeeds, no
        # answer ever comes. The probe promises an answer within 3 s; allow far more.
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            port = silent.getsockname()[1]
            started = time.monotonic()
            try:
                result = run_cli(["healthcheck"], self.temp_database(),
                                 env={"CC_LISTEN": f"127.0.0.1:{port}"}, timeout=20)
            except subprocess.TimeoutExpired:
                self.fail("`cc-inbound healthcheck` hung for 20 s against a server that accepts and "
                          "never answers (its 3 s limit does not apply to blocking calls)")
            self.assertNotEqual(result.returncode, 0, text(result))
            self.assertLess(time.monotonic() - started, 15)

    def test_healthcheck_against_a_non_http_answer_exits_non_zero(self):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            port = listener.getsockname()[1]

            def answer():
                listener.settimeout(30)
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    conn.settimeout(5)
                    try:
                        conn.recv(4096)
                        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                    except OSError:
                        pass

            thread = threading.Thread(target=answer, daemon=True)
            thread.start()
            result = self.cli(["healthcheck"], self.temp_database(), env={"CC_LISTEN": f"127.0.0.1:{port}"})
            thread.join(10)
            self.assertNotEqual(result.returncode, 0, text(result))


if __name__ == "__main__":
    unittest.main()
