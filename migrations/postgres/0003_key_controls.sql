-- PostgreSQL mirror of migrations/0003_key_controls.sql (SPEC §7): allowed IPs and browser
-- exposure on keys, hourly usage per key, and the log of inbound requests refused after
-- their key was identified.

-- Normalized CIDR blocks, comma-separated; NULL or empty: any address.
ALTER TABLE api_keys ADD COLUMN allowed_ips text;
ALTER TABLE api_keys ADD COLUMN exposed_at bigint;
ALTER TABLE api_keys ADD COLUMN exposed_origin text;

-- Counts are added (never overwritten), so every node's flush adds to the same rows.
CREATE TABLE key_usage_hourly (
    key_id       text NOT NULL,
    hour         bigint NOT NULL,  -- hours since the Unix epoch
    accepted     bigint NOT NULL DEFAULT 0,
    duplicate    bigint NOT NULL DEFAULT 0,
    rejected     bigint NOT NULL DEFAULT 0,
    auth_failed  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, hour)
);
CREATE INDEX key_usage_hourly_by_hour ON key_usage_hourly (hour);

-- Field names and problems only: never an event's values.
CREATE TABLE rejections (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          bigint NOT NULL,
    domain      text NOT NULL,
    key_id      text NOT NULL,
    key_prefix  text NOT NULL,
    status      integer NOT NULL,
    code        text NOT NULL,
    details     text,
    request_id  text NOT NULL,
    client_ip   text
);
CREATE INDEX rejections_by_domain ON rejections (domain, id);
CREATE INDEX rejections_by_request_id ON rejections (request_id);
CREATE INDEX rejections_by_at ON rejections (at);
