-- Initial schema. Applied inside one transaction; never edit a released migration, add the
-- next numbered file instead. Times are RFC 3339 UTC text, which sorts chronologically.

CREATE TABLE products (
  uid        TEXT PRIMARY KEY NOT NULL,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE signing_keys (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  product_uid TEXT NOT NULL REFERENCES products (uid),
  name        TEXT NOT NULL,
  public_pem  TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  UNIQUE (product_uid, fingerprint)
);

-- key_id is not a foreign key: a key may be retired after it signed packages that stay valid.
CREATE TABLE packages (
  uid                TEXT PRIMARY KEY NOT NULL,
  product_uid        TEXT NOT NULL REFERENCES products (uid),
  version            TEXT NOT NULL,
  metadata           BLOB NOT NULL,
  signature          TEXT NOT NULL,
  supported_hardware TEXT NOT NULL,
  size               INTEGER NOT NULL CHECK (size >= 0),
  key_id             INTEGER NOT NULL,
  created_at         TEXT NOT NULL
);
CREATE INDEX packages_by_product ON packages (product_uid, created_at);

CREATE TABLE package_objects (
  package_uid TEXT NOT NULL REFERENCES packages (uid) ON DELETE CASCADE,
  sha256      TEXT NOT NULL,
  size        INTEGER NOT NULL CHECK (size >= 0),
  PRIMARY KEY (package_uid, sha256)
) WITHOUT ROWID;
CREATE INDEX package_objects_by_sha256 ON package_objects (sha256);

CREATE TABLE devices (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  product_uid TEXT NOT NULL REFERENCES products (uid),
  identity    TEXT NOT NULL,
  attributes  TEXT NOT NULL,
  hardware    TEXT NOT NULL,
  version     TEXT NOT NULL,
  last_seen   TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  UNIQUE (product_uid, identity)
);
-- Keyset paging lists by id within each filter.
CREATE INDEX devices_by_product ON devices (product_uid, id);
CREATE INDEX devices_by_hardware ON devices (hardware, id);
CREATE INDEX devices_by_version ON devices (version, id);

-- package_uid is not a foreign key: the history outlives a deleted package.
CREATE TABLE reports (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id      INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  package_uid    TEXT NOT NULL,
  status         TEXT NOT NULL,
  previous_state TEXT NOT NULL,
  error_message  TEXT NOT NULL,
  current_log    TEXT NOT NULL,
  created_at     TEXT NOT NULL
);
CREATE INDEX reports_by_device ON reports (device_id, id);

CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  admin         INTEGER NOT NULL CHECK (admin IN (0, 1)),
  created_at    TEXT NOT NULL
);

CREATE TABLE tokens (
  token_hash TEXT PRIMARY KEY NOT NULL,
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind       TEXT NOT NULL,
  name       TEXT NOT NULL,
  expires_at TEXT NOT NULL,  -- '' when the token does not expire
  created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_by_user ON tokens (user_id);

-- Only what DeletePackage needs to know; the rollout engine's migration extends this table
-- and adds the per-device state. package_uid is not a foreign key so that archived rollouts
-- keep their history after the package is gone.
CREATE TABLE rollouts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  package_uid TEXT NOT NULL,
  state       TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE INDEX rollouts_by_package ON rollouts (package_uid, state);
