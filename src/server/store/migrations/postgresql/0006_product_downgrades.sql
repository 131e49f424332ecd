-- Mirrors migrations/sqlite/0006_product_downgrades.sql (BIGINT for INTEGER; the flag stays a
-- 0/1 integer, as in SQLite).
-- Per product: whether rollouts may take devices to an older version than they run (see
-- uh::CompareVersions). Off by default, as with upstream.
ALTER TABLE products ADD COLUMN forbid_downgrades BIGINT NOT NULL DEFAULT 0
  CHECK (forbid_downgrades IN (0, 1));
