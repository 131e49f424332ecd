-- Mirrors migrations/sqlite/0007_roles_token_scopes.sql (text COLLATE "C", as in 0001).
-- Roles: 'admin' (users, products, keys, device authentication), 'release-manager' (packages
-- and rollouts) and 'viewer' (read only). Users created before roles existed keep what they
-- could do: admins stay admins, the others become release managers. The old admin column is
-- kept equal to (role = 'admin') for readers of older versions.
ALTER TABLE users ADD COLUMN role TEXT COLLATE "C" NOT NULL DEFAULT 'viewer'
  CHECK (role IN ('admin', 'release-manager', 'viewer'));
UPDATE users SET role = CASE WHEN admin = 1 THEN 'admin' ELSE 'release-manager' END;
-- The products a user may act on: space-separated product uids, '' for every product.
ALTER TABLE users ADD COLUMN products TEXT COLLATE "C" NOT NULL DEFAULT '';
-- A token's scopes (space-separated, within its user's role; '' = everything the role allows)
-- and when it was last used ('' = never; written at most once a minute per token).
ALTER TABLE tokens ADD COLUMN scopes TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN last_used_at TEXT COLLATE "C" NOT NULL DEFAULT '';
