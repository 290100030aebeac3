-- Purpose: a log-in through an OpenID Connect provider carries the referral
-- it started with (GET /v1/auth/oauth/{provider}/start?referral=), which
-- the callback records when it makes a new user.
-- Depends on: 00017_accounts (oauth_states).
-- Key features:
--   * oauth_states.referral_slug: the slug as given at the start (checked
--     there), NULL for none; the state row goes at the callback, as before.

-- +goose Up
ALTER TABLE oauth_states ADD COLUMN referral_slug TEXT;

-- +goose Down
ALTER TABLE oauth_states DROP COLUMN referral_slug;
