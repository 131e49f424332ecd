-- Mirrors migrations/sqlite/0003_device_tokens_reports.sql (text COLLATE "C", as in 0001).

-- Optional device authentication per product: the sha256 of a shared token ('' = off).
ALTER TABLE products ADD COLUMN device_token_hash TEXT COLLATE "C" NOT NULL DEFAULT '';

-- The reports listing filters by package or status, newest first.
CREATE INDEX reports_by_package ON reports (package_uid, id);
CREATE INDEX reports_by_status ON reports (status, id);
