-- PostgreSQL mirror of migrations/0002_key_rolls_and_event_keys.sql: key rotation chains,
-- event listings that keep naming a deleted key, and indexes for the event filters.

-- The id of the key that replaced this one in a roll; NULL until it is rolled.
ALTER TABLE api_keys ADD COLUMN rolled_to text;

-- Keys rolled before this column existed: their successor is in the audit trail.
UPDATE api_keys SET rolled_to = (
    SELECT a.details::json ->> 'new_key_id' FROM audit_log a
    WHERE a.action = 'key.rolled' AND a.key_id = api_keys.id
    ORDER BY a.id DESC LIMIT 1)
WHERE rolled_to IS NULL;

-- What an event listing shows of a key after the key is deleted: its id, name and
-- prefix (never its hash). Written by the delete, in the same transaction.
CREATE TABLE deleted_keys (
    id          text PRIMARY KEY,
    domain      text NOT NULL,
    name        text NOT NULL,
    prefix      text NOT NULL,
    deleted_at  bigint NOT NULL
);

CREATE INDEX events_by_domain_key ON events (domain, key_id, seq);
CREATE INDEX events_by_domain_name ON events (domain, name, seq);
