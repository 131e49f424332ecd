-- Device search by identity and attribute values at fleet size: each value of a device's
-- identity and attributes (each element of a list) as a row of its own, indexed by
-- (kind, key, value), so that ?identity.serial=X is an index lookup instead of reading the JSON of
-- every device. Kept by triggers in the same transaction as the device's row; kind 0 is the
-- identity, 1 the attributes.
CREATE TABLE device_fields (
  device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  kind      INTEGER NOT NULL,
  key       TEXT NOT NULL,
  value              -- as json_each gives it (no affinity: text stays text)
);
CREATE INDEX device_fields_by_value ON device_fields (kind, key, value, device_id);
CREATE INDEX device_fields_by_device ON device_fields (device_id, kind);

-- What is there now (a list's elements one by one; text that is not a JSON object gives none).
INSERT INTO device_fields (device_id, kind, key, value)
  SELECT d.id, 0, i.key, i.value FROM devices AS d, json_each(CASE WHEN (CASE WHEN json_valid(d.identity) THEN json_type(d.identity) END) IS 'object' THEN d.identity ELSE '{}' END) AS i WHERE i.type <> 'array'
  UNION ALL
  SELECT d.id, 0, i.key, e.value FROM devices AS d, json_each(CASE WHEN (CASE WHEN json_valid(d.identity) THEN json_type(d.identity) END) IS 'object' THEN d.identity ELSE '{}' END) AS i, json_each(i.value) AS e
    WHERE i.type = 'array'
  UNION ALL
  SELECT d.id, 1, i.key, i.value FROM devices AS d, json_each(CASE WHEN (CASE WHEN json_valid(d.attributes) THEN json_type(d.attributes) END) IS 'object' THEN d.attributes ELSE '{}' END) AS i WHERE i.type <> 'array'
  UNION ALL
  SELECT d.id, 1, i.key, e.value FROM devices AS d, json_each(CASE WHEN (CASE WHEN json_valid(d.attributes) THEN json_type(d.attributes) END) IS 'object' THEN d.attributes ELSE '{}' END) AS i, json_each(i.value) AS e
    WHERE i.type = 'array';

-- The same for a device stored or changed: from the new row alone, never a scan of the fleet.
CREATE TRIGGER device_fields_on_insert AFTER INSERT ON devices
BEGIN
  INSERT INTO device_fields (device_id, kind, key, value)
    SELECT new.id, 0, i.key, i.value FROM json_each(CASE WHEN (CASE WHEN json_valid(new.identity) THEN json_type(new.identity) END) IS 'object' THEN new.identity ELSE '{}' END) AS i WHERE i.type <> 'array'
    UNION ALL
    SELECT new.id, 0, i.key, e.value FROM json_each(CASE WHEN (CASE WHEN json_valid(new.identity) THEN json_type(new.identity) END) IS 'object' THEN new.identity ELSE '{}' END) AS i, json_each(i.value) AS e
      WHERE i.type = 'array'
    UNION ALL
    SELECT new.id, 1, i.key, i.value FROM json_each(CASE WHEN (CASE WHEN json_valid(new.attributes) THEN json_type(new.attributes) END) IS 'object' THEN new.attributes ELSE '{}' END) AS i WHERE i.type <> 'array'
    UNION ALL
    SELECT new.id, 1, i.key, e.value FROM json_each(CASE WHEN (CASE WHEN json_valid(new.attributes) THEN json_type(new.attributes) END) IS 'object' THEN new.attributes ELSE '{}' END) AS i, json_each(i.value) AS e
      WHERE i.type = 'array';
END;

CREATE TRIGGER device_fields_on_update AFTER UPDATE OF identity, attributes ON devices
  WHEN old.identity IS NOT new.identity OR old.attributes IS NOT new.attributes
BEGIN
  DELETE FROM device_fields WHERE device_id = new.id;
  INSERT INTO device_fields (device_id, kind, key, value)
    SELECT new.id, 0, i.key, i.value FROM json_each(CASE WHEN (CASE WHEN json_valid(new.identity) THEN json_type(new.identity) END) IS 'object' THEN new.identity ELSE '{}' END) AS i WHERE i.type <> 'array'
    UNION ALL
    SELECT new.id, 0, i.key, e.value FROM json_each(CASE WHEN (CASE WHEN json_valid(new.identity) THEN json_type(new.identity) END) IS 'object' THEN new.identity ELSE '{}' END) AS i, json_each(i.value) AS e
      WHERE i.type = 'array'
    UNION ALL
    SELECT new.id, 1, i.key, i.value FROM json_each(CASE WHEN (CASE WHEN json_valid(new.attributes) THEN json_type(new.attributes) END) IS 'object' THEN new.attributes ELSE '{}' END) AS i WHERE i.type <> 'array'
    UNION ALL
    SELECT new.id, 1, i.key, e.value FROM json_each(CASE WHEN (CASE WHEN json_valid(new.attributes) THEN json_type(new.attributes) END) IS 'object' THEN new.attributes ELSE '{}' END) AS i, json_each(i.value) AS e
      WHERE i.type = 'array';
END;

-- Devices by their state in the rollout that holds them, across products, by device
-- (?rollout_state=failed without a product).
CREATE INDEX rollout_devices_active_state_device
  ON rollout_devices (state, device_id, product_uid) WHERE active = 1;
