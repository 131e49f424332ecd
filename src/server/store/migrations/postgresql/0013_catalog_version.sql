-- Mirrors migrations/sqlite/0013_catalog_version.sql. What every probe needs besides the device
-- (products, their keys, packages, rollouts) is kept in each server's memory; this one number,
-- read with the device, says when it changed: every statement changing those tables moves it on
-- in its transaction (concurrent changes to them then conflict, and one transaction runs again).
CREATE TABLE catalog_version (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL CHECK (version >= 0)
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);

CREATE FUNCTION catalog_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE catalog_version SET version = version + 1;
  RETURN NULL;
END;
$$;

CREATE TRIGGER catalog_products AFTER INSERT OR UPDATE OR DELETE ON products
  FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump();
CREATE TRIGGER catalog_keys AFTER INSERT OR UPDATE OR DELETE ON signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump();
CREATE TRIGGER catalog_packages AFTER INSERT OR UPDATE OR DELETE ON packages
  FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump();
CREATE TRIGGER catalog_rollouts AFTER INSERT OR UPDATE OR DELETE ON rollouts
  FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump();
