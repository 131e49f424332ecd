-- What the dashboard's device and rollout pages need beyond 0009: who paused a rollout and
-- when, how often a rollout gave a failed device another attempt, the versions a device ran
-- over time, and a device's rollouts by device.

-- Who paused the rollout ('' when the server did: the failure threshold, a deleted key) and
-- when ('' while it is not paused). Rollouts paused before this migration get both from their
-- reason, which said "paused by NAME at TIME" (TIME is RFC 3339 UTC, 20 characters).
ALTER TABLE rollouts ADD COLUMN paused_by TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN paused_at TEXT NOT NULL DEFAULT '';
UPDATE rollouts
  SET paused_by = substr(reason, 11, length(reason) - 34), paused_at = substr(reason, -20)
  WHERE state = 'paused' AND reason GLOB 'paused by ?* at [0-9][0-9][0-9][0-9]-*Z';

-- POST /api/v1/rollouts/{id}/retry: how many new attempts the device was given.
ALTER TABLE rollout_devices ADD COLUMN retries INTEGER NOT NULL DEFAULT 0 CHECK (retries >= 0);

-- A device's rollouts, newest first (the primary key leads with the rollout).
CREATE INDEX rollout_devices_by_device ON rollout_devices (device_id, rollout_id);

-- The versions a device ran, in the order the server saw them: a row when the device appears
-- and one each time its version changes, written by triggers in the same transaction as the
-- change. since is when the server saw it ('' for the versions devices ran before this
-- migration, whose start is unknown).
CREATE TABLE device_versions (
  id        INTEGER PRIMARY KEY,
  device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  version   TEXT NOT NULL,
  since     TEXT NOT NULL
);
CREATE INDEX device_versions_by_device ON device_versions (device_id, id);

INSERT INTO device_versions (device_id, version, since)
  SELECT id, version, '' FROM devices ORDER BY id;

CREATE TRIGGER device_versions_on_insert AFTER INSERT ON devices
BEGIN
  INSERT INTO device_versions (device_id, version, since)
    VALUES (new.id, new.version, new.created_at);
END;

CREATE TRIGGER device_versions_on_update AFTER UPDATE OF version ON devices
  WHEN old.version <> new.version
BEGIN
  INSERT INTO device_versions (device_id, version, since)
    VALUES (new.id, new.version, new.last_seen);
END;
