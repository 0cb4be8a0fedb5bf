"""A throw-away PostgreSQL 15 cluster for the end-to-end tests.

`initdb` into a temporary directory and `pg_ctl start` on a free loopback port, with
trust authentication on 127.0.0.1 only. PostgreSQL refuses to run as root, so as root
(CI) every server command runs as the `postgres` OS user through `runuser`, and the
directory belongs to that user. Stopped and removed at exit.

    cluster = PgCluster().start()
    url = cluster.create_database()       # postgresql://postgres@127.0.0.1:PORT/cc_...
    cluster.stop(mode="immediate")        # a database outage
    cluster.start()                       # the same data, the same port
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid

PG_BIN = os.environ.get("CC_PG_BIN", "/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"


def available() -> bool:
    return os.path.isfile(os.path.join(PG_BIN, "initdb")) and os.path.isfile(os.path.join(PG_BIN, "pg_ctl"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(argv):
    """Server commands run as the postgres user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


class PgCluster:
    def __init__(self):
        self.root = None
        self.data = None
        self.port = None
        self.running = False
        self._lock = threading.Lock()

    # -- lifecycle

    def start(self, timeout=60.0) -> "PgCluster":
        with self._lock:
            if self.running:
                return self
            if self.root is None:
                self._init()
            log = os.path.join(self.root, "server.log")
            # fsync off: these are tests of the service, and only processes crash in them,
            # never the machine. synchronous_commit stays at its default (on).
            options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                       f"-c fsync=off -c full_page_writes=off -c max_connections=200 "
                       f"-c shared_buffers=32MB")
            subprocess.run(_as_postgres([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", log,
                                         "-o", options, "-w", "-t", str(int(timeout)), "start"]),
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.running = True
            return self

    def _init(self):
        self.root = tempfile.mkdtemp(prefix="cc-pg-")
        os.chmod(self.root, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres", group="postgres")
        self.data = os.path.join(self.root, "data")
        self.port = _free_port()
        subprocess.run(_as_postgres([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", SUPERUSER,
                                     "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        atexit.register(self.destroy)

    def stop(self, mode="fast"):
        """mode "immediate" is a crash: the server dies without a checkpoint."""
        with self._lock:
            if not self.running:
                return
            subprocess.run(_as_postgres([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w",
                                         "stop"]),
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.running = False

    def destroy(self):
        self.stop(mode="immediate")
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # -- databases

    def url(self, database="postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql, database="postgres") -> str:
        """Runs SQL as the superuser; returns psql's unaligned output."""
        done = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                               "-d", self.url(database), "-c", sql],
                              check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return done.stdout.decode().strip()

    def create_database(self, name=None) -> str:
        """A fresh empty database; returns its connection URL."""
        name = name or "cc_" + uuid.uuid4().hex[:12]
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def ensure_database(self, name) -> str:
        """The database `name`, created if missing (restarts reuse a test's database)."""
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)


_shared = None
_shared_lock = threading.Lock()


def shared_cluster() -> PgCluster:
    """One cluster per test process, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PgCluster()
        _shared.start()
        return _shared


def wait_until_accepting(cluster: PgCluster, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cluster.psql("SELECT 1")
            return
        except subprocess.CalledProcessError:
            time.sleep(0.1)
    raise AssertionError("PostgreSQL did not come back")
