-- Purpose: signing_keys, the Ed25519 keys that sign access tokens (JWTs).
-- Depends on: nothing.
-- Key features:
--   * kid is the JWT header's key id; public_key is published at
--     /.well-known/jwks.json while tokens it signed can still be alive.
--   * private_key is sealed (envelope encryption under the master key), bound
--     to its kid; it is never stored in clear.
--   * the newest key signs; rotation adds a key and keeps the older ones
--     for verification, so tokens already issued keep working.

-- +goose Up
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    algorithm   text NOT NULL,
    public_key  bytea NOT NULL,
    private_key bytea NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX idx_signing_keys_created_at ON signing_keys (created_at);

-- +goose Down
DROP TABLE signing_keys;
