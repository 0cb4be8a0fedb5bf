"""The container image, as far as it can be checked without a Docker engine: the
Dockerfile's shape (multi-stage Debian 12, non-root, /data volume, port, HEALTHCHECK
through the binary itself, an entrypoint that lets SIGTERM reach the server), the build
context, that the runtime stage installs every shared library the binary links, and that
the HEALTHCHECK command really works against a running server."""

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

from harness import BINARY, CcTestCase, Server, check_binary, run_cli, server_environment

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
DOCKERIGNORE = os.path.join(ROOT, ".dockerignore")
IMAGE_BINARY_NAMES = ("cc-inbound",)

# Come with the base image (libc6, libstdc++6, libgcc-s1) or are the loader itself.
BASE_IMAGE_LIBS = ("linux-vdso", "linux-gate", "ld-linux", "libc.so", "libm.so", "libstdc++.so",
                   "libgcc_s.so", "libpthread.so", "libdl.so", "librt.so")
# A CI build may carry sanitizer runtimes; the image's Release build does not.
SANITIZER_LIBS = ("libasan", "libubsan", "liblsan", "libtsan", "libhwasan")


# ----------------------------------------------------------------------------- Dockerfile parsing

class Instruction:
    def __init__(self, keyword, args, line):
        self.keyword = keyword.upper()
        self.args = args
        self.line = line

    def exec_form(self):
        """The JSON-array form's list, or None for the shell form."""
        text = self.args.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                return None
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
        return None

    def __repr__(self):
        return f"{self.keyword} {self.args} (line {self.line})"


def parse_dockerfile(text):
    """Instructions with continuation lines joined and comments dropped."""
    instructions = []
    pending, start = "", None
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are ignored
        if start is None:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        keyword, _, args = pending.partition(" ")
        instructions.append(Instruction(keyword, args.strip(), start))
        pending, start = "", None
    if pending:
        keyword, _, args = pending.partition(" ")
        instructions.append(Instruction(keyword, args.strip(), start))
    return instructions


def stages(instructions):
    """[(FROM instruction, [instructions of the stage])]"""
    out = []
    for ins in instructions:
        if ins.keyword == "FROM":
            out.append((ins, []))
        elif out:
            out[-1][1].append(ins)
    return out


def apt_packages(run_args):
    """Package names from every `apt-get install` in a RUN's shell text."""
    packages = []
    for command in re.split(r"&&|;|\|\|", run_args):
        words = shlex.split(command)
        # drop leading VAR=value assignments
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words.pop(0)
        if len(words) >= 2 and os.path.basename(words[0]) in ("apt-get", "apt") and "install" in words:
            after = words[words.index("install") + 1:]
            packages.extend(w.split("=")[0] for w in after if not w.startswith("-"))
    return packages


def flag_value(args, name):
    m = re.search(rf"--{name}=(\S+)", args)
    return m.group(1) if m else None


def duration_seconds(text):
    total, found = 0.0, False
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text or ""):
        found = True
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total if found else None


def dockerignore_excludes(patterns, path):
    """Whether .dockerignore patterns exclude a top-level path (last match wins)."""
    excluded = False
    for raw in patterns:
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip().lstrip("/").rstrip("/")
        if pattern.startswith("**/"):
            pattern = pattern[3:]
        if fnmatch.fnmatchcase(path, pattern):
            excluded = not negate
    return excluded


@unittest.skipUnless(os.path.isfile(DOCKERFILE), "no Dockerfile in the project root yet")
class DockerfileTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(DOCKERFILE, encoding="utf-8") as f:
            cls.text = f.read()
        cls.instructions = parse_dockerfile(cls.text)
        cls.stages = stages(cls.instructions)
        if cls.stages:
            cls.runtime_from, cls.runtime = cls.stages[-1]
        else:
            cls.runtime_from, cls.runtime = None, []

    def runtime_all(self, keyword):
        return [i for i in self.runtime if i.keyword == keyword]

    def runtime_last(self, keyword):
        found = self.runtime_all(keyword)
        return found[-1] if found else None

    def runtime_env(self):
        env = {}
        for ins in self.runtime_all("ENV"):
            for word in shlex.split(ins.args):
                if "=" in word:
                    name, _, value = word.partition("=")
                    env[name] = value
        return env

    def runtime_packages(self):
        return [p for ins in self.runtime_all("RUN") for p in apt_packages(ins.args)]

    def test_multi_stage_bookworm_build_and_bookworm_slim_runtime(self):
        froms = [ins for ins, _ in self.stages]
        self.assertEqual(len(froms), 2, froms)
        build_image = froms[0].args.split()[0]
        runtime_image = froms[1].args.split()[0]
        self.assertRegex(build_image, r"^(docker\.io/)?(library/)?debian:bookworm(@sha256:[0-9a-f]{64})?$")
        self.assertRegex(runtime_image, r"^(docker\.io/)?(library/)?debian:bookworm-slim(@sha256:[0-9a-f]{64})?$")
        self.assertRegex(froms[0].args, r"(?i)\bAS\s+\S+", "the build stage is named for COPY --from")

    def test_runtime_copies_only_the_binary_from_the_build_stage(self):
        build_name = re.search(r"(?i)\bAS\s+(\S+)", self.stages[0][0].args).group(1)
        copies = [i for i in self.runtime_all("COPY") if "--from=" in i.args]
        self.assertTrue(copies, "the runtime stage copies nothing from the build stage")
        for ins in copies:
            self.assertIn(f"--from={build_name}", ins.args)
        self.assertTrue(any("cc-inbound" in i.args for i in copies), copies)
        plain = [i for i in self.runtime_all("COPY") + self.runtime_all("ADD") if "--from=" not in i.args]
        for ins in plain:  # no sources or build trees in the runtime image
            self.assertNotRegex(ins.args, r"^\.\s", ins)

    def test_runs_as_a_non_root_user(self):
        user = self.runtime_last("USER")
        self.assertIsNotNone(user, "no USER in the runtime stage")
        name = user.args.split(":")[0].strip()
        self.assertNotIn(name, ("root", "0", ""), user)
        # and that user exists: created in the runtime stage (or given as a numeric uid)
        if not name.isdigit():
            runs = " ".join(i.args for i in self.runtime_all("RUN"))
            self.assertRegex(runs, rf"(useradd|adduser)\b[^&;]*\b{re.escape(name)}\b", "the USER is never created")

    def test_data_volume_owned_by_the_user_and_holds_the_database(self):
        volumes = []
        for ins in self.runtime_all("VOLUME"):
            volumes.extend(ins.exec_form() or ins.args.split())
        self.assertIn("/data", [v.rstrip("/") for v in volumes])
        runs = " ".join(i.args for i in self.runtime_all("RUN"))
        user = self.runtime_last("USER").args.split(":")[0]
        self.assertRegex(runs, rf"chown\s+(-R\s+)?{re.escape(user)}(:\S+)?\s+/data\b",
                         "the non-root user must be able to write /data")
        database = self.runtime_env().get("CC_DATABASE", "")
        self.assertTrue(database.startswith("/data/"), f"CC_DATABASE={database!r} is not in the volume")

    def test_exposes_8080_and_listens_there_on_every_interface(self):
        exposed = " ".join(i.args for i in self.runtime_all("EXPOSE")).split()
        self.assertIn("8080", [p.split("/")[0] for p in exposed])
        self.assertEqual(self.runtime_env().get("CC_LISTEN"), "0.0.0.0:8080")

    def test_healthcheck_runs_the_binary_itself(self):
        health = self.runtime_last("HEALTHCHECK")
        self.assertIsNotNone(health, "no HEALTHCHECK")
        self.assertNotRegex(health.args, r"^NONE\b")
        _, _, command = health.args.partition("CMD")
        self.assertTrue(command.strip(), health)
        words = json.loads(command.strip()) if command.strip().startswith("[") else shlex.split(command)
        self.assertTrue(words[0].endswith("cc-inbound"), words)
        self.assertIn("healthcheck", words[1:])
        self.assertNotRegex(command, r"\b(curl|wget)\b", "the image has no curl: the binary probes itself")
        # The probe gives up after 3 s; Docker's timeout must leave it that time.
        timeout = duration_seconds(flag_value(health.args, "timeout"))
        if timeout is not None:
            self.assertGreater(timeout, 3, health)

    def test_entrypoint_starts_serve_with_signals_reaching_it(self):
        entry, cmd = self.runtime_last("ENTRYPOINT"), self.runtime_last("CMD")
        self.assertTrue(entry or cmd, "neither ENTRYPOINT nor CMD")
        entry_words = (entry.exec_form() if entry else []) or []
        cmd_words = (cmd.exec_form() if cmd else []) or []
        if entry is not None:
            self.assertIsNotNone(entry.exec_form(), f"shell-form ENTRYPOINT: /bin/sh would be PID 1 "
                                                    f"and swallow SIGTERM: {entry}")
        if cmd is not None and entry is None:
            self.assertIsNotNone(cmd.exec_form(), f"shell-form CMD swallows SIGTERM: {cmd}")
        argv = entry_words + cmd_words
        binaries = [i for i, w in enumerate(argv) if w.endswith("cc-inbound")]
        self.assertTrue(binaries, f"the binary is not started: {argv}")
        first = binaries[0]
        # PID 1 is the binary itself or an init (tini, dumb-init) that forwards signals.
        launcher = argv[:first]
        if launcher:
            self.assertRegex(os.path.basename(launcher[0]), r"^(tini|dumb-init)$", argv)
            if "tini" in launcher[0]:
                self.assertIn("tini", self.runtime_packages(), "tini is used but not installed")
        rest = argv[first + 1:]
        subcommands = [w for w in rest if not w.startswith("-")]
        # `serve` explicitly, or nothing (serve is the default)
        self.assertTrue(not subcommands or subcommands[0] == "serve", argv)

    def test_runtime_installs_without_recommends_and_cleans_the_apt_lists(self):
        runs = [i.args for i in self.runtime_all("RUN") if apt_packages(i.args)]
        self.assertTrue(runs, "the runtime stage installs no packages")
        for args in runs:
            self.assertIn("--no-install-recommends", args)
            self.assertIn("rm -rf /var/lib/apt/lists", args)

    def test_runtime_packages_cover_every_linked_library(self):
        check_binary()
        if not shutil.which("ldd") or not shutil.which("dpkg"):
            self.skipTest("ldd or dpkg is not available")
        result = subprocess.run(["ldd", BINARY], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            self.skipTest(f"ldd cannot read the binary: {result.stderr.strip()}")
        installed = set(self.runtime_packages())
        self.assertTrue(installed, "no apt-get install in the runtime stage")
        # The libraries the binary itself links (ELF NEEDED). ldd also lists theirs (libpq's
        # Kerberos, LDAP, ...), which apt installs as the dependencies of those packages.
        needed = None
        if shutil.which("readelf"):
            dyn = subprocess.run(["readelf", "-d", BINARY], capture_output=True, text=True, timeout=60)
            needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn.stdout)) or None
        checked = []
        for line in result.stdout.splitlines():
            line = line.strip()
            name = line.split()[0] if line else ""
            if not name or name.startswith(BASE_IMAGE_LIBS) or "ld-linux" in name:
                continue
            if needed is not None and os.path.basename(name) not in needed:
                continue
            base = os.path.basename(name)
            if base.startswith(BASE_IMAGE_LIBS) or base.startswith(SANITIZER_LIBS):
                continue
            m = re.search(r"=>\s+(\S+)", line)
            self.assertTrue(m and m.group(1) != "not", f"unresolved library: {line}")
            path = m.group(1)
            package = owning_package(path)
            self.assertIsNotNone(package, f"no Debian package owns {path}")
            with self.subTest(library=base, package=package):
                self.assertIn(package, installed,
                              f"{base} comes from {package}, which the runtime stage does not install "
                              f"(it installs {sorted(installed)})")
            checked.append(base)
        self.assertTrue(checked, f"no libraries checked in:\n{result.stdout}")


def owning_package(path):
    """The Debian package (without :arch) that owns a library path; merged-/usr aware."""
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith("/usr/lib/"):
            candidates.append(p[len("/usr"):])
        elif p.startswith("/lib/"):
            candidates.append("/usr" + p)
    for candidate in dict.fromkeys(candidates):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, timeout=60)
        if result.returncode == 0 and ":" in result.stdout:
            owner = result.stdout.splitlines()[0].split(": ", 1)[0]
            return owner.split(",")[0].strip().split(":")[0]
    return None


@unittest.skipUnless(os.path.isfile(DOCKERFILE), "no Dockerfile in the project root yet")
class BuildContextTest(unittest.TestCase):

    def test_build_trees_and_local_data_stay_out_of_the_context(self):
        with open(DOCKERFILE, encoding="utf-8") as f:
            instructions = parse_dockerfile(f.read())
        copies_everything = any(i.keyword in ("COPY", "ADD") and re.match(r"^(--\S+\s+)*\.\s", i.args)
                                for i in instructions)
        if not copies_everything:
            self.skipTest("the Dockerfile does not COPY the whole context")
        self.assertTrue(os.path.isfile(DOCKERIGNORE),
                        "COPY . . without a .dockerignore sends build/ (a stale CMakeCache.txt breaks the "
                        "in-image cmake) and data/ (the admin token) into the build")
        with open(DOCKERIGNORE, encoding="utf-8") as f:
            patterns = f.read().splitlines()
        for path in ("build", "build-release", "build-asan", "data", ".git"):
            with self.subTest(path=path):
                self.assertTrue(dockerignore_excludes(patterns, path), f"{path} is not excluded")
        for path in ("src", "include", "migrations", "CMakeLists.txt", "cmake"):
            with self.subTest(path=path):
                self.assertFalse(dockerignore_excludes(patterns, path), f"{path} is needed by the build")


class HealthcheckCommandTest(CcTestCase):
    """The HEALTHCHECK's command, run here against a real server."""

    def healthcheck_argv(self):
        argv = [BINARY, "healthcheck"]
        if os.path.isfile(DOCKERFILE):
            with open(DOCKERFILE, encoding="utf-8") as f:
                health = [i for i in parse_dockerfile(f.read()) if i.keyword == "HEALTHCHECK"]
            if health:
                _, _, command = health[-1].args.partition("CMD")
                command = command.strip()
                words = json.loads(command) if command.startswith("[") else shlex.split(command)
                if words and words[0].endswith("cc-inbound"):
                    argv = [BINARY, *words[1:]]
        return argv

    def run_healthcheck(self, listen, extra_env=None, database=None, extra_args=()):
        check_binary()
        workdir = tempfile.mkdtemp(prefix="cc-e2e-health-")
        self.addCleanup(shutil.rmtree, workdir, True)
        env = server_environment(database or os.path.join(workdir, "unused.db"), None,
                                 {"CC_LISTEN": listen, **(extra_env or {})})
        try:
            return subprocess.run([*self.healthcheck_argv(), *extra_args], cwd=workdir, env=env,
                                  capture_output=True,
                                  stdin=subprocess.DEVNULL, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail(f"healthcheck against {listen} did not finish in 30 s")

    def test_healthcheck_passes_against_a_running_server(self):
        server = self.start_server()
        result = self.run_healthcheck(f"127.0.0.1:{server.port}")
        self.assertEqual(result.returncode, 0, result)

    def test_healthcheck_with_the_image_listen_address(self):
        # In the image CC_LISTEN is 0.0.0.0:8080; the probe must turn that into loopback.
        server = self.start_server()
        result = self.run_healthcheck(f"0.0.0.0:{server.port}")
        self.assertEqual(result.returncode, 0, result)

    def test_healthcheck_finds_an_address_given_on_the_command_line(self):
        # `docker run IMAGE serve --listen 0.0.0.0:9000` leaves CC_LISTEN at the image's
        # 0.0.0.0:8080: the HEALTHCHECK must probe where serve really listens.
        server = self.start_server()
        dead = f"127.0.0.1:{self.unused_port()}"
        result = self.run_healthcheck(dead, database=server.database)
        self.assertEqual(result.returncode, 0, result)

    def test_healthcheck_address_flag_wins_over_the_record(self):
        server = self.start_server()
        dead = f"127.0.0.1:{self.unused_port()}"
        result = self.run_healthcheck(f"127.0.0.1:{server.port}", database=server.database,
                                      extra_args=("--listen", dead))
        self.assertNotEqual(result.returncode, 0, result)

    def unused_port(self):
        # A port a stopped server listened on: nothing answers there.
        server = self.start_server()
        port = server.port
        self.assertEqual(server.stop(), 0)
        return port

    def test_healthcheck_fails_once_the_server_is_gone(self):
        server = self.start_server()
        port = server.port
        self.assertEqual(server.stop(), 0)
        result = self.run_healthcheck(f"127.0.0.1:{port}")
        self.assertNotEqual(result.returncode, 0, result)

    def test_healthcheck_passes_when_the_server_serves_tls(self):
        # With CC_TLS_CERT_FILE/CC_TLS_KEY_FILE set (as they would be in the container's
        # environment), the HEALTHCHECK must still see a healthy server.
        openssl = shutil.which("openssl")
        if not openssl:
            self.skipTest("the openssl command-line tool is not installed")
        certdir = tempfile.mkdtemp(prefix="cc-e2e-health-tls-")
        self.addCleanup(shutil.rmtree, certdir, True)
        cert, key = os.path.join(certdir, "c.pem"), os.path.join(certdir, "k.pem")
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=120)
        tls_env = {"CC_TLS_CERT_FILE": cert, "CC_TLS_KEY_FILE": key}
        server = self.start_server(tls_env)
        result = self.run_healthcheck(f"127.0.0.1:{server.port}", tls_env)
        self.assertEqual(result.returncode, 0,
                         f"`cc-inbound healthcheck` reports a healthy TLS server as unhealthy: {result}")


if __name__ == "__main__":
    unittest.main()
