-- Purpose: billing records (seed 001, issue 19): payment providers and the
-- accounts users and organisations hold with them, subscriptions with their
-- history, the providers' signed events, and the roles that plans grant.
-- Depends on: 00001_users, 00008_rbac, 00009_row_level_security,
-- 00023_permission_builtin, 00032_organizations.
-- Key features:
--   * payment_providers: name unique (stripe and manual seeded, with fixed
--     ids; an operator adds others), the webhook signing secret sealed with
--     the keyring (NULL: none), enabled.
--   * payment_accounts (seed 001): the customer a user or an organisation is
--     at a provider, exactly one owner; user_id and organization_id CASCADE,
--     provider_id CASCADE; unique (user_id, provider_id),
--     (organization_id, provider_id) and (customer_id, provider_id).
--   * subscriptions (seed 001): owned by a user or an organisation, exactly
--     one (CASCADE from either); unique (payment_provider, subscription_id);
--     status is one of Stripe's; event_at is the provider's time of the
--     last event applied (an older event does not roll it back);
--     grace_until ends the grace period of a past_due subscription;
--     entitled says whether it grants its plan's roles now.
--   * subscription_history (seed 001): one row per change, CASCADE with its
--     subscription; it is read through its subscription, whose row-level
--     security keeps a user to theirs.
--   * billing_events: every signed event received, once per (provider,
--     event_id): that unique key decides which of concurrent deliveries
--     applies it. applied is false while it waits for its customer's link
--     (error NULL) or when it changed nothing (error says why).
--   * plan_roles: the roles a plan grants. user_roles.by_plan marks a role
--     held only because a plan grants it: giving the role by hand clears
--     the mark, and a plan takes away only marked roles, so taking a plan
--     away never takes a role given by hand.
--   * row-level security on payment_accounts and subscriptions (user_id;
--     an organisation's rows are the system role's); the webhook, the
--     administration and the organisation's reads run system-scoped.
--   * the permissions billing:read and billing:write, builtin.

-- +goose Up
CREATE TABLE payment_providers (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    webhook_secret BLOB,
    enabled        BOOLEAN NOT NULL DEFAULT 1,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX idx_payment_providers_name ON payment_providers (name);
INSERT INTO payment_providers (id, name, created_at, updated_at) VALUES
    ('00000000-0000-7000-8002-000000000001', 'stripe', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('00000000-0000-7000-8002-000000000002', 'manual', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
CREATE TABLE payment_accounts (
    id              TEXT PRIMARY KEY,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    organization_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    provider_id     TEXT NOT NULL REFERENCES payment_providers (id) ON DELETE CASCADE,
    customer_id     TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    CONSTRAINT chk_payment_accounts_owner CHECK ((user_id IS NULL) <> (organization_id IS NULL))
);
CREATE UNIQUE INDEX idx_payment_accounts_user_provider ON payment_accounts (user_id, provider_id);
CREATE UNIQUE INDEX idx_payment_accounts_organization_provider ON payment_accounts (organization_id, provider_id);
CREATE UNIQUE INDEX idx_payment_accounts_customer_provider ON payment_accounts (customer_id, provider_id);
CREATE INDEX idx_payment_accounts_provider_id ON payment_accounts (provider_id);
CREATE TABLE subscriptions (
    id                   TEXT PRIMARY KEY,
    user_id              TEXT REFERENCES users (id) ON DELETE CASCADE,
    organization_id      TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    payment_provider     TEXT NOT NULL,
    subscription_id      TEXT NOT NULL,
    customer_id          TEXT,
    plan                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    quantity             INTEGER NOT NULL DEFAULT 1,
    current_period_start TIMESTAMP,
    current_period_end   TIMESTAMP,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT 0,
    canceled_at          TIMESTAMP,
    trial_end            TIMESTAMP,
    metadata             TEXT NOT NULL DEFAULT '{}',
    event_at             TIMESTAMP,
    grace_until          TIMESTAMP,
    entitled             BOOLEAN NOT NULL DEFAULT 0,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    CONSTRAINT chk_subscriptions_owner CHECK ((user_id IS NULL) <> (organization_id IS NULL)),
    CONSTRAINT chk_subscriptions_status CHECK (status IN ('trialing', 'active', 'past_due', 'canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused'))
);
CREATE UNIQUE INDEX idx_subscriptions_provider_subscription ON subscriptions (payment_provider, subscription_id);
CREATE INDEX idx_subscriptions_user_id ON subscriptions (user_id, id);
CREATE INDEX idx_subscriptions_organization_id ON subscriptions (organization_id, id);
CREATE INDEX idx_subscriptions_status ON subscriptions (status, id);
CREATE INDEX idx_subscriptions_plan ON subscriptions (plan, id);
CREATE TABLE subscription_history (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    from_plan       TEXT,
    to_plan         TEXT NOT NULL,
    event_id        TEXT,
    at              TIMESTAMP NOT NULL
);
CREATE INDEX idx_subscription_history_subscription_id ON subscription_history (subscription_id, id);
CREATE TABLE billing_events (
    id              TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    type            TEXT NOT NULL,
    customer_id     TEXT,
    payload         TEXT NOT NULL,
    event_at        TIMESTAMP NOT NULL,
    received_at     TIMESTAMP NOT NULL,
    applied         BOOLEAN NOT NULL DEFAULT 0,
    applied_at      TIMESTAMP,
    error           TEXT
);
CREATE UNIQUE INDEX idx_billing_events_provider_event ON billing_events (provider, event_id);
CREATE INDEX idx_billing_events_applied ON billing_events (applied, id);
CREATE INDEX idx_billing_events_customer ON billing_events (provider, customer_id, event_at);
CREATE TABLE plan_roles (
    plan       TEXT NOT NULL,
    role_id    TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (plan, role_id)
);
CREATE INDEX idx_plan_roles_role_id ON plan_roles (role_id);
ALTER TABLE user_roles ADD COLUMN by_plan BOOLEAN NOT NULL DEFAULT 0;

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000012', 'billing:read', 'Read every subscription, payment provider and billing event'),
    ('00000000-0000-7000-8001-000000000013', 'billing:write', 'Grant subscriptions by hand, set the roles of plans, configure payment providers')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key IN ('billing:read', 'billing:write');
ALTER TABLE user_roles DROP COLUMN by_plan;
DROP TABLE plan_roles;
DROP TABLE billing_events;
DROP TABLE subscription_history;
DROP TABLE subscriptions;
DROP TABLE payment_accounts;
DROP TABLE payment_providers;
