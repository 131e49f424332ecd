-- Mirrors migrations/sqlite/0012_rollout_revision.sql. Several servers (or requests) changing
-- one rollout: each change is saved only over the revision it was made from
-- (Store::UpdateRolloutIfUnchanged), and moves it on, so that a stage advance never overwrites
-- a pause made meanwhile, nor the reverse.
ALTER TABLE rollouts ADD COLUMN revision BIGINT NOT NULL DEFAULT 0 CHECK (revision >= 0);
