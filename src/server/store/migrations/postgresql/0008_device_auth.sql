-- Mirrors migrations/sqlite/0008_device_auth.sql (text COLLATE "C", as in 0001).
-- How a product's devices prove who they are (docs/device-authentication.md). Products that
-- already had a shared device token keep asking for it; the others stay open, as upstream.
ALTER TABLE products ADD COLUMN device_auth TEXT COLLATE "C" NOT NULL DEFAULT 'none'
  CHECK (device_auth IN ('none', 'product-token', 'device-token', 'mtls'));
UPDATE products SET device_auth = 'product-token' WHERE device_token_hash <> '';
-- Whether a device the server has never seen may enrol itself on its first probe.
ALTER TABLE products ADD COLUMN enrolment TEXT COLLATE "C" NOT NULL DEFAULT 'off'
  CHECK (enrolment IN ('off', 'manual', 'auto'));
-- PEM of the CA that issues the product's device certificates ('' = none).
ALTER TABLE products ADD COLUMN client_ca TEXT COLLATE "C" NOT NULL DEFAULT '';

-- Devices known before this migration were accepted implicitly.
ALTER TABLE devices ADD COLUMN auth_state TEXT COLLATE "C" NOT NULL DEFAULT 'accepted'
  CHECK (auth_state IN ('accepted', 'pending', 'rejected'));
-- sha256 hex of the device's own secret ('' = none); the secret itself is never stored.
ALTER TABLE devices ADD COLUMN token_hash TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX devices_by_token ON devices (product_uid, token_hash) WHERE token_hash <> '';
