-- Mirrors migrations/sqlite/0009_device_search.sql, unchanged.
-- The operator dashboard's reads (GET /api/v1/devices filters and totals, /api/v1/overview,
-- a rollout's devices by state), each answered by an index instead of a scan of the fleet.

-- Last-seen filters and buckets within a product; counts by version and hardware per product
-- (GROUP BY reads these indexes only).
CREATE INDEX devices_by_product_seen ON devices (product_uid, last_seen);
CREATE INDEX devices_by_product_version ON devices (product_uid, version);
CREATE INDEX devices_by_product_hardware ON devices (product_uid, hardware);
CREATE INDEX devices_by_seen ON devices (last_seen);

-- Devices by their state in the rollout that holds them, per product.
CREATE INDEX rollout_devices_active_by_state ON rollout_devices (product_uid, state)
  WHERE active = 1;
-- A rollout's devices in one state (?state=failed), paged by device id.
CREATE INDEX rollout_devices_by_state_device ON rollout_devices (rollout_id, state, device_id);
