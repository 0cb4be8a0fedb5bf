"""Native TLS: HTTPS with a certificate generated at test time, TLS 1.2+ only, plain
HTTP refused on the TLS port, certificate reload on SIGHUP (new connections see the new
certificate, open ones keep working, a broken reload keeps the old one), and the
configuration errors of a half-configured TLS setup.

Needs the `openssl` command-line tool; the tests are skipped without it."""

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import uuid
import warnings

from harness import (HTTP_TIMEOUT, Api, CcTestCase, Server, build_request, poll, run_cli)

OPENSSL = shutil.which("openssl")
RELOAD_TIMEOUT = 15.0  # generous: the server may run under AddressSanitizer


def make_cert(directory, name, cn="localhost"):
    """A fresh self-signed RSA certificate and key (PEM); returns (cert path, key path)."""
    cert = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={cn}", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True, timeout=120)
    return cert, key


def pem_to_der(cert_path):
    with open(cert_path, encoding="ascii") as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def install(src, dst):
    """Replace dst with a copy of src atomically (how an operator's deploy step would)."""
    tmp = dst + ".tmp-" + uuid.uuid4().hex[:8]
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def client_context(cafile=None, *, minimum=None, maximum=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if ciphers:
        ctx.set_ciphers(ciphers)
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        if minimum:
            ctx.minimum_version = minimum
        if maximum:
            ctx.maximum_version = maximum
    return ctx


class HttpsApi(Api):
    """The harness's Api over TLS."""

    def __init__(self, host, port, token, context):
        super().__init__(host, port, token)
        self.context = context

    def connection(self, timeout=HTTP_TIMEOUT):
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                           context=self.context)


def tls_connect(port, ctx, server_hostname="localhost", timeout=HTTP_TIMEOUT):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=server_hostname)
    except BaseException:
        raw.close()
        raise


def peer_cert(port):
    """The DER certificate a fresh TLS connection is served."""
    with tls_connect(port, client_context()) as sock:
        return sock.getpeercert(binary_form=True)


def count_log(server, msg):
    return sum(1 for line in server.log_lines("stdout") if f'"msg":"{msg}"' in line)


@unittest.skipUnless(OPENSSL, "the openssl command-line tool is not installed")
class TlsTestBase(CcTestCase):
    """A TLS server with its own certificate directory, per test class."""

    extra_env: dict = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certdir = tempfile.mkdtemp(prefix="cc-e2e-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.certdir, True)
        cls.first_cert, cls.first_key = make_cert(cls.certdir, "first")
        cls.cert_file = os.path.join(cls.certdir, "live.crt")
        cls.key_file = os.path.join(cls.certdir, "live.key")
        install(cls.first_cert, cls.cert_file)
        install(cls.first_key, cls.key_file)
        cls.server = Server({"CC_TLS_CERT_FILE": cls.cert_file, "CC_TLS_KEY_FILE": cls.key_file, **cls.extra_env})
        cls.addClassCleanup(cls.server.close)
        cls.server.start()
        cls.port = cls.server.port
        cls.api = HttpsApi(cls.server.host, cls.port, cls.server.admin_token,
                           client_context(cls.first_cert))

    def https_get(self, path, ctx=None):
        api = HttpsApi(self.server.host, self.port, None, ctx or client_context())
        return api.get(path, token=None)


class TlsServingTest(TlsTestBase):

    def test_listening_line_reports_tls(self):
        lines = [l for l in self.server.log_lines("stdout") if '"msg":"listening"' in l]
        self.assertEqual(len(lines), 1, self.server.log_tail())
        self.assertIn('"tls":true', lines[0])

    def test_healthz_over_https_verified_against_the_certificate(self):
        resp = self.api.get("/healthz", token=None)
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json, {"status": "ok"})
        self.assertTrue(resp.headers.get("X-Request-Id"))

    def test_served_certificate_is_the_configured_one(self):
        self.assertEqual(peer_cert(self.port), pem_to_der(self.first_cert))

    def test_tls_1_2_and_1_3_are_accepted(self):
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            with self.subTest(name):
                ctx = client_context(minimum=version, maximum=version)
                with tls_connect(self.port, ctx) as sock:
                    self.assertEqual(sock.version(), name)
                    sock.sendall(build_request("GET", "/healthz", {"Connection": "close"}))
                    data = b""
                    sock.settimeout(HTTP_TIMEOUT)
                    while True:
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])

    def test_tls_1_2_gets_no_session_ticket_but_resumes_from_the_cache(self):
        # A TLS 1.2 ticket is sealed with a key that lives as long as the process: with
        # tickets, stealing that key decrypts every resumed session (no forward secrecy).
        ctx = client_context(minimum=ssl.TLSVersion.TLSv1_2, maximum=ssl.TLSVersion.TLSv1_2)
        with tls_connect(self.port, ctx) as sock:
            sock.sendall(build_request("GET", "/healthz", {"Connection": "close"}))
            while sock.recv(65536):
                pass
            session = sock.session
        self.assertIsNotNone(session)
        self.assertFalse(session.has_ticket, "the server issued a TLS 1.2 session ticket")
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=HTTP_TIMEOUT)
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as again:
            self.assertTrue(again.session_reused, "a TLS 1.2 session is not resumed from the server's cache")

    def test_tls_1_1_and_below_are_refused(self):
        ciphers = "DEFAULT:@SECLEVEL=0"
        for version in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1):
            with self.subTest(version.name):
                ctx = client_context(minimum=ssl.TLSVersion.TLSv1, maximum=version, ciphers=ciphers)
                ok, why = self._local_handshake_works(ctx, version)
                if not ok:
                    self.skipTest(f"the local OpenSSL will not negotiate {version.name} even with "
                                  f"{ciphers} ({why}), so the server's refusal cannot be observed")
                with self.assertRaises((ssl.SSLError, ConnectionError, OSError)) as caught:
                    with tls_connect(self.port, ctx) as sock:
                        self.fail(f"handshake succeeded with {sock.version()}")
                self.assertNotIsInstance(caught.exception, socket.timeout)
        # and the server is still fine
        self.assertStatus(self.api.get("/healthz", token=None), 200)

    def _local_handshake_works(self, client_ctx, version):
        """Control: a Python TLS server on 127.0.0.1 that allows old versions; True when
        client_ctx completes a handshake with it at `version`."""
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            server_ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                server_ctx.minimum_version = ssl.TLSVersion.TLSv1
                server_ctx.maximum_version = version
            server_ctx.load_cert_chain(self.first_cert, self.first_key)
        except (ssl.SSLError, ValueError) as exc:
            return False, f"server context: {exc}"
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(10)
        outcome = {}

        def serve():
            try:
                conn, _ = listener.accept()
                conn.settimeout(10)
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    outcome["server"] = tls.version()
            except Exception as exc:  # noqa: BLE001 - reported through the outcome
                outcome["server_error"] = repr(exc)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with tls_connect(listener.getsockname()[1], client_ctx, timeout=10) as sock:
                negotiated = sock.version()
            return negotiated is not None, f"negotiated {negotiated}"
        except (ssl.SSLError, OSError) as exc:
            return False, repr(exc)
        finally:
            thread.join(10)
            listener.close()

    def test_tls_1_2_without_forward_secret_aead_cipher_is_refused(self):
        # TLS 1.2 with only a static-RSA CBC suite: the server offers ECDHE + AEAD only.
        ctx = client_context(maximum=ssl.TLSVersion.TLSv1_2, ciphers="AES128-SHA:@SECLEVEL=0")
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            with tls_connect(self.port, ctx) as sock:
                self.fail(f"handshake succeeded with {sock.cipher()}")

    def test_plain_http_on_the_tls_port_gets_no_200(self):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=HTTP_TIMEOUT)
        data = b""
        try:
            raw.sendall(build_request("GET", "/healthz", {"Connection": "close"}))
            raw.settimeout(10)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and len(data) < 1 << 20:
                try:
                    chunk = raw.recv(65536)
                except socket.timeout:
                    break
                except OSError:  # reset: refused, as it should be
                    break
                if not chunk:
                    break
                data += chunk
        finally:
            raw.close()
        self.assertNotIn(b"200 OK", data)
        self.assertFalse(data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200"), data[:200])
        # the server survives the garbage handshake
        self.assertStatus(self.api.get("/healthz", token=None), 200)

    def test_inbound_event_over_tls_is_accepted(self):
        domain = self.api.create_domain("signal")
        created = self.api.create_key(domain, "tls key")
        resp = self.api.inbound(created["key"], {"event": "purchase", "email": "tls@example.com",
                                                 "value": "12.50", "currency": "usd"})
        self.assertStatus(resp, 202)
        self.assertEqual(resp.json["status"], "accepted")
        events = self.api.all_events(domain)
        self.assertEqual([e["event_id"] for e in events], [resp.json["event_id"]])

    def test_keep_alive_over_tls(self):
        conn = self.api.connection()
        self.addCleanup(conn.close)
        for _ in range(3):
            self.assertStatus(self.api.get("/healthz", token=None, conn=conn), 200)

    def test_admin_over_tls_still_needs_the_token(self):
        resp = self.api.get("/admin/domains", token=None)
        self.assertStatus(resp, 401)


class TlsHeaderTimeoutTest(TlsTestBase):
    """CC_HEADER_TIMEOUT_MS=2000: the TLS handshake and the first request's header share
    one header timeout, counted from the connection's start (not one period each)."""

    extra_env = {"CC_HEADER_TIMEOUT_MS": "2000"}

    def test_handshake_and_first_header_share_one_header_timeout(self):
        started = time.monotonic()
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=HTTP_TIMEOUT)
        try:
            time.sleep(1.2)  # a slow start: most of the period is gone before the handshake
            try:
                tls = client_context().wrap_socket(raw, server_hostname="localhost")
                tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")  # the header never ends
                tls.settimeout(10)
                while tls.recv(65536):
                    pass
            except (ssl.SSLError, OSError):
                pass  # closed during the handshake or the header: in time either way
        finally:
            raw.close()
        elapsed = time.monotonic() - started
        # One period: about 2.0 s. A second period after the handshake would be 3.2 s.
        self.assertLess(elapsed, 2.8)


class TlsReloadTest(TlsTestBase):
    """SIGHUP reloads the certificate. One server, the steps in order (test names sort)."""

    def sighup_and_wait(self, msg):
        before = count_log(self.server, msg)
        self.server.proc.send_signal(signal.SIGHUP)
        poll(lambda: count_log(self.server, msg) > before, RELOAD_TIMEOUT,
             what=f"a {msg!r} log line after SIGHUP")

    def test_1_reload_serves_the_new_certificate_and_open_connections_keep_working(self):
        old_der = pem_to_der(self.first_cert)
        self.assertEqual(peer_cert(self.port), old_der)

        # A keep-alive connection opened before the reload.
        early = self.api.connection()
        self.addCleanup(early.close)
        self.assertStatus(self.api.get("/healthz", token=None, conn=early), 200)

        second_cert, second_key = make_cert(self.certdir, "second", cn="localhost-rotated")
        new_der = pem_to_der(second_cert)
        self.assertNotEqual(new_der, old_der)
        install(second_key, self.key_file)
        install(second_cert, self.cert_file)
        self.sighup_and_wait("tls reloaded")

        self.assertEqual(peer_cert(self.port), new_der, "a new connection after SIGHUP")
        resp = HttpsApi(self.server.host, self.port, None, client_context(second_cert)).get(
            "/healthz", token=None)
        self.assertStatus(resp, 200, "verified against the new certificate")

        # The old connection still works, with the certificate it was opened with.
        self.assertStatus(self.api.get("/healthz", token=None, conn=early), 200,
                          "keep-alive request on a connection opened before the reload")
        self.assertEqual(early.sock.getpeercert(binary_form=True), old_der)
        self.assertTrue(self.server.running)
        type(self).current_cert = second_cert

    def test_2_broken_certificate_file_keeps_the_current_certificate(self):
        current = getattr(type(self), "current_cert", None)
        if current is None:
            self.skipTest("the reload step did not complete")
        current_der = pem_to_der(current)
        with open(self.cert_file + ".tmp", "w", encoding="ascii") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        os.replace(self.cert_file + ".tmp", self.cert_file)
        self.sighup_and_wait("tls reload failed; keeping the current certificate")
        self.assertTrue(self.server.running, self.server.log_tail())
        self.assertEqual(peer_cert(self.port), current_der)
        self.assertStatus(self.https_get("/healthz"), 200)

    def test_3_key_not_matching_the_certificate_keeps_the_current_certificate(self):
        current = getattr(type(self), "current_cert", None)
        if current is None:
            self.skipTest("the reload step did not complete")
        current_der = pem_to_der(current)
        third_cert, _ = make_cert(self.certdir, "third", cn="localhost-third")
        install(third_cert, self.cert_file)  # the key file still holds the second key
        self.sighup_and_wait("tls reload failed; keeping the current certificate")
        self.assertEqual(peer_cert(self.port), current_der)
        self.assertStatus(self.https_get("/healthz"), 200)

    def test_4_missing_files_keep_the_current_certificate_then_a_good_reload_recovers(self):
        current = getattr(type(self), "current_cert", None)
        if current is None:
            self.skipTest("the reload step did not complete")
        os.remove(self.cert_file)
        self.sighup_and_wait("tls reload failed; keeping the current certificate")
        self.assertEqual(peer_cert(self.port), pem_to_der(current))
        # Back to the first pair: the next SIGHUP takes it.
        install(self.first_key, self.key_file)
        install(self.first_cert, self.cert_file)
        self.sighup_and_wait("tls reloaded")
        self.assertEqual(peer_cert(self.port), pem_to_der(self.first_cert))
        self.assertStatus(self.api.get("/healthz", token=None), 200)


@unittest.skipUnless(OPENSSL, "the openssl command-line tool is not installed")
class TlsConfigErrorTest(CcTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certdir = tempfile.mkdtemp(prefix="cc-e2e-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.certdir, True)
        cls.cert, cls.key = make_cert(cls.certdir, "only")

    def run_serve(self, env):
        try:
            return run_cli(["serve"], self.temp_database(), env=env, timeout=60)
        except subprocess.TimeoutExpired:
            self.fail(f"`serve` with {env} did not exit: it should refuse to start")

    def assertOneLineNaming(self, result, setting):
        self.assertEqual(result.returncode, 2, result)
        lines = [l for l in result.stderr.decode().splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn(setting, lines[0])

    def test_cert_without_key_exits_2_naming_the_setting(self):
        result = self.run_serve({"CC_TLS_CERT_FILE": self.cert})
        self.assertOneLineNaming(result, "tls_key_file")

    def test_key_without_cert_exits_2_naming_the_setting(self):
        result = self.run_serve({"CC_TLS_KEY_FILE": self.key})
        self.assertOneLineNaming(result, "tls_cert_file")

    def test_missing_certificate_file_refuses_to_start(self):
        missing = os.path.join(self.certdir, "missing.crt")
        result = self.run_serve({"CC_TLS_CERT_FILE": missing, "CC_TLS_KEY_FILE": self.key})
        self.assertNotEqual(result.returncode, 0, result)
        self.assertIn("missing.crt", (result.stdout + result.stderr).decode())

    def test_unreadable_key_refuses_to_start(self):
        garbage = os.path.join(self.certdir, "garbage.key")
        with open(garbage, "w", encoding="ascii") as f:
            f.write("not a key\n")
        result = self.run_serve({"CC_TLS_CERT_FILE": self.cert, "CC_TLS_KEY_FILE": garbage})
        self.assertNotEqual(result.returncode, 0, result)
        self.assertIn("garbage.key", (result.stdout + result.stderr).decode())


if __name__ == "__main__":
    unittest.main()
