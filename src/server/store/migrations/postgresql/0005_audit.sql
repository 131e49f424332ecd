-- The audit log: mirrors migrations/sqlite/0005_audit.sql. One row per change made through the
-- API, and per login attempt. Rows are append-only (the triggers below refuse UPDATE and
-- DELETE) and chained: each row's hash covers its fields and the hash of the row before, so a
-- row edited or deleted behind the server's back (the triggers dropped first) breaks the chain
-- at that row (updatehub-server verify-audit). id is given by the store (the previous row's
-- id + 1), not generated. Differs from SQLite: the refusal is a PL/pgSQL function, and TRUNCATE,
-- which skips row triggers, is refused as well (SQLite has no TRUNCATE; its DELETE without
-- WHERE runs the delete trigger). audit_by_actor leaves out actors longer than 2000 bytes (see
-- there).

CREATE TABLE audit (
  id        BIGINT PRIMARY KEY NOT NULL,
  at        TEXT COLLATE "C" NOT NULL,
  actor     TEXT COLLATE "C" NOT NULL,
  user_id   BIGINT NOT NULL,
  token     TEXT COLLATE "C" NOT NULL,
  address   TEXT COLLATE "C" NOT NULL,
  action    TEXT COLLATE "C" NOT NULL,
  target    TEXT COLLATE "C" NOT NULL,
  status    BIGINT NOT NULL,
  detail    TEXT COLLATE "C" NOT NULL,
  prev_hash TEXT COLLATE "C" NOT NULL,
  hash      TEXT COLLATE "C" NOT NULL
);

-- A B-tree entry holds at most about 2.7 kB, and the actor of a failed login is whatever name
-- was tried: longer actors stay out of the index rather than make their row fail (and go
-- unrecorded). FindAudit repeats the condition for the actors the index holds.
CREATE INDEX audit_by_actor ON audit (actor, id) WHERE octet_length(actor) <= 2000;
CREATE INDEX audit_by_action ON audit (action, id);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit rows are append-only';
END;
$$;

CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();

CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();

CREATE TRIGGER audit_is_append_only_truncate BEFORE TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
