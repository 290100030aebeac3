-- Purpose: bind each log-in in flight to the browser that started it, so
-- that a victim who opens an attacker's callback link is not signed in as
-- the attacker (log-in CSRF).
-- Depends on: 00017_accounts.
-- Key features:
--   * oauth_states.browser_hash: the SHA-256 of a random value that the
--     start of a log-in sets as an HttpOnly, SameSite=Lax cookie; the
--     callback uses the state only with a cookie whose hash matches.
--   * nullable: states made before this migration match no cookie and
--     expire within ten minutes.

-- +goose Up
ALTER TABLE oauth_states ADD COLUMN browser_hash bytea;

-- +goose Down
ALTER TABLE oauth_states DROP COLUMN browser_hash;
