-- Purpose: webhook endpoints managed at run time and the transactional outbox
-- of webhook events (issue 24, items 1 to 3).
-- Depends on: 00001_users, 00015_jobs, 00023_permission_builtin.
-- Key features:
--   * webhook_endpoints: where events go (https unless on loopback), which
--     types (event_types, a JSON array; [] for all), the signing secret
--     sealed with the keyring (whsec_…, shown once), the previous secret
--     sealed and kept until previous_until (both sign for 24 h after a
--     rotation), enabled and why not (disabled_reason), failing_since (the
--     first failure since the last success), created_by SET NULL.
--   * webhook_events: the outbox, one row per event, written in the
--     transaction of the change it reports; its id is the webhook-id of
--     every delivery of it; kept 30 days.
--   * webhook_deliveries.endpoint_id: the endpoint an attempt went to (NULL
--     for the endpoint --webhook-url defines); no foreign key, the record
--     outlives the endpoint.
--   * the permissions webhooks:read and webhooks:write, builtin.

-- +goose Up
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    event_types     TEXT NOT NULL DEFAULT '[]',
    secret          BLOB NOT NULL,
    previous_secret BLOB,
    previous_until  TIMESTAMP,
    enabled         BOOLEAN NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    failing_since   TIMESTAMP,
    created_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX idx_webhook_endpoints_created_by ON webhook_endpoints (created_by);
CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_webhook_events_created_at ON webhook_events (created_at);
ALTER TABLE webhook_deliveries ADD COLUMN endpoint_id TEXT;
CREATE INDEX idx_webhook_deliveries_endpoint_id ON webhook_deliveries (endpoint_id, id);
CREATE INDEX idx_webhook_deliveries_message_id ON webhook_deliveries (message_id);

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000024', 'webhooks:read', 'Read webhook endpoints (never their secrets) and deliveries'),
    ('00000000-0000-7000-8001-000000000025', 'webhooks:write', 'Create, change, rotate, test and delete webhook endpoints; retry deliveries')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key IN ('webhooks:read', 'webhooks:write');
DROP INDEX idx_webhook_deliveries_message_id;
DROP INDEX idx_webhook_deliveries_endpoint_id;
ALTER TABLE webhook_deliveries DROP COLUMN endpoint_id;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
