-- Work that one server of several sharing the database does at a time (the rollouts' timed
-- work: scheduled starts, soak times): a lease held by one server until expires_ms (ms since
-- the epoch, by the database's clock), renewed while that server lives, taken by another once
-- it has expired (Store::HoldLease).
CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
