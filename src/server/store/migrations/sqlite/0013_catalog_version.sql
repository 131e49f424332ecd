-- What every probe needs besides the device: products, their keys, packages and rollouts. Servers
-- keep them in memory (server/catalog.hpp) and read this one number with the device instead:
-- every change to those tables moves it on in the same transaction, so that a server sees a
-- change another server made at its next probe.
CREATE TABLE catalog_version (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL CHECK (version >= 0)
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);

CREATE TRIGGER catalog_products_insert AFTER INSERT ON products
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER catalog_products_update AFTER UPDATE ON products
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER catalog_products_delete AFTER DELETE ON products
BEGIN UPDATE catalog_version SET version = version + 1; END;

CREATE TRIGGER catalog_keys_insert AFTER INSERT ON signing_keys
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER catalog_keys_update AFTER UPDATE ON signing_keys
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER catalog_keys_delete AFTER DELETE ON signing_keys
BEGIN UPDATE catalog_version SET version = version + 1; END;

CREATE TRIGGER catalog_packages_insert AFTER INSERT ON packages
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER catalog_packages_update AFTER UPDATE ON packages
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER catalog_packages_delete AFTER DELETE ON packages
BEGIN UPDATE catalog_version SET version = version + 1; END;

CREATE TRIGGER catalog_rollouts_insert AFTER INSERT ON rollouts
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER catalog_rollouts_update AFTER UPDATE ON rollouts
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER catalog_rollouts_delete AFTER DELETE ON rollouts
BEGIN UPDATE catalog_version SET version = version + 1; END;
