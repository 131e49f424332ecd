-- Mirrors migrations/sqlite/0014_leases.sql: work one server of several does at a time, under a
-- lease that expires (ms since the epoch, by the database's clock) unless its holder renews it.
CREATE TABLE leases (
  name       TEXT COLLATE "C" PRIMARY KEY,
  holder     TEXT COLLATE "C" NOT NULL,
  expires_ms BIGINT NOT NULL
);
