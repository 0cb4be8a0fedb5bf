#!/usr/bin/env python3
"""Stores N valid API keys over D domains straight into a migrated cc-inbound SQLite database.

    make_keys.py DB KEYS DOMAINS [SAMPLE_FILE]

The database must already hold the schema (`cc-inbound migrate` or one start of the
server) and the server must be stopped. Each key is shaped as the service issues them
(src/auth/api_key.cpp): `cc_` + 32 base62 characters + the 6-character base62 CRC32 of
those 32, stored as the SHA-256 of the whole key with its 11-character prefix, so every
key would be accepted if a client sent it. Domains are `bulkN.example.com` on the clarity
plan, KEYS / DOMAINS keys each. One transaction, no journal while loading, WAL again at
the end. SAMPLE_FILE, when given, receives a few of the keys (one a line) so a client
can check that they are accepted. Prints the seconds taken.
"""

import hashlib
import os
import sqlite3
import sys
import time
import zlib

ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Maps every byte to a base62 character (a slight bias is irrelevant here).
TO_BASE62 = bytes(ALPHABET[b % 62] for b in range(256))


def base62(n: int, width: int) -> str:
    digits = []
    while n:
        n, m = divmod(n, 62)
        digits.append(chr(ALPHABET[m]))
    return "".join(reversed(digits)).rjust(width, "0")


def main() -> int:
    db_path, n_keys, n_domains = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sample_path = sys.argv[4] if len(sys.argv) > 4 else None
    started = time.monotonic()
    per_domain = max(1, -(-n_keys // n_domains))
    raw = os.urandom(32 * n_keys).translate(TO_BASE62)
    id_raw = os.urandom(12 * n_keys).translate(TO_BASE62)
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-524288")
    db.execute("BEGIN")
    db.executemany("INSERT OR IGNORE INTO domains (domain, plan, created_at) VALUES (?, 'clarity', 0)",
                   (("bulk%d.example.com" % d,) for d in sorted(range(n_domains), key=lambda d: "bulk%d.example.com" % d)))
    keys = []
    for i in range(n_keys):
        random_part = raw[32 * i:32 * i + 32]
        key = "cc_" + random_part.decode() + base62(zlib.crc32(random_part), 6)
        keys.append((hashlib.sha256(key.encode()).digest(), key))
    samples = [keys[i][1] for i in range(0, n_keys, max(1, n_keys // 5))]
    # In the order of the unique hash index, with ids, domains and creation times assigned
    # in that same order: every index of the table is then filled by appending, which is
    # what makes a million rows a matter of seconds.
    keys.sort()

    def rows():
        for i, (digest, key) in enumerate(keys):
            yield ("key_" + base62(i, 8) + id_raw[12 * i:12 * i + 12].decode(), "bulk%d.example.com" % (i // per_domain),
                   "bulk %d" % i, key[:11], digest, i)

    db.executemany("INSERT INTO api_keys (id, domain, name, prefix, key_hash, status, created_at) "
                   "VALUES (?, ?, ?, ?, ?, 'active', ?)", rows())
    db.execute("UPDATE registry_version SET version = version + 1")
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    if sample_path:
        with open(sample_path, "w") as f:
            f.write("\n".join(samples) + "\n")
    print("%.1f" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
