#!/usr/bin/env python3
"""Revocation propagation delay between two cc-inbound nodes on one PostgreSQL database.

    revocation_probe.py URL_A URL_B ADMIN_TOKEN DOMAIN ROUNDS

Each round creates a key on node A, waits until node B knows it, revokes it on node A
(POST /admin/keys/{id}/revoke) and then asks node B with that key, as fast as one
keep-alive connection allows, until B answers 401. The delay is measured from the moment
A's 200 answer to the revocation arrived (the change is committed then) to B's first 401.
B is asked with an empty JSON object as the body: while the key is valid that is a 400
(nothing is stored), and the key check comes before the body, so a revoked key is a 401.
Prints one JSON object: the delays in ms, p50, p99, max, the polls per round.
"""

import http.client
import json
import sys
import time
import urllib.parse


def connect(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def call(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    res = conn.getresponse()
    return res.status, res.read()


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(0, min(len(ordered) - 1, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def rounded(value):
    return None if value is None else round(value, 2)


def main() -> int:
    url_a, url_b, token, domain, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    admin = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    a, b = connect(url_a), connect(url_b)
    delays, polls, timeouts = [], [], 0
    for _ in range(rounds):
        status, body = call(a, "POST", "/admin/keys", json.dumps({"domain": domain, "name": "propagation"}), admin)
        if status != 201 and status != 200:
            print(json.dumps({"error": "create key: %d %s" % (status, body[:200].decode(errors="replace"))}))
            return 1
        created = json.loads(body)
        key, key_id = created["key"], created["id"]
        probe = {"X-CC-Api-Key": key, "Content-Type": "application/json"}
        deadline = time.monotonic() + 10
        while call(b, "POST", "/__cc/inbound", "{}", probe)[0] == 401 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.1)
        status, body = call(a, "POST", "/admin/keys/%s/revoke" % key_id, "{}", admin)
        revoked_at = time.monotonic()
        if status != 200:
            print(json.dumps({"error": "revoke: %d %s" % (status, body[:200].decode(errors="replace"))}))
            return 1
        n = 0
        while True:
            n += 1
            if call(b, "POST", "/__cc/inbound", "{}", probe)[0] == 401:
                delays.append((time.monotonic() - revoked_at) * 1000.0)
                break
            if time.monotonic() - revoked_at > 10:
                timeouts += 1
                break
        polls.append(n)
    print(json.dumps({"rounds": rounds, "delays_ms": [round(d, 2) for d in delays], "timeouts": timeouts,
                      "p50_ms": rounded(percentile(delays, 50)), "p99_ms": rounded(percentile(delays, 99)),
                      "max_ms": rounded(max(delays) if delays else None), "polls": polls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
