-- Domains, their inbound keys, the events received with them, and the audit trail.
-- Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE domains (
    domain      TEXT PRIMARY KEY,
    plan        TEXT NOT NULL CHECK (plan IN ('pulse', 'signal', 'clarity', 'command')),
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Only the SHA-256 of a key is stored; the full value never is.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    domain        TEXT NOT NULL REFERENCES domains (domain),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      BLOB NOT NULL UNIQUE,
    status        TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    last_used_ip  TEXT,
    revoked_at    INTEGER,
    expires_at    INTEGER
);
CREATE INDEX api_keys_by_domain ON api_keys (domain, created_at);

-- Idempotency: one event per (domain, event_id), enforced by the unique constraint
-- so it holds under concurrency and across restarts.
CREATE TABLE events (
    seq           INTEGER PRIMARY KEY,
    domain        TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT,
    email_sha256  TEXT,
    phone         TEXT,
    phone_sha256  TEXT,
    external_id   TEXT,
    click_id      TEXT,
    value         TEXT,      -- exact decimal text, never a binary float
    currency      TEXT,
    occurred_at   INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    properties    TEXT,
    raw           TEXT NOT NULL,
    UNIQUE (domain, event_id)
);
CREATE INDEX events_by_domain ON events (domain, seq);
CREATE INDEX events_by_received_at ON events (received_at);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    client_ip  TEXT,
    action     TEXT NOT NULL,
    domain     TEXT,
    key_id     TEXT,
    details    TEXT
);
CREATE INDEX audit_log_by_domain ON audit_log (domain, id);

-- Bumped by every change to domains or keys, so a running service notices changes
-- made by another process (the operator CLI) and reloads its in-memory index.
CREATE TABLE registry_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO registry_version (id, version) VALUES (1, 0);
