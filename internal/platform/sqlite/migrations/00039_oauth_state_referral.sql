-- Purpose: a log-in through an OpenID Connect provider carries the referral
-- it started with (GET /v1/auth/oauth/{provider}/start?referral=), which
-- the callback records when it makes a new user.
-- Depends on: 00017_accounts (oauth_states).

-- +goose Up
ALTER TABLE oauth_states ADD COLUMN referral_slug TEXT;

-- +goose Down
ALTER TABLE oauth_states DROP COLUMN referral_slug;
