-- Rollouts: mirrors migrations/sqlite/0002_rollouts.sql. The placeholder table of 0001 gets its
-- definition and progress, and each rollout its devices. The selection and the plan (stages,
-- rate_per_hour, failure_threshold, maintenance_window) are JSON text written by the model's
-- SelectionJson and PlanJson, kept as TEXT (not jsonb) so that they read back byte for byte.
-- Columns are added with defaults because rows may already exist; the store writes them all.
-- Differs from SQLite only in types (BIGINT for INTEGER, text COLLATE "C" as in 0001) and in
-- dropping WITHOUT ROWID.

ALTER TABLE rollouts ADD COLUMN product_uid TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN name TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN selection TEXT COLLATE "C" NOT NULL DEFAULT '{}';
ALTER TABLE rollouts ADD COLUMN plan TEXT COLLATE "C" NOT NULL DEFAULT '{}';
-- start_at is '' to start at once.
ALTER TABLE rollouts ADD COLUMN start_at TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN current_stage BIGINT NOT NULL DEFAULT 0
  CHECK (current_stage >= 0);
ALTER TABLE rollouts ADD COLUMN stage_succeeded_at TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN reason TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN started_at TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN finished_at TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX rollouts_by_product ON rollouts (product_uid, id);

-- active is 1 while the rollout is not archived (finished, stopped): UpdateRollout clears it
-- when the rollout is archived, which frees the device for another rollout. product_uid is the
-- rollout's, copied here so that one partial index can say "a device is in at most one active
-- rollout per product"; device_id leads it so that FindRolloutDevice can use it too. active
-- stays a 0/1 integer as in SQLite: the partial indexes below say "WHERE active = 1" on both
-- backends, and a statement must repeat that condition to use them.
CREATE TABLE rollout_devices (
  rollout_id    BIGINT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  device_id     BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  product_uid   TEXT COLLATE "C" NOT NULL,
  stage         BIGINT NOT NULL CHECK (stage >= 0),
  state         TEXT COLLATE "C" NOT NULL,
  error_message TEXT COLLATE "C" NOT NULL,
  started_at    TEXT COLLATE "C" NOT NULL,  -- '' until the package is first offered
  updated_at    TEXT COLLATE "C" NOT NULL,
  active        BIGINT NOT NULL CHECK (active IN (0, 1)),
  PRIMARY KEY (rollout_id, device_id)
);
CREATE UNIQUE INDEX rollout_devices_one_active ON rollout_devices (device_id, product_uid)
  WHERE active = 1;
CREATE INDEX rollout_devices_by_state ON rollout_devices (rollout_id, stage, state);
CREATE INDEX rollout_devices_by_start ON rollout_devices (rollout_id, started_at);
