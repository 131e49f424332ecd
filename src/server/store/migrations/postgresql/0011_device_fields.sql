-- Device search by identity and attribute values at fleet size: mirrors
-- migrations/sqlite/0011_device_fields.sql. Each value of a device's identity and attributes
-- (each element of a list) as a row of its own, indexed by (kind, key, value), so that
-- ?identity.serial=X is an index lookup instead of reading the JSON of every device. Kept by
-- triggers in the same transaction as the device's row; kind 0 is the identity, 1 the
-- attributes.
--
-- Differs from SQLite:
-- - value is TEXT and holds string values only. SQLite's column has no affinity, so its number,
--   boolean and null rows never equal the bound text of a filter ("values compare as JSON
--   strings"); here such values get no row at all, which gives the same searches. A nested
--   object or list is a row of its JSON text in SQLite, which a filter giving that exact text
--   would match; here it has none, as the rollout rule (Selects) never matches it either.
-- - The JSON is read as jsonb (by device_field_values below): a key given twice counts once,
--   with its last value, as the server's JSON library reads it; text that jsonb refuses (not
--   JSON, not an object, a "\u0000" escape, too deep) gives no rows, never a failed insert.
-- - A key and value longer than 2000 bytes together get no row: a B-tree entry holds at most
--   about 2.7 kB, and a device's probe must not fail because of one long attribute. Such a
--   value cannot be searched for on PostgreSQL.

CREATE TABLE device_fields (
  device_id BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  kind      BIGINT NOT NULL,
  key       TEXT COLLATE "C" NOT NULL,
  value     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX device_fields_by_value ON device_fields (kind, key, value, device_id);
CREATE INDEX device_fields_by_device ON device_fields (device_id, kind);

-- The JSON object in `doc`, or an empty one when `doc` is not a JSON object jsonb accepts. The
-- exception block makes each call a subtransaction; it writes nothing, so it takes no
-- transaction id of its own and stays cheap.
CREATE FUNCTION device_json_object(doc text) RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  parsed jsonb;
BEGIN
  parsed := doc::jsonb;
  IF jsonb_typeof(parsed) = 'object' THEN
    RETURN parsed;
  END IF;
  RETURN '{}'::jsonb;
EXCEPTION
  -- Malformed JSON and unsupported escapes are data exceptions; nesting too deep for the
  -- parser's stack exceeds a program limit.
  WHEN data_exception OR program_limit_exceeded THEN
    RETURN '{}'::jsonb;
END;
$$;

-- The (key, value) rows of a device's identity or attributes: a string value, or each string
-- in a list value (a single value is read as a list of one).
CREATE FUNCTION device_field_values(doc text) RETURNS TABLE (key text, value text)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT field.key, element.value #>> '{}'
    FROM jsonb_each(device_json_object(doc)) AS field
    CROSS JOIN LATERAL jsonb_array_elements(
      CASE jsonb_typeof(field.value) WHEN 'array' THEN field.value
                                     ELSE jsonb_build_array(field.value) END) AS element
    WHERE jsonb_typeof(element.value) = 'string'
      AND octet_length(field.key) + octet_length(element.value #>> '{}') <= 2000
$$;

-- What is there now.
INSERT INTO device_fields (device_id, kind, key, value)
  SELECT d.id, 0, f.key, f.value FROM devices AS d, device_field_values(d.identity) AS f
  UNION ALL
  SELECT d.id, 1, f.key, f.value FROM devices AS d, device_field_values(d.attributes) AS f;

-- The same for a device stored or changed: from the new row alone, never a scan of the fleet.
CREATE FUNCTION device_fields_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    DELETE FROM device_fields WHERE device_id = NEW.id;
  END IF;
  INSERT INTO device_fields (device_id, kind, key, value)
    SELECT NEW.id, 0, f.key, f.value FROM device_field_values(NEW.identity) AS f
    UNION ALL
    SELECT NEW.id, 1, f.key, f.value FROM device_field_values(NEW.attributes) AS f;
  RETURN NULL;
END;
$$;

CREATE TRIGGER device_fields_on_insert AFTER INSERT ON devices
  FOR EACH ROW EXECUTE FUNCTION device_fields_follow();

CREATE TRIGGER device_fields_on_update AFTER UPDATE OF identity, attributes ON devices
  FOR EACH ROW
  WHEN (OLD.identity IS DISTINCT FROM NEW.identity
        OR OLD.attributes IS DISTINCT FROM NEW.attributes)
  EXECUTE FUNCTION device_fields_follow();

-- Devices by their state in the rollout that holds them, across products, by device
-- (?rollout_state=failed without a product).
CREATE INDEX rollout_devices_active_state_device
  ON rollout_devices (state, device_id, product_uid) WHERE active = 1;
