-- Rollout statistics without counting: mirrors migrations/sqlite/0004_rollout_counts.sql. How
-- many of a rollout's devices are in each (stage, state), kept up to date by triggers in the
-- same transaction as every change to rollout_devices. The engine reads them on every report
-- and probe that changes a device's state; counting the devices each time made a rollout cost
-- O(devices^2). Differs from SQLite in form, not in the counts: the triggers run once per
-- statement instead of once per row (below), and WITHOUT ROWID is dropped. Two servers changing
-- the same count at once conflict, and the store runs the losing transaction again
-- (postgres/pool.hpp).

CREATE TABLE rollout_counts (
  rollout_id BIGINT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  stage      BIGINT NOT NULL,
  state      TEXT COLLATE "C" NOT NULL,
  devices    BIGINT NOT NULL CHECK (devices >= 0),
  PRIMARY KEY (rollout_id, stage, state)
);

INSERT INTO rollout_counts (rollout_id, stage, state, devices)
  SELECT rollout_id, stage, state, COUNT(*) FROM rollout_devices
  GROUP BY rollout_id, stage, state;

-- Once per statement, not per row: a row trigger changed the same count once per device, and in
-- PostgreSQL each change leaves a row version the next change of that row in the same transaction
-- has to walk past, so adding 20,000 devices to a rollout in one statement took 10 s instead of
-- 0.7 s. The statement's rows (its transition tables) are counted per (rollout_id, stage, state)
-- first, so each count changes once. Transition tables rule out a column list (UPDATE OF) and a
-- WHEN, so every UPDATE of rollout_devices runs the update trigger: its old rows leave their counts
-- and its new rows join theirs, netted per count (EXCEPT ALL), which leaves the counts alone for a
-- row whose rollout_id, stage and state stay, and moves a row whose rollout_id changes too (a join
-- of old and new rows by primary key would miss it). The net change never takes a consistent count
-- below zero, so the CHECK fails when SQLite's does.
CREATE FUNCTION rollout_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO rollout_counts AS c (rollout_id, stage, state, devices)
      SELECT rollout_id, stage, state, COUNT(*) FROM new_rows
      GROUP BY rollout_id, stage, state ORDER BY rollout_id, stage, state
      ON CONFLICT (rollout_id, stage, state) DO UPDATE SET devices = c.devices + EXCLUDED.devices;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE rollout_counts AS c SET devices = c.devices - gone.devices
      FROM (SELECT rollout_id, stage, state, COUNT(*) AS devices FROM old_rows
            GROUP BY rollout_id, stage, state) AS gone
      WHERE c.rollout_id = gone.rollout_id AND c.stage = gone.stage AND c.state = gone.state;
  ELSE
    UPDATE rollout_counts AS c SET devices = c.devices - gone.devices
      FROM (SELECT rollout_id, stage, state, COUNT(*) AS devices
            FROM (SELECT rollout_id, stage, state FROM old_rows
                  EXCEPT ALL SELECT rollout_id, stage, state FROM new_rows) AS left_rows
            GROUP BY rollout_id, stage, state) AS gone
      WHERE c.rollout_id = gone.rollout_id AND c.stage = gone.stage AND c.state = gone.state;
    INSERT INTO rollout_counts AS c (rollout_id, stage, state, devices)
      SELECT rollout_id, stage, state, COUNT(*)
      FROM (SELECT rollout_id, stage, state FROM new_rows
            EXCEPT ALL SELECT rollout_id, stage, state FROM old_rows) AS joined_rows
      GROUP BY rollout_id, stage, state ORDER BY rollout_id, stage, state
      ON CONFLICT (rollout_id, stage, state) DO UPDATE SET devices = c.devices + EXCLUDED.devices;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER rollout_counts_on_insert AFTER INSERT ON rollout_devices
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rollout_counts_follow();

CREATE TRIGGER rollout_counts_on_delete AFTER DELETE ON rollout_devices
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rollout_counts_follow();

CREATE TRIGGER rollout_counts_on_update AFTER UPDATE ON rollout_devices
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rollout_counts_follow();
