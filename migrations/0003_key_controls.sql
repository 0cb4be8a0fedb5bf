-- Key controls (SPEC §7): allowed IPs and browser exposure on keys, hourly usage per key,
-- and the log of inbound requests refused after their key was identified.

-- Normalized CIDR blocks, comma-separated; NULL or empty: any address.
ALTER TABLE api_keys ADD COLUMN allowed_ips TEXT;
ALTER TABLE api_keys ADD COLUMN exposed_at INTEGER;
ALTER TABLE api_keys ADD COLUMN exposed_origin TEXT;

-- Counts are added (never overwritten), so every node's flush adds to the same rows.
CREATE TABLE key_usage_hourly (
    key_id       TEXT NOT NULL,
    hour         INTEGER NOT NULL,  -- hours since the Unix epoch
    accepted     INTEGER NOT NULL DEFAULT 0,
    duplicate    INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    auth_failed  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, hour)
) WITHOUT ROWID;
CREATE INDEX key_usage_hourly_by_hour ON key_usage_hourly (hour);

-- Field names and problems only: never an event's values.
CREATE TABLE rejections (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    domain      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    key_prefix  TEXT NOT NULL,
    status      INTEGER NOT NULL,
    code        TEXT NOT NULL,
    details     TEXT,
    request_id  TEXT NOT NULL,
    client_ip   TEXT
);
CREATE INDEX rejections_by_domain ON rejections (domain, id);
CREATE INDEX rejections_by_request_id ON rejections (request_id);
CREATE INDEX rejections_by_at ON rejections (at);
