"""Shared harness for the cc-inbound end-to-end tests.

The tests drive the real binary over real HTTP on 127.0.0.1, each server on a port the
OS picks and with its own temporary database, so test files can run in parallel.
Python standard library only.

Main pieces:
  Server          starts `cc-inbound serve` with a clean CC_* environment, waits for the
                  "listening" log line, keeps draining stdout/stderr into memory.
  Api             small http.client wrapper: .get/.post/.put/.patch/.delete return a
                  Response that unpacks as (status, headers, json), plus admin helpers.
  RawConnection   a plain socket for malformed, slow and pipelined requests.
  CcTestCase      assertions for the contract's shapes (errors, keys, domains, events).
  ServerTestCase  a running server for a TestCase class, shared by the classes of one
                  module that ask for the same env (tests use their own domains).

Environment: CC_BINARY (default ../../build/cc-inbound); E2E_ECHO_SERVER_LOG=1 copies
the server's output to stderr while the tests run.
"""

from __future__ import annotations

import atexit
import hashlib
import http.client
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid
import zlib
from datetime import datetime, timezone

import openapi_check

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.environ.get("CC_BINARY") or os.path.normpath(
    os.path.join(HERE, "..", "..", "build", "cc-inbound"))

# Generous: the binary may run under AddressSanitizer.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 30.0

INBOUND = "/__cc/inbound"
BATCH = "/__cc/inbound/batch"
FORM = "application/x-www-form-urlencoded"

PLAN_LIMITS = {"pulse": 2, "signal": 5, "clarity": 10, "command": None}

# Rate limits high enough that only the tests about rate limiting ever meet them;
# a test's own env overrides these.
DEFAULT_SERVER_ENV = {f"CC_RATE_LIMIT_{plan.upper()}": "1000000:1000000" for plan in PLAN_LIMITS}
# Likewise the slow-down of repeated failed admin authentications (on by default in the
# service): off, except in the tests about it, which set it.
DEFAULT_SERVER_ENV["CC_ADMIN_FAILURE_DELAY_MS"] = "0"

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_RE = re.compile(r"^cc_[0-9A-Za-z]{38}$")
KEY_ID_RE = re.compile(r"^key_[0-9A-Za-z]+$")
PREFIX_RE = re.compile(r"^cc_[0-9A-Za-z]{8}$")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

DOMAIN_FIELDS = {"domain", "plan", "key_limit", "active_keys", "created_at"}
KEY_FIELDS = {"id", "domain", "name", "prefix", "status", "created_at", "last_used_at",
              "last_used_ip", "revoked_at", "expires_at", "rolled_to", "allowed_ips", "exposed_at", "exposed_origin"}
KEY_LIST_FIELDS = {"domain", "plan", "key_limit", "active_keys", "keys"}
EVENT_FIELDS = {"event_id", "event", "domain", "key_id", "key_name", "key_prefix", "email", "email_sha256",
                "phone", "phone_sha256", "external_id", "click_id", "value", "value_decimal",
                "currency", "timestamp", "received_at", "properties", "raw"}
AUDIT_FIELDS = {"id", "at", "action", "actor", "client_ip", "domain", "key_id", "details"}
ERROR_FIELDS = {"code", "message", "request_id", "details"}

_DEFAULT = object()


# ----------------------------------------------------------------------------- values

def unique_domain(prefix: str = "t") -> str:
    """A fresh registered-looking domain name, so tests never share state."""
    return f"{prefix}{uuid.uuid4().hex[:10]}.example.com"


def unique_id(prefix: str = "ev") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def base62(number: int, width: int) -> str:
    """Big-endian base62 over 0-9A-Za-z, left-padded with '0' to `width`."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return digits.rjust(width, "0")


def key_checksum(random_part: str) -> str:
    """The 6-character checksum: zlib CRC-32 of the 32 random characters, in base62."""
    return base62(zlib.crc32(random_part.encode("ascii")) & 0xFFFFFFFF, 6)


def key_checksum_ok(key: str) -> bool:
    return bool(KEY_RE.match(key)) and key[35:] == key_checksum(key[3:35])


def forge_key(random_part: str | None = None) -> str:
    """A key with the right shape and a valid checksum that the server never issued."""
    random_part = random_part or "".join(secrets.choice(BASE62) for _ in range(32))
    return "cc_" + random_part + key_checksum(random_part)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, the form the service returns."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def poll(fn, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Call fn until it returns something truthy; return that, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last={last!r}")
        time.sleep(interval)


def _parse_json(body: bytes):
    if not body:
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


# ----------------------------------------------------------------------------- responses

class Headers:
    """Case-insensitive response headers for raw-socket responses (like HTTPMessage)."""

    def __init__(self, items):
        self.items = list(items)

    def get(self, name, default=None):
        for key, value in self.items:
            if key.lower() == name.lower():
                return value
        return default

    def get_all(self, name, default=None):
        found = [v for k, v in self.items if k.lower() == name.lower()]
        return found or default

    def __contains__(self, name):
        return self.get(name) is not None

    def __repr__(self):
        return f"Headers({self.items!r})"


class Response:
    """One HTTP response. Unpacks as (status, headers, json)."""

    def __init__(self, status: int, headers, body: bytes, reason: str = "", version: str = ""):
        self.status = status
        self.headers = headers
        self.body = body
        self.reason = reason
        self.version = version
        self.text = body.decode("utf-8", "replace")
        self.json = _parse_json(body)

    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    @property
    def request_id(self):
        return self.headers.get("X-Request-Id")

    def __repr__(self):
        return f"<Response {self.status} {self.text[:1000]!r}>"


def expect(resp: Response, status: int, what: str) -> Response:
    """Raise an AssertionError (a test failure) unless resp has `status`."""
    if resp.status != status:
        raise AssertionError(f"{what}: expected {status}, got {resp.status}: {resp.text[:2000]!r}")
    return resp


# ----------------------------------------------------------------------------- HTTP client

def quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


class Api:
    """HTTP client for one server. Admin calls carry the bearer token unless token=None."""

    def __init__(self, host: str, port: int, token: str | None = None):
        self.host = host
        self.port = port
        self.token = token

    def connection(self, timeout: float = HTTP_TIMEOUT) -> http.client.HTTPConnection:
        """A keep-alive connection to pass as conn= to several requests."""
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, *, headers=None, token=_DEFAULT,
                content_type=_DEFAULT, conn=None) -> Response:
        """body: dict/list → JSON; str/bytes → sent as-is. content_type=None omits the header."""
        token = self.token if token is _DEFAULT else token
        sent = {}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            if isinstance(body, bytes):
                data = body
            elif isinstance(body, str):
                data = body.encode("utf-8")
            else:
                data = json.dumps(body).encode("utf-8")
            if content_type is _DEFAULT:
                content_type = "application/json"
        if content_type is not _DEFAULT and content_type is not None:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        own = conn is None
        connection = conn or self.connection()
        try:
            connection.request(method, path, body=data, headers=sent)
            resp = connection.getresponse()
            payload = resp.read()
            response = Response(resp.status, resp.msg, payload, resp.reason,
                                "HTTP/1.1" if resp.version == 11 else "HTTP/1.0")
        finally:
            if own:
                connection.close()
        # Every response must be one the OpenAPI document describes (CC_OPENAPI_VALIDATE).
        openapi_check.check_response(method, path, response)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- admin helpers: the plain ones return the Response, create_* assert success

    def put_domain(self, domain, plan="command", **kw):
        return self.put(f"/admin/domains/{quote(domain)}", {"plan": plan}, **kw)

    def get_domain(self, domain, **kw):
        return self.get(f"/admin/domains/{quote(domain)}", **kw)

    def delete_domain(self, domain, **kw):
        return self.delete(f"/admin/domains/{quote(domain)}", **kw)

    def create_domain(self, plan="command", domain=None) -> str:
        domain = domain or unique_domain()
        expect(self.put_domain(domain, plan), 200, f"PUT /admin/domains/{domain}")
        return domain

    def post_key(self, domain, name="e2e key", *, conn=None, **fields):
        """POST /admin/keys; extra keyword arguments become body fields (e.g. expires_at)."""
        return self.post("/admin/keys", {"domain": domain, "name": name, **fields}, conn=conn)

    def create_key(self, domain, name="e2e key", **fields) -> dict:
        """Create a key; returns the key object including the one-time "key"."""
        return expect(self.post_key(domain, name, **fields), 201, f"POST /admin/keys for {domain}").json

    def new_key(self, plan="command", name="e2e key"):
        """A fresh domain with one key: (domain, key object with "key")."""
        domain = self.create_domain(plan)
        return domain, self.create_key(domain, name)

    def list_keys(self, domain, **kw):
        return self.get(f"/admin/keys?domain={quote(domain)}", **kw)

    def get_key(self, key_id, **kw):
        return self.get(f"/admin/keys/{quote(key_id)}", **kw)

    def key(self, key_id) -> dict:
        return expect(self.get_key(key_id), 200, f"GET /admin/keys/{key_id}").json

    def revoke(self, key_id, **kw):
        return self.post(f"/admin/keys/{quote(key_id)}/revoke", **kw)

    def restore(self, key_id, **kw):
        return self.post(f"/admin/keys/{quote(key_id)}/restore", **kw)

    def roll(self, key_id, body=None, **kw):
        return self.post(f"/admin/keys/{quote(key_id)}/roll", body, **kw)

    def rename(self, key_id, name, **kw):
        return self.patch(f"/admin/keys/{quote(key_id)}", {"name": name}, **kw)

    def delete_key(self, key_id, **kw):
        return self.delete(f"/admin/keys/{quote(key_id)}", **kw)

    def events(self, domain, limit=None, before=None, **kw):
        return self.get(_listing_path("/admin/events", domain, limit, before), **kw)

    def audit(self, domain, limit=None, before=None, **kw):
        return self.get(_listing_path("/admin/audit", domain, limit, before), **kw)

    def all_events(self, domain) -> list:
        return self._collect(self.events, domain, "events")

    def all_audit(self, domain) -> list:
        return self._collect(self.audit, domain, "entries")

    def _collect(self, fetch, domain, field):
        """Follow `next` cursors to the end; returns every item, newest first."""
        items, cursor = [], None
        for _ in range(1000):
            resp = expect(fetch(domain, limit=500, before=cursor), 200, f"list {field} of {domain}")
            page = resp.json[field]
            items.extend(page)
            cursor = resp.json.get("next")
            if not cursor or not page:
                return items
        raise AssertionError(f"{field} pagination of {domain} never ended")

    # -- inbound

    def inbound(self, key, body, *, batch=False, host=None, headers=None,
                content_type=_DEFAULT, conn=None, path=None) -> Response:
        """POST an event (or a batch) with X-CC-Api-Key: key (omitted when key is None)."""
        sent = {}
        if key is not None:
            sent["X-CC-Api-Key"] = key
        if host is not None:
            sent["Host"] = host
        sent.update(headers or {})
        path = path or (BATCH if batch else INBOUND)
        return self.post(path, body, headers=sent, token=None, content_type=content_type, conn=conn)

    def inbound_form(self, key, fields, **kw) -> Response:
        body = fields if isinstance(fields, str) else urllib.parse.urlencode(fields)
        return self.inbound(key, body, content_type=FORM, **kw)


def _listing_path(base, domain, limit, before):
    query = []
    if domain is not None:
        query.append(("domain", domain))
    if limit is not None:
        query.append(("limit", str(limit)))
    if before is not None:
        query.append(("before", before))
    return base + ("?" + urllib.parse.urlencode(query) if query else "")


# ----------------------------------------------------------------------------- raw sockets

def build_request(method, path, headers=(), body=b"", *, version="HTTP/1.1",
                  host="127.0.0.1") -> bytes:
    """Request bytes exactly as given. Host is added unless host=None or given in headers;
    Content-Length only when there is a body and none was given."""
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    names = {k.lower() for k, _ in items}
    if host is not None and "host" not in names:
        items.insert(0, ("Host", host))
    if isinstance(body, str):
        body = body.encode("utf-8")
    if body and "content-length" not in names and "transfer-encoding" not in names:
        items.append(("Content-Length", str(len(body))))
    head = f"{method} {path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in items) + "\r\n"
    return head.encode("latin-1") + body


class RawConnection:
    """A plain TCP connection for what http.client will not send: partial, slow,
    pipelined or malformed requests. Reads responses one at a time from a buffer."""

    def __init__(self, port, host="127.0.0.1", timeout=HTTP_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data.encode("latin-1") if isinstance(data, str) else data)

    def try_send(self, data) -> bool:
        """Send, reporting False instead of raising when the server has closed."""
        try:
            self.send(data)
            return True
        except OSError:
            return False

    def readable(self, timeout=0.0) -> bool:
        return bool(self.buf) or bool(select.select([self.sock], [], [], timeout)[0])

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_response(self, timeout=None, head_request=False) -> Response:
        """Read exactly one response (Content-Length, chunked or close-delimited)."""
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError(f"closed before a complete response head; got {self.buf!r}")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        headers = Headers((k.strip(), v.strip()) for k, _, v in
                          (line.partition(":") for line in lines[1:]))
        status = int(status)
        if head_request or 100 <= status < 200 or status in (204, 304):
            body = b""
        elif "chunked" in (headers.get("Transfer-Encoding") or "").lower():
            body = self._read_chunked()
        elif headers.get("Content-Length") is not None:
            body = self._read_exactly(int(headers.get("Content-Length")))
        else:
            while self._fill():
                pass
            body, self.buf = self.buf, b""
        response = Response(status, headers, body, reason, version)
        openapi_check.check_raw_response(response)  # errors keep the one shape (CC_OPENAPI_VALIDATE)
        return response

    def _read_exactly(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError(f"closed after {len(self.buf)} of {n} body bytes")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _read_line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("closed inside a chunked body")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _read_chunked(self):
        body = b""
        while True:
            size = int(self._read_line().split(b";")[0].strip(), 16)
            if size == 0:
                while self._read_line():  # trailers up to the empty line
                    pass
                return body
            body += self._read_exactly(size)
            self._read_line()

    def wait_closed(self, timeout) -> bool:
        """True once the server closes (FIN or RST) within `timeout`; data that arrives
        meanwhile is kept in self.buf."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                if not self._fill():
                    return True
            except socket.timeout:
                return False
            except OSError:  # reset or aborted: closed as well
                return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def closed_by_peer(sock: socket.socket) -> bool:
    """True when the server has closed (FIN or RST); data that arrives is drained."""
    try:
        while True:
            chunk = sock.recv(65536, socket.MSG_DONTWAIT)
            if not chunk:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def raw_exchange(port, data, timeout=HTTP_TIMEOUT) -> Response:
    """Open a connection, send bytes, read one response, close."""
    with RawConnection(port, timeout=timeout) as conn:
        conn.send(data)
        return conn.read_response()


# ----------------------------------------------------------------------------- server

# CC_TEST_BACKEND=postgres runs the same tests on PostgreSQL: each database path a test
# uses becomes its own database on one cluster per test process (pg_cluster.py), so
# restarts on the same path find the same data.
TEST_BACKEND = os.environ.get("CC_TEST_BACKEND", "sqlite")


def postgres_url_for(database: str) -> str:
    """The PostgreSQL database standing for the SQLite path `database`."""
    import pg_cluster  # only the PostgreSQL pass needs it
    name = "cc_" + hashlib.sha256(os.path.abspath(database).encode()).hexdigest()[:20]
    return pg_cluster.shared_cluster().ensure_database(name)


def server_environment(database, admin_token=None, extra=None) -> dict:
    """The child environment: the parent's minus every CC_*, plus the harness's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    env.update(DEFAULT_SERVER_ENV)
    env.update(sanitizer_environment(env))
    env["CC_LISTEN"] = "127.0.0.1:0"
    env["CC_DATABASE"] = database
    if TEST_BACKEND == "postgres" and "CC_DATABASE_URL" not in (extra or {}):
        env["CC_DATABASE_URL"] = postgres_url_for(database)
    if admin_token is not None:
        env["CC_ADMIN_TOKEN"] = admin_token
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)  # None unsets, e.g. a harness default
        else:
            env[key] = str(value)
    return env


# What AddressSanitizer, LeakSanitizer and UBSan print when they find something.
SANITIZER_REPORT_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer)"
    r"|SUMMARY: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)"
    r"|: runtime error: ")


def sanitizer_environment(env) -> dict:
    """Sanitizer options for a child (ignored by a plain build): UBSan stops at the first
    finding, LeakSanitizer runs at exit; options the caller already set come first and
    ours after them, so ours win (the last occurrence of an option counts)."""
    asan = env.get("ASAN_OPTIONS", "")
    ubsan = env.get("UBSAN_OPTIONS", "")
    return {"ASAN_OPTIONS": ":".join(filter(None, [asan, "detect_leaks=1"])),
            "UBSAN_OPTIONS": ":".join(filter(None, [ubsan, "print_stacktrace=1", "halt_on_error=1"]))}


def sanitizer_reports(lines) -> list:
    """The lines of a process's stderr that belong to a sanitizer report."""
    return [line for line in lines if SANITIZER_REPORT_RE.search(line)]


def assert_no_sanitizer_report(lines, what):
    lines = list(lines)
    found = sanitizer_reports(lines)
    if found:
        first = next(i for i, line in enumerate(lines) if SANITIZER_REPORT_RE.search(line))
        raise AssertionError(f"sanitizer report in the output of {what}:\n"
                             + "\n".join(lines[max(0, first - 2):first + 60]))


def check_binary():
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        raise RuntimeError(f"cc-inbound binary not found at {BINARY}; build it or set CC_BINARY")


def run_cli(args, database, env=None, timeout=60.0) -> subprocess.CompletedProcess:
    """Run a one-shot subcommand (e.g. ["migrate"]) against `database`."""
    check_binary()
    workdir = tempfile.mkdtemp(prefix="cc-e2e-cli-")
    try:
        done = subprocess.run([BINARY, *args], cwd=workdir, env=server_environment(database, None, env),
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert_no_sanitizer_report(done.stderr.decode("utf-8", "replace").splitlines(), f"cc-inbound {' '.join(args)}")
    return done


def _listening_address(line):
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("msg") != "listening":
        return None
    stack = [obj]
    while stack:  # "address" at the top level, or nested in a fields object
        item = stack.pop()
        if isinstance(item.get("address"), str):
            host, _, port = item["address"].rpartition(":")
            if port.isdigit():
                return host.strip("[]"), int(port)
        stack.extend(v for v in item.values() if isinstance(v, dict))
    return None


class Server:
    """One `cc-inbound serve` process with a temporary working directory.

    database: reuse a database file (restart and crash tests); default <tmpdir>/cc.db.
    admin_token: default a fresh random token (43 characters: the service refuses fewer
                 than 32); None leaves CC_ADMIN_TOKEN unset.
    env: extra CC_* settings; a value of None unsets a variable."""

    def __init__(self, env=None, *, admin_token=_DEFAULT, database=None, args=()):
        self.args = list(args)  # extra command-line arguments after "serve"
        self.tmpdir = tempfile.mkdtemp(prefix="cc-e2e-")
        self.database = database or os.path.join(self.tmpdir, "cc.db")
        self.admin_token = secrets.token_urlsafe(32) if admin_token is _DEFAULT else admin_token
        self.env = dict(env or {})
        self.proc = None
        self.host = "127.0.0.1"
        self.port = None
        self.api = None
        self._lines = []  # (stream, text)
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._pumps = []

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, timeout=START_TIMEOUT) -> "Server":
        check_binary()
        self.proc = subprocess.Popen(
            [BINARY, "serve", *self.args], cwd=self.tmpdir,
            env=server_environment(self.database, self.admin_token, self.env),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        atexit.register(self.kill)  # never leave a server behind, whatever happens
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

    def _pump(self, name, stream):
        # Drain the pipe for the whole life of the process, so the server never blocks
        # on a full pipe, and keep every line for the tests to scan.
        echo = bool(os.environ.get("E2E_ECHO_SERVER_LOG"))
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._lock:
                self._lines.append((name, line))
            if echo:
                print(f"[server {name}] {line}", file=sys.stderr)
            if name == "stdout" and self.port is None:
                address = _listening_address(line)
                if address:
                    self.host, self.port = address
                    self._listening.set()
        stream.close()
        if name == "stdout":
            self._listening.set()  # wake start() if the process died first

    # -- logs

    def log_lines(self, stream=None) -> list:
        with self._lock:
            return [text for name, text in self._lines if stream is None or name == stream]

    def log_text(self) -> str:
        return "\n".join(self.log_lines())

    def log_tail(self, n=60) -> str:
        return "\n".join(self.log_lines()[-n:])

    # -- lifecycle

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self):
        """Send SIGTERM without waiting."""
        if self.running:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout=STOP_TIMEOUT):
        """The exit code, or None if still running after `timeout`."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._join()
        return code

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; returns the exit code, or None if it had to be killed."""
        if self.proc is None:
            return None
        self.terminate()
        code = self.wait(timeout)
        if code is None:
            self.kill()
        return code

    def kill(self):
        """SIGKILL (a crash) and reap."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self._join()

    def _join(self):
        for pump in self._pumps:
            pump.join(5)

    def close(self):
        """SIGTERM (so LeakSanitizer runs at exit), SIGKILL only if it hangs; then fail
        on any sanitizer report in the server's output."""
        if self.stop() is None and self.proc is not None:
            print(f"[harness] server {self.proc.pid} ignored SIGTERM for {STOP_TIMEOUT}s; killed",
                  file=sys.stderr)
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        assert_no_sanitizer_report(self.log_lines("stderr"), f"server on port {self.port}")


# ----------------------------------------------------------------------------- test cases

class CcTestCase(unittest.TestCase):
    """Assertions for the contract's shapes."""

    maxDiff = None

    def temp_database(self) -> str:
        """A database path in a directory removed after the test (outlives servers)."""
        directory = tempfile.mkdtemp(prefix="cc-e2e-db-")
        self.addCleanup(shutil.rmtree, directory, True)
        return os.path.join(directory, "cc.db")

    def start_server(self, env=None, **kw) -> Server:
        """A server owned by this test (stopped and removed at cleanup)."""
        server = Server(env, **kw)
        self.addCleanup(server.close)
        return server.start()

    def assertStatus(self, resp, status, msg=""):
        self.assertEqual(resp.status, status, f"{msg} body={resp.text[:2000]!r}")

    def assertRequestId(self, resp):
        rid = resp.headers.get("X-Request-Id")
        self.assertTrue(rid, f"no X-Request-Id on {resp!r}")
        return rid

    def assertError(self, resp, status, code, *, field=None) -> dict:
        """The one error shape, with X-Request-Id equal to error.request_id."""
        self.assertStatus(resp, status, f"expected {status} {code}")
        self.assertIn("application/json", resp.headers.get("Content-Type") or "", resp.text)
        body = resp.json
        self.assertIsInstance(body, dict, f"error body is not a JSON object: {resp.text!r}")
        self.assertEqual(set(body), {"error"}, resp.text)
        err = body["error"]
        self.assertEqual(err.get("code"), code, resp.text)
        self.assertLessEqual(set(err), ERROR_FIELDS, resp.text)
        self.assertIsInstance(err.get("message"), str, resp.text)
        self.assertTrue(err["message"].strip(), resp.text)
        self.assertIsInstance(err.get("request_id"), str, resp.text)
        self.assertTrue(err["request_id"], resp.text)
        self.assertEqual(resp.headers.get("X-Request-Id"), err["request_id"], resp.text)
        if "details" in err:
            self.assertIsInstance(err["details"], list, resp.text)
            for detail in err["details"]:
                self.assertIsInstance(detail.get("field"), str, resp.text)
                self.assertIsInstance(detail.get("problem"), str, resp.text)
        if field is not None:
            self.assertIn(field, detail_fields(err), resp.text)
        return err

    def assertTime(self, value, msg=""):
        self.assertIsInstance(value, str, msg)
        self.assertRegex(value, TIME_RE, msg)
        parse_time(value)

    def assertRecent(self, value, seconds=120):
        self.assertTime(value)
        delta = abs((utcnow() - parse_time(value)).total_seconds())
        self.assertLess(delta, seconds, f"{value} is not close to now")

    def assertKeyObject(self, obj, *, with_key=False):
        expected = KEY_FIELDS | ({"key"} if with_key else set())
        self.assertEqual(set(obj), expected, obj)
        self.assertRegex(obj["id"], KEY_ID_RE)
        self.assertRegex(obj["prefix"], PREFIX_RE)
        self.assertIn(obj["status"], ("active", "revoked", "expired"))
        self.assertTime(obj["created_at"])
        for field in ("last_used_at", "revoked_at", "expires_at"):
            if obj[field] is not None:
                self.assertTime(obj[field], field)
        if with_key:
            self.assertRegex(obj["key"], KEY_RE)
            self.assertTrue(key_checksum_ok(obj["key"]), obj["key"])
            self.assertEqual(obj["prefix"], obj["key"][:11])

    def assertDomainObject(self, obj, domain=None, plan=None):
        self.assertEqual(set(obj), DOMAIN_FIELDS, obj)
        if domain is not None:
            self.assertEqual(obj["domain"], domain)
        if plan is not None:
            self.assertEqual(obj["plan"], plan)
            self.assertEqual(obj["key_limit"], PLAN_LIMITS[plan])
        self.assertIsInstance(obj["active_keys"], int)
        self.assertTime(obj["created_at"])

    def assertEventObject(self, obj):
        self.assertEqual(set(obj), EVENT_FIELDS, obj)
        self.assertTime(obj["timestamp"])
        self.assertTime(obj["received_at"])
        self.assertIsInstance(obj["raw"], str)

    def assertAccepted(self, resp) -> str:
        """202 {"status":"accepted","event_id":"..."}; returns the event id."""
        self.assertStatus(resp, 202, "expected the event to be accepted")
        self.assertEqual(set(resp.json), {"status", "event_id"}, resp.text)
        self.assertEqual(resp.json["status"], "accepted")
        self.assertIsInstance(resp.json["event_id"], str)
        self.assertTrue(resp.json["event_id"])
        return resp.json["event_id"]

    def assertResponses(self, results) -> list:
        """Results of `parallel`: every slot must hold a Response, not an exception."""
        for result in results:
            self.assertIsInstance(result, Response, repr(result))
        return results

    def assertDuplicate(self, resp, event_id):
        self.assertStatus(resp, 200, "expected a duplicate")
        self.assertEqual(resp.json, {"status": "duplicate", "event_id": event_id})


def detail_fields(err) -> list:
    return [d.get("field") for d in (err.get("details") or []) if isinstance(d, dict)]


_SHARED_SERVERS = {}


def shared_server(module: str, env: dict) -> Server:
    """One server per test module and env, stopped when the module's tests are done."""
    key = (module, tuple(sorted(env.items())))
    server = _SHARED_SERVERS.get(key)
    if server is None or not server.running:
        server = Server(env)
        _SHARED_SERVERS[key] = server
        unittest.addModuleCleanup(server.close)
        server.start()
    return server


class ServerTestCase(CcTestCase):
    """A running server for the TestCase class; set `server_env` for extra CC_* settings.
    Classes of one module with the same env share one server (every test uses its own
    domains, so they stay independent); set `share_server = False` for a private one."""

    server_env: dict = {}
    admin_token = _DEFAULT
    share_server = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.share_server and cls.admin_token is _DEFAULT:
            cls.server = shared_server(cls.__module__, dict(cls.server_env))
        else:
            cls.server = Server(cls.server_env, admin_token=cls.admin_token)
            cls.addClassCleanup(cls.server.close)
            cls.server.start()
        cls.api = cls.server.api
        cls.port = cls.server.port

    def assertHealthy(self):
        """The server still answers after whatever the test did to it."""
        self.assertTrue(self.server.running, self.server.log_tail())
        self.assertStatus(self.api.get("/healthz", token=None), 200)


def run_parallel(fns, timeout=HTTP_TIMEOUT * 2) -> list:
    """Run callables on threads released together by a barrier; each gets the barrier
    to wait on. Returns their results; an exception is returned in its slot."""
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)

    def worker(i, fn):
        try:
            results[i] = fn(barrier)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i, fn), daemon=True) for i, fn in enumerate(fns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results


def parallel(api, calls) -> list:
    """Each call is a function of a connection. Every call gets its own TCP connection,
    connected before a barrier releases them all at once, so the requests really
    overlap on the server."""

    def wrap(call):
        def run(barrier):
            conn = api.connection()
            conn.connect()
            try:
                barrier.wait(HTTP_TIMEOUT)
                return call(conn)
            finally:
                conn.close()
        return run

    return run_parallel([wrap(call) for call in calls])
