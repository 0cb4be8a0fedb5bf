"""GET /metrics: Prometheus text exposition (0.0.4) checked by a strict parser of our own
(and by `promtool check metrics` when installed), the families the contract names and
that they move with traffic, label hygiene (route patterns, never domains or keys), and
the separate metrics and admin listeners."""

import json
import math
import re
import shutil
import subprocess
import time
import unittest

from harness import (BATCH, INBOUND, Api, CcTestCase, RawConnection, Server, ServerTestCase,
                     build_request, expect, forge_key, poll, sha256_hex, unique_domain, unique_id)

METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT_RE = re.compile(r"[+-]?(?:Inf|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
TIMESTAMP_RE = re.compile(r"-?\d+")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}

EXPECTED_FAMILIES = {
    "cc_http_requests_total": "counter",
    "cc_http_request_duration_seconds": "histogram",
    "cc_events_total": "counter",
    "cc_auth_failures_total": "counter",
    "cc_rate_limited_total": "counter",
    "cc_commit_batch_size_events": "histogram",
    "cc_commit_duration_seconds": "histogram",
    "cc_writer_queue_depth_events": "gauge",
    "cc_open_connections": "gauge",
    "cc_key_index_size_keys": "gauge",
    "cc_process_start_time_seconds": "gauge",
    "cc_build_info": "gauge",
}


AUTH_FAILURE_REASONS = ("missing_api_key", "invalid_api_key", "revoked_api_key", "expired_api_key",
                        "domain_mismatch", "ip_not_allowed", "browser_request_refused")


class ExpositionError(AssertionError):
    pass


def parse_float(text, where):
    if not FLOAT_RE.fullmatch(text):
        raise ExpositionError(f"{where}: {text!r} is not a Prometheus float")
    return float(text.replace("Inf", "inf").replace("NaN", "nan"))


def parse_labels(text, pos, where):
    """Parse `{name="value",...}` starting at text[pos] == '{'; returns (labels, end)."""
    assert text[pos] == "{"
    pos += 1
    labels = {}
    while True:
        if text[pos:pos + 1] == "}":
            return labels, pos + 1
        m = LABEL_NAME_RE.match(text, pos)
        if not m:
            raise ExpositionError(f"{where}: bad label name at column {pos}")
        name = m.group(0)
        if name.startswith("__"):
            raise ExpositionError(f"{where}: reserved label name {name}")
        if name in labels:
            raise ExpositionError(f"{where}: label {name} repeated")
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise ExpositionError(f"{where}: expected =\" after label {name}")
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise ExpositionError(f"{where}: unterminated label value")
            c = text[pos]
            if c == "\\":
                nxt = text[pos + 1:pos + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ExpositionError(f"{where}: bad escape \\{nxt} in label {name}")
                value.append("\n" if nxt == "n" else nxt)
                pos += 2
            elif c == '"':
                pos += 1
                break
            elif c == "\n":
                raise ExpositionError(f"{where}: raw newline in label {name}")
            else:
                value.append(c)
                pos += 1
        labels[name] = "".join(value)
        if text[pos:pos + 1] == ",":
            pos += 1
            continue
        if text[pos:pos + 1] != "}":
            raise ExpositionError(f"{where}: expected , or }} after label {name}")


def family_of(sample_name, families):
    """The declared family a sample name belongs to, given the families' types."""
    if sample_name in families and families[sample_name]["type"] in ("counter", "gauge", "untyped", "summary"):
        return sample_name
    for suffix in ("_bucket", "_sum", "_count"):
        if sample_name.endswith(suffix):
            base = sample_name[: -len(suffix)]
            if base in families and families[base]["type"] == "histogram":
                return base
            if base in families and families[base]["type"] == "summary" and suffix != "_bucket":
                return base
    return None


def parse_exposition(text):
    """Strictly parse Prometheus text format 0.0.4. Returns {family: {"help", "type",
    "samples": [(name, labels, value)]}}; raises ExpositionError on any deviation."""
    if not text.endswith("\n"):
        raise ExpositionError("the exposition does not end with a newline")
    families = {}
    finished = set()  # families whose sample block is over
    current = None
    seen_series = set()
    for number, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {number} {line[:200]!r}"
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                kind, name = parts[1], parts[2]
                if not METRIC_NAME_RE.fullmatch(name):
                    raise ExpositionError(f"{where}: bad metric name")
                if name in finished or (current and current != name and name in families):
                    raise ExpositionError(f"{where}: family {name} declared again after its samples")
                if current and current != name:
                    finished.add(current)
                current = name
                fam = families.setdefault(name, {"help": None, "type": None, "samples": []})
                if fam["samples"]:
                    raise ExpositionError(f"{where}: {kind} after samples of {name}")
                if kind == "HELP":
                    if fam["help"] is not None:
                        raise ExpositionError(f"{where}: second HELP for {name}")
                    if fam["type"] is not None:
                        raise ExpositionError(f"{where}: HELP after TYPE for {name}")
                    fam["help"] = parts[3] if len(parts) > 3 else ""
                    if not fam["help"].strip():
                        raise ExpositionError(f"{where}: empty HELP")
                else:
                    if fam["type"] is not None:
                        raise ExpositionError(f"{where}: second TYPE for {name}")
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ExpositionError(f"{where}: bad TYPE")
                    fam["type"] = parts[3]
            continue  # other comments are allowed
        m = METRIC_NAME_RE.match(line)
        if not m:
            raise ExpositionError(f"{where}: no metric name")
        name, pos = m.group(0), m.end()
        labels = {}
        if line[pos:pos + 1] == "{":
            labels, pos = parse_labels(line, pos, where)
        rest = line[pos:]
        if not rest.startswith(" "):
            raise ExpositionError(f"{where}: expected a space before the value")
        fields = rest[1:].split(" ")
        if len(fields) not in (1, 2):
            raise ExpositionError(f"{where}: expected `value [timestamp]`")
        value = parse_float(fields[0], where)
        if len(fields) == 2 and not TIMESTAMP_RE.fullmatch(fields[1]):
            raise ExpositionError(f"{where}: bad timestamp")
        family = family_of(name, families)
        if family is None:
            raise ExpositionError(f"{where}: sample {name} has no HELP/TYPE declared before it")
        if family != current:
            raise ExpositionError(f"{where}: sample of {family} outside its block (current {current})")
        fam = families[family]
        if fam["help"] is None or fam["type"] is None:
            raise ExpositionError(f"{where}: {family} lacks HELP or TYPE before its samples")
        series = (name, tuple(sorted(labels.items())))
        if series in seen_series:
            raise ExpositionError(f"{where}: duplicate series")
        seen_series.add(series)
        fam["samples"].append((name, labels, value))
    for name, fam in families.items():
        if fam["help"] is None or fam["type"] is None:
            raise ExpositionError(f"family {name} lacks HELP or TYPE")
        if fam["type"] == "counter":
            if not name.endswith("_total"):
                raise ExpositionError(f"counter {name} does not end in _total")
            for sample_name, labels, value in fam["samples"]:
                if value < 0 or math.isnan(value):
                    raise ExpositionError(f"counter {name}{labels} = {value}")
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return families


def check_histogram(name, samples):
    groups = {}
    for sample_name, labels, value in samples:
        base = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        group = groups.setdefault(base, {"buckets": [], "sum": None, "count": None})
        if sample_name == name + "_bucket":
            if "le" not in labels:
                raise ExpositionError(f"{name}_bucket{labels} without le")
            group["buckets"].append((parse_float(labels["le"], f"{name} le"), value))
        elif "le" in labels:
            raise ExpositionError(f"{sample_name}{labels} carries le")
        elif sample_name == name + "_sum":
            group["sum"] = value
        elif sample_name == name + "_count":
            group["count"] = value
    for base, group in groups.items():
        where = f"{name}{dict(base)}"
        bounds = [le for le, _ in group["buckets"]]
        if not bounds or bounds[-1] != math.inf:
            raise ExpositionError(f"{where}: buckets do not end with le=\"+Inf\"")
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ExpositionError(f"{where}: bucket bounds not strictly increasing: {bounds}")
        counts = [c for _, c in group["buckets"]]
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise ExpositionError(f"{where}: buckets not cumulative: {counts}")
        if group["count"] is None or group["sum"] is None:
            raise ExpositionError(f"{where}: _sum or _count missing")
        if counts[-1] != group["count"]:
            raise ExpositionError(f"{where}: +Inf bucket {counts[-1]} != _count {group['count']}")
        if group["sum"] < 0 or math.isnan(group["sum"]):
            raise ExpositionError(f"{where}: _sum {group['sum']}")


def matching(families, name, sample=None, **labels):
    """The values of the samples of a family (or of one sample name in it) matching labels.
    A missing family is a failure, never an empty list: the contract says every family
    has its samples from start-up on."""
    fam = families.get(name)
    if fam is None:
        raise AssertionError(f"family {name} is not exported")
    sample = sample or name
    return [v for n, l, v in fam["samples"]
            if n == sample and all(l.get(k) == want for k, want in labels.items())]


def total(families, name, sample=None, **labels):
    """Sum of the samples of a family (or of one sample name in it) matching labels;
    fails when no sample matches (a series that is not exported is not a zero)."""
    values = matching(families, name, sample, **labels)
    if not values:
        raise AssertionError(f"no sample {sample or name}{labels} is exported")
    return sum(values)


def label_values(families, label):
    return {l[label] for fam in families.values() for _, l, _ in fam["samples"] if label in l}


def purchase(**extra):
    return {"event": "purchase", "email": "metrics@example.com", **extra}


class MetricsExpositionTest(ServerTestCase):
    """One round of varied traffic, then the exposition is checked from every side."""

    server_env = {"CC_RATE_LIMIT_PULSE": "1:1"}
    share_server = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.before = cls.scrape_text()
        cls.secrets = set()
        cls.traffic()
        cls.after = cls.scrape_text()

    @classmethod
    def scrape(cls):
        return expect(cls.api.get("/metrics", token=None), 200, "GET /metrics")

    @classmethod
    def scrape_text(cls):
        return cls.scrape().text

    @classmethod
    def remember(cls, *values):
        cls.secrets.update(v for v in values if v)

    @classmethod
    def traffic(cls):
        api = cls.api
        cls.remember(cls.server.admin_token)
        # accepted, duplicate, rejected (validation and bad JSON)
        domain = api.create_domain("command")
        key = api.create_key(domain, "metrics key")
        cls.remember(domain, key["key"], key["prefix"], key["id"], sha256_hex(key["key"]))
        event_id = unique_id()
        for i in range(3):
            expect(api.inbound(key["key"], purchase(event_id=f"{event_id}-{i}")), 202, "accepted")
        expect(api.inbound(key["key"], purchase(event_id=f"{event_id}-0")), 200, "duplicate")
        expect(api.inbound(key["key"], {"event": "purchase"}), 400, "validation")
        expect(api.inbound(key["key"], "{not json"), 400, "invalid json")
        # a batch: two accepted, one rejected
        batch = {"events": [purchase(), {"event": "purchase", "value": 5}, purchase(event_id=unique_id())]}
        resp = expect(api.inbound(key["key"], batch, batch=True), 200, "batch")
        assert (resp.json["accepted"], resp.json["rejected"]) == (2, 1), resp.text
        # auth failures with different reasons
        expect(api.inbound(None, purchase()), 401, "missing key")
        forged = forge_key()
        cls.remember(forged, forged[:11])
        expect(api.inbound(forged, purchase()), 401, "invalid key")
        expect(api.inbound("cc_short", purchase()), 401, "malformed key")
        revoked = api.create_key(domain, "revoked")
        cls.remember(revoked["key"], revoked["prefix"], revoked["id"])
        expect(api.revoke(revoked["id"]), 200, "revoke")
        expect(api.inbound(revoked["key"], purchase()), 401, "revoked key")
        rolled = api.create_key(domain, "rolled")
        cls.remember(rolled["key"], rolled["prefix"], rolled["id"])
        new = expect(api.roll(rolled["id"], {"grace_seconds": 0}), 201, "roll").json
        cls.remember(new["key"], new["prefix"], new["id"])
        expect(api.inbound(rolled["key"], purchase()), 401, "expired key")
        other = api.create_domain("command")
        cls.remember(other)
        expect(api.inbound(key["key"], purchase(), host=other), 403, "domain mismatch")
        # rate limited: pulse is 1/s with a burst of 1
        pulse = api.create_domain("pulse")
        pulse_key = api.create_key(pulse, "pulse")
        cls.remember(pulse, pulse_key["key"], pulse_key["prefix"], pulse_key["id"])
        statuses = []
        for _ in range(10):
            statuses.append(api.inbound(pulse_key["key"], purchase()).status)
            if 429 in statuses:
                break
        assert 429 in statuses, statuses
        # admin routes with ids in the path, and a 404 on a path with a domain in it
        expect(api.get_key(key["id"]), 200, "get key")
        expect(api.get_domain(domain), 200, "get domain")
        expect(api.get(f"/nowhere/{domain}/{key['prefix']}", token=None), 404, "unknown path")
        expect(api.get(f"/admin/keys/{key['id']}/nothing"), 404, "unknown admin path")
        # wait until the committed events are counted
        poll(lambda: total(parse_exposition(cls.scrape_text()), "cc_events_total", outcome="accepted") >= 5,
             10, what="accepted events to be counted")

    # -- format

    def test_content_type_is_prometheus_text_0_0_4(self):
        resp = self.scrape()
        content_type = resp.headers.get("Content-Type", "")
        media, *params = [p.strip() for p in content_type.split(";")]
        self.assertEqual(media, "text/plain", content_type)
        self.assertIn("version=0.0.4", params, content_type)

    def test_exposition_parses_strictly(self):
        for text in (self.before, self.after):
            families = parse_exposition(text)
            self.assertTrue(families)

    def test_parser_rejects_malformed_expositions(self):
        # The checker itself must catch what it is meant to catch.
        good = "# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n"
        parse_exposition(good)
        bad = [
            "a_total 3\n",                                                    # no HELP/TYPE
            "# TYPE a counter\n# HELP a Things.\na 1\n",                      # counter without _total, TYPE first
            good.replace(" 3\n", " three\n"),                                 # bad value
            good.replace('x="1"', "x=1"),                                     # unquoted label
            good[:-1],                                                        # no final newline
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
            good + good,                                                      # family twice
            good + "a_total{x=\"1\"} 4\n",                                    # duplicate series
        ]
        for text in bad:
            with self.subTest(text=text):
                with self.assertRaises(ExpositionError):
                    parse_exposition(text)

    def test_promtool_check_metrics(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool is not installed (Debian package prometheus)")
        result = subprocess.run([promtool, "check", "metrics"], input=self.after.encode(),
                                capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0, (result.stdout + result.stderr).decode())

    # -- content

    def test_every_family_has_samples_from_start_up(self):
        # Scraped before any traffic: a series born with its first increment is invisible
        # to increase(), so an alert would miss the first failure.
        families = parse_exposition(self.before)
        for name in EXPECTED_FAMILIES:
            with self.subTest(family=name):
                self.assertIn(name, families)
                self.assertTrue(families[name]["samples"], f"{name} has no sample at start-up")
        zero = {
            ("cc_events_total", "outcome"): ("accepted", "duplicate", "rejected"),
            ("cc_auth_failures_total", "reason"): AUTH_FAILURE_REASONS,
            ("cc_rate_limited_total", "plan"): ("pulse", "signal", "clarity", "command"),
        }
        for (name, label), values in zero.items():
            for value in values:
                with self.subTest(family=name, **{label: value}):
                    self.assertEqual(matching(families, name, **{label: value}), [0.0])
        self.assertEqual(matching(families, "cc_commit_failures_total"), [0.0])
        for name in ("cc_commit_batch_size_events", "cc_commit_duration_seconds"):
            with self.subTest(histogram=name):
                buckets = matching(families, name, name + "_bucket")
                self.assertGreater(len(buckets), 2, buckets)
                self.assertEqual(set(buckets), {0.0})
                self.assertEqual(matching(families, name, name + "_count"), [0.0])
                self.assertEqual(matching(families, name, name + "_sum"), [0.0])
        # Request latency of every route, and the 5xx counters an alert watches.
        for route, method in ((INBOUND, "POST"), (BATCH, "POST"), ("/admin/keys", "POST"),
                              ("/admin/keys/{id}", "GET"), ("/readyz", "GET")):
            with self.subTest(route=route):
                count = "cc_http_request_duration_seconds_count"
                self.assertEqual(len(matching(families, "cc_http_request_duration_seconds", count, route=route)), 1)
                for status in ("500", "503"):
                    self.assertEqual(matching(families, "cc_http_requests_total", route=route, method=method,
                                              status=status), [0.0])

    def test_total_fails_for_a_missing_family_or_series(self):
        # The helper the other tests lean on must not read "absent" as zero.
        families = parse_exposition("# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n")
        self.assertEqual(total(families, "a_total", x="1"), 3)
        with self.assertRaises(AssertionError):
            total(families, "b_total")
        with self.assertRaises(AssertionError):
            total(families, "a_total", x="2")

    def test_expected_families_exist_with_their_types(self):
        families = parse_exposition(self.after)
        for name, kind in EXPECTED_FAMILIES.items():
            with self.subTest(name):
                self.assertIn(name, families)
                self.assertEqual(families[name]["type"], kind)

    def test_counters_moved_with_the_traffic(self):
        before, after = parse_exposition(self.before), parse_exposition(self.after)
        def grew(name, sample=None, **labels):
            # The family must exist in both; a series (e.g. status 202) may appear with its first request.
            self.assertGreater(total(after, name, sample, **labels), sum(matching(before, name, sample, **labels)),
                               f"{sample or name} {labels}")

        grew("cc_http_requests_total", route=INBOUND, status="202")
        grew("cc_http_requests_total", route=INBOUND, status="401")
        grew("cc_http_requests_total", route=INBOUND, status="429")
        grew("cc_http_requests_total", route=BATCH, status="200")
        grew("cc_http_request_duration_seconds", "cc_http_request_duration_seconds_count", route=INBOUND)
        self.assertGreaterEqual(total(after, "cc_events_total", outcome="accepted")
                                - total(before, "cc_events_total", outcome="accepted"), 5)
        self.assertGreaterEqual(total(after, "cc_events_total", outcome="duplicate")
                                - total(before, "cc_events_total", outcome="duplicate"), 1)
        self.assertGreaterEqual(total(after, "cc_events_total", outcome="rejected")
                                - total(before, "cc_events_total", outcome="rejected"), 2)
        for reason in ("missing_api_key", "invalid_api_key", "revoked_api_key", "expired_api_key",
                       "domain_mismatch"):
            with self.subTest(reason=reason):
                grew("cc_auth_failures_total", reason=reason)
        self.assertEqual(label_values(after, "outcome") & {"accepted", "duplicate", "rejected"},
                         {"accepted", "duplicate", "rejected"})
        grew("cc_rate_limited_total")
        self.assertGreaterEqual(total(after, "cc_rate_limited_total", plan="pulse"), 1)
        grew("cc_commit_batch_size_events", "cc_commit_batch_size_events_count")
        grew("cc_commit_duration_seconds", "cc_commit_duration_seconds_count")

    def test_commit_batch_sizes_add_up_to_the_committed_events(self):
        after = parse_exposition(self.after)
        committed = total(after, "cc_commit_batch_size_events", "cc_commit_batch_size_events_sum")
        stored = (total(after, "cc_events_total", outcome="accepted")
                  + total(after, "cc_events_total", outcome="duplicate"))
        self.assertGreaterEqual(committed, stored)

    def test_gauges_are_sane(self):
        families = parse_exposition(self.scrape_text())
        self.assertEqual(total(families, "cc_writer_queue_depth_events"), 0)  # all committed
        self.assertGreaterEqual(total(families, "cc_open_connections"), 1)  # this scrape
        # Keys created by the traffic, revoked and expired included; the index may take a
        # reload cycle (CC_LAST_USED_FLUSH_MS, 1 s by default) to show admin changes.
        poll(lambda: total(parse_exposition(self.scrape_text()), "cc_key_index_size_keys") >= 5, 10,
             what="cc_key_index_size_keys to count the keys made by the traffic")
        start = total(families, "cc_process_start_time_seconds")
        self.assertLess(abs(start - time.time()), 3600, start)
        self.assertLessEqual(start, time.time() + 5)
        info = families["cc_build_info"]["samples"]
        self.assertEqual(len(info), 1)
        self.assertEqual(info[0][2], 1)
        self.assertTrue(info[0][1].get("version"))

    def test_open_connections_follow_the_clients(self):
        baseline = total(parse_exposition(self.scrape_text()), "cc_open_connections")
        conns = []
        try:
            for _ in range(3):
                conn = RawConnection(self.port)
                conns.append(conn)
                conn.send(build_request("GET", "/healthz"))
                expect(conn.read_response(), 200, "healthz on a kept connection")
            poll(lambda: total(parse_exposition(self.scrape_text()), "cc_open_connections") >= baseline + 3,
                 10, what="cc_open_connections to count three more clients")
        finally:
            for conn in conns:
                conn.close()
        poll(lambda: total(parse_exposition(self.scrape_text()), "cc_open_connections") <= baseline,
             10, what="cc_open_connections to come back down")

    def test_route_label_is_the_route_pattern(self):
        families = parse_exposition(self.after)
        routes = {l["route"] for _, l, _ in families["cc_http_requests_total"]["samples"]}
        self.assertIn(INBOUND, routes)
        self.assertIn(BATCH, routes)
        self.assertIn("/admin/keys/{id}", routes)
        self.assertIn("/admin/domains/{domain}", routes)
        for route in label_values(families, "route"):
            with self.subTest(route=route):
                self.assertNotRegex(route, r"key_[0-9A-Za-z]{4,}")
                self.assertNotIn("nowhere", route)
                self.assertTrue(route.startswith("/") or re.fullmatch(r"[a-z_]+", route), route)

    def test_status_and_method_labels_are_plain(self):
        families = parse_exposition(self.after)
        for status in label_values(families, "status"):
            self.assertRegex(status, r"^[1-5]\d\d$")
        for method in label_values(families, "method"):
            self.assertRegex(method, r"^[A-Z]+$")

    def test_no_domain_key_or_prefix_in_any_label_or_value(self):
        text = self.scrape_text()
        families = parse_exposition(text)
        values = {v for fam in families.values() for _, l, _ in fam["samples"] for v in l.values()}
        for secret in sorted(self.secrets):
            with self.subTest(secret=secret[:14]):
                self.assertNotIn(secret, text)
                for value in values:
                    self.assertNotIn(secret, value)

    def test_arbitrary_methods_do_not_create_new_series(self):
        # The method label must come from a fixed set: a client inventing method names
        # would otherwise grow the exposition (and the server's memory) without bound.
        invented = [f"X{unique_id('M').replace('-', '').upper()[:20]}" for _ in range(5)]
        counted = lambda: sum(sum(matching(parse_exposition(self.scrape_text()), "cc_http_requests_total",  # noqa: E731
                                           route=route)) for route in ("/healthz", "unmatched"))
        before = counted()
        for method in invented:
            with RawConnection(self.port) as conn:
                conn.send(build_request(method, "/healthz", {"Connection": "close"}))
                conn.read_response()
        # Each request is counted just after its response is written: let that settle.
        poll(lambda: counted() >= before + len(invented), 10, what="the invented-method requests to be counted")
        time.sleep(0.3)
        methods = label_values(parse_exposition(self.scrape_text()), "method")
        leaked = [m for m in invented if m in methods]
        self.assertEqual(leaked, [], f"client-chosen methods became label values: {sorted(methods)}")


class SeparateListenersTest(CcTestCase):
    """CC_METRICS_LISTEN and CC_ADMIN_LISTEN move /metrics and /admin off the public port."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = Server({"CC_METRICS_LISTEN": "127.0.0.1:0", "CC_ADMIN_LISTEN": "127.0.0.1:0"})
        cls.addClassCleanup(cls.server.close)
        cls.server.start()
        line = next(json.loads(l) for l in cls.server.log_lines("stdout") if '"msg":"listening"' in l)
        cls.listening = line
        token = cls.server.admin_token

        def api_at(field):
            host, _, port = line[field].rpartition(":")
            return Api(host.strip("[]"), int(port), token)

        cls.public = api_at("address")
        cls.metrics = api_at("metrics_address")
        cls.admin = api_at("admin_address")

    def test_listening_line_has_the_three_addresses(self):
        for field in ("address", "metrics_address", "admin_address"):
            self.assertRegex(self.listening.get(field, ""), r"^127\.0\.0\.1:\d+$", self.listening)
        ports = {self.public.port, self.metrics.port, self.admin.port}
        self.assertEqual(len(ports), 3, self.listening)
        self.assertEqual(self.public.port, self.server.port)

    def test_metrics_only_on_the_metrics_listener(self):
        resp = self.metrics.get("/metrics", token=None)
        self.assertStatus(resp, 200)
        parse_exposition(resp.text)
        self.assertStatus(self.public.get("/metrics", token=None), 404)
        self.assertStatus(self.admin.get("/metrics"), 404)

    def test_admin_only_on_the_admin_listener(self):
        self.assertStatus(self.admin.get("/admin/domains"), 200)
        domain = unique_domain("sep")
        self.assertStatus(self.public.put_domain(domain, "signal"), 404)
        self.assertStatus(self.public.get("/admin/domains"), 404)
        self.assertStatus(self.metrics.get("/admin/domains"), 404)
        self.assertStatus(self.admin.get_domain(domain), 404)  # the public PUT did nothing

    def test_intake_and_health_stay_on_the_public_listener(self):
        domain = self.admin.create_domain("signal")
        created = self.admin.create_key(domain, "separate")
        self.assertAccepted(self.public.inbound(created["key"], purchase()))
        self.assertStatus(self.public.get("/healthz", token=None), 200)
        self.assertStatus(self.public.get("/readyz", token=None), 200)
        self.assertStatus(self.metrics.inbound(created["key"], purchase()), 404)
        self.assertStatus(self.admin.inbound(created["key"], purchase()), 404)
        # and the metrics listener counts the public traffic
        poll(lambda: total(parse_exposition(self.metrics.get("/metrics", token=None).text),
                           "cc_events_total", outcome="accepted") >= 1, 10,
             what="the accepted event on the metrics listener")


if __name__ == "__main__":
    unittest.main()
