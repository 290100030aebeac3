-- Purpose: billing's place in the SQLite migration list for the hardening
-- of issue 19's security review.
-- Depends on: 00033_billing.
-- Key features:
--   * SQLite has no roles: PostgreSQL's migration of the same number takes
--     from userd_app every privilege on payment_providers, billing_events,
--     plan_roles and subscription_history, and the writes of subscriptions
--     and payment_accounts. This migration changes nothing, so that both
--     engines keep the same list.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
