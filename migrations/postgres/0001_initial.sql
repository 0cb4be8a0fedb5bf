-- PostgreSQL schema, version 1: the same tables and meaning as migrations/0001_initial.sql.
-- Times are bigint milliseconds since the Unix epoch (UTC), as in the SQLite schema, so
-- both stores read and write the same values.

CREATE TABLE domains (
    domain      text PRIMARY KEY,
    plan        text NOT NULL CHECK (plan IN ('pulse', 'signal', 'clarity', 'command')),
    created_at  bigint NOT NULL
);

-- Only the SHA-256 of a key is stored; the full value never is.
CREATE TABLE api_keys (
    id            text PRIMARY KEY,
    seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,  -- creation order, for ties of created_at
    domain        text NOT NULL REFERENCES domains (domain),
    name          text NOT NULL,
    prefix        text NOT NULL,
    key_hash      bytea NOT NULL UNIQUE,
    status        text NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at    bigint NOT NULL,
    last_used_at  bigint,
    last_used_ip  text,
    revoked_at    bigint,
    expires_at    bigint
);
CREATE INDEX api_keys_by_domain ON api_keys (domain, created_at, seq);

-- Idempotency: one event per (domain, event_id), enforced by the unique constraint, so
-- it holds across nodes: a second node's insert waits for the first and does nothing.
CREATE TABLE events (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain        text NOT NULL,
    event_id      text NOT NULL,
    key_id        text NOT NULL,
    name          text NOT NULL,
    email         text,
    email_sha256  text,
    phone         text,
    phone_sha256  text,
    external_id   text,
    click_id      text,
    value         text,      -- exact decimal text, never a binary float
    currency      text,
    occurred_at   bigint NOT NULL,
    received_at   bigint NOT NULL,
    properties    text,
    raw           text NOT NULL,
    UNIQUE (domain, event_id)
);
CREATE INDEX events_by_domain ON events (domain, seq);
CREATE INDEX events_by_received_at ON events (received_at);

CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         bigint NOT NULL,
    actor      text NOT NULL,
    client_ip  text,
    action     text NOT NULL,
    domain     text,
    key_id     text,
    details    text
);
CREATE INDEX audit_log_by_domain ON audit_log (domain, id);

-- Bumped by every change to domains or keys. Nodes learn of changes from the
-- cc_registry notification sent in the same transaction; the version is the fallback
-- that a poll can compare.
CREATE TABLE registry_version (
    id       integer PRIMARY KEY CHECK (id = 1),
    version  bigint NOT NULL
);
INSERT INTO registry_version (id, version) VALUES (1, 0);
