-- Per product: whether rollouts may take devices to an older version than they run (see
-- uh::CompareVersions). Off by default, as with upstream.
ALTER TABLE products ADD COLUMN forbid_downgrades INTEGER NOT NULL DEFAULT 0
  CHECK (forbid_downgrades IN (0, 1));
