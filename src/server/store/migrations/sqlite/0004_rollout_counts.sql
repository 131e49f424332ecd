-- Rollout statistics without counting: how many of a rollout's devices are in each (stage,
-- state), kept up to date by triggers in the same transaction as every change to
-- rollout_devices. The engine reads them on every report and probe that changes a device's
-- state; counting the devices each time made a rollout cost O(devices^2).

CREATE TABLE rollout_counts (
  rollout_id INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  stage      INTEGER NOT NULL,
  state      TEXT NOT NULL,
  devices    INTEGER NOT NULL CHECK (devices >= 0),
  PRIMARY KEY (rollout_id, stage, state)
) WITHOUT ROWID;

INSERT INTO rollout_counts (rollout_id, stage, state, devices)
  SELECT rollout_id, stage, state, COUNT(*) FROM rollout_devices
  GROUP BY rollout_id, stage, state;

CREATE TRIGGER rollout_counts_on_insert AFTER INSERT ON rollout_devices
BEGIN
  INSERT INTO rollout_counts (rollout_id, stage, state, devices)
    VALUES (new.rollout_id, new.stage, new.state, 1)
    ON CONFLICT (rollout_id, stage, state) DO UPDATE SET devices = devices + 1;
END;

CREATE TRIGGER rollout_counts_on_delete AFTER DELETE ON rollout_devices
BEGIN
  UPDATE rollout_counts SET devices = devices - 1
    WHERE rollout_id = old.rollout_id AND stage = old.stage AND state = old.state;
END;

CREATE TRIGGER rollout_counts_on_update AFTER UPDATE OF rollout_id, stage, state ON rollout_devices
  WHEN old.rollout_id <> new.rollout_id OR old.stage <> new.stage OR old.state <> new.state
BEGIN
  UPDATE rollout_counts SET devices = devices - 1
    WHERE rollout_id = old.rollout_id AND stage = old.stage AND state = old.state;
  INSERT INTO rollout_counts (rollout_id, stage, state, devices)
    VALUES (new.rollout_id, new.stage, new.state, 1)
    ON CONFLICT (rollout_id, stage, state) DO UPDATE SET devices = devices + 1;
END;
