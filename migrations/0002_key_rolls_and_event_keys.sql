-- Key rotation chains, event listings that keep naming a deleted key, and indexes for
-- the event filters of GET /admin/events.

-- The id of the key that replaced this one in a roll; NULL until it is rolled. A key
-- with a successor cannot be rolled again, so rolling never adds more than one key.
ALTER TABLE api_keys ADD COLUMN rolled_to TEXT;

-- Keys rolled before this column existed: their successor is in the audit trail.
UPDATE api_keys SET rolled_to = (
    SELECT json_extract(a.details, '$.new_key_id') FROM audit_log a
    WHERE a.action = 'key.rolled' AND a.key_id = api_keys.id
    ORDER BY a.id DESC LIMIT 1)
WHERE rolled_to IS NULL;

-- What an event listing shows of a key after the key is deleted: its id, name and
-- prefix (never its hash). Written by the delete, in the same transaction.
CREATE TABLE deleted_keys (
    id          TEXT PRIMARY KEY,
    domain      TEXT NOT NULL,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    deleted_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX events_by_domain_key ON events (domain, key_id, seq);
CREATE INDEX events_by_domain_name ON events (domain, name, seq);
