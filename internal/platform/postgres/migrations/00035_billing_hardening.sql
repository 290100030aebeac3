-- Purpose: billing's tables closed to one user's transactions (issue 19's
-- security review): userd_app, the role of every request's transaction,
-- could read and write the tables that row-level security does not cover
-- and change its own subscriptions and payment accounts.
-- Depends on: 00009_row_level_security, 00033_billing.
-- Key features:
--   * payment_providers (the sealed webhook secrets), billing_events (every
--     customer's events), plan_roles and subscription_history: no privilege
--     for userd_app; only system-scoped transactions read and write them
--     (billing reads a user's history and accounts system-scoped, filtered
--     on their user_id).
--   * subscriptions and payment_accounts: userd_app keeps SELECT, under
--     their row-level security, and loses INSERT, UPDATE and DELETE: only
--     the provider's signed events and the administrators change them.

-- +goose Up
REVOKE ALL ON payment_providers, billing_events, plan_roles, subscription_history FROM userd_app;
REVOKE INSERT, UPDATE, DELETE ON subscriptions, payment_accounts FROM userd_app;

-- +goose Down
GRANT INSERT, UPDATE, DELETE ON subscriptions, payment_accounts TO userd_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON payment_providers, billing_events, plan_roles, subscription_history TO userd_app;
