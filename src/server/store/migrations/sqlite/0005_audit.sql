-- The audit log: one row per change made through the API, and per login attempt. Rows are
-- append-only (the triggers below refuse UPDATE and DELETE) and chained: each row's hash covers
-- its fields and the hash of the row before, so a row edited or deleted behind the server's
-- back (the triggers dropped first) breaks the chain at that row (updatehub-server
-- verify-audit).

CREATE TABLE audit (
  id        INTEGER PRIMARY KEY NOT NULL,
  at        TEXT NOT NULL,
  actor     TEXT NOT NULL,
  user_id   INTEGER NOT NULL,
  token     TEXT NOT NULL,
  address   TEXT NOT NULL,
  action    TEXT NOT NULL,
  target    TEXT NOT NULL,
  status    INTEGER NOT NULL,
  detail    TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
);

CREATE INDEX audit_by_actor ON audit (actor, id);
CREATE INDEX audit_by_action ON audit (action, id);

CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit rows are append-only');
END;

CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit rows are append-only');
END;
