-- Rollouts: the placeholder table of 0001 gets its definition and progress, and each rollout
-- its devices. The selection and the plan (stages, rate_per_hour, failure_threshold,
-- maintenance_window) are JSON text written by the model's SelectionJson and PlanJson.
-- Columns are added with defaults because rows may already exist; the store writes them all.

ALTER TABLE rollouts ADD COLUMN product_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN selection TEXT NOT NULL DEFAULT '{}';
ALTER TABLE rollouts ADD COLUMN plan TEXT NOT NULL DEFAULT '{}';
ALTER TABLE rollouts ADD COLUMN start_at TEXT NOT NULL DEFAULT '';  -- '' to start at once
ALTER TABLE rollouts ADD COLUMN current_stage INTEGER NOT NULL DEFAULT 0
  CHECK (current_stage >= 0);
ALTER TABLE rollouts ADD COLUMN stage_succeeded_at TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN started_at TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN finished_at TEXT NOT NULL DEFAULT '';
CREATE INDEX rollouts_by_product ON rollouts (product_uid, id);

-- active is 1 while the rollout is not archived (finished, stopped): UpdateRollout clears it
-- when the rollout is archived, which frees the device for another rollout. product_uid is the
-- rollout's, copied here so that one partial index can say "a device is in at most one active
-- rollout per product"; device_id leads it so that FindRolloutDevice can use it too.
CREATE TABLE rollout_devices (
  rollout_id    INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  device_id     INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  product_uid   TEXT NOT NULL,
  stage         INTEGER NOT NULL CHECK (stage >= 0),
  state         TEXT NOT NULL,
  error_message TEXT NOT NULL,
  started_at    TEXT NOT NULL,  -- '' until the package is first offered
  updated_at    TEXT NOT NULL,
  active        INTEGER NOT NULL CHECK (active IN (0, 1)),
  PRIMARY KEY (rollout_id, device_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX rollout_devices_one_active ON rollout_devices (device_id, product_uid)
  WHERE active = 1;
CREATE INDEX rollout_devices_by_state ON rollout_devices (rollout_id, stage, state);
CREATE INDEX rollout_devices_by_start ON rollout_devices (rollout_id, started_at);
