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
--   * userd_app (user-scoped transactions record events as they audit) may
--     read an endpoint's id, types and state, never its secrets, and only
--     insert events; everything else is system work.

-- +goose Up
CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    event_types     jsonb NOT NULL DEFAULT '[]',
    secret          bytea NOT NULL,
    previous_secret bytea,
    previous_until  timestamptz,
    enabled         BOOLEAN NOT NULL DEFAULT true,
    disabled_reason TEXT,
    failing_since   timestamptz,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX idx_webhook_endpoints_created_by ON webhook_endpoints (created_by);
CREATE TABLE webhook_events (
    id         uuid PRIMARY KEY,
    type       TEXT NOT NULL,
    data       jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX idx_webhook_events_created_at ON webhook_events (created_at);
ALTER TABLE webhook_deliveries ADD COLUMN endpoint_id uuid;
CREATE INDEX idx_webhook_deliveries_endpoint_id ON webhook_deliveries (endpoint_id, id);
CREATE INDEX idx_webhook_deliveries_message_id ON webhook_deliveries (message_id);

REVOKE ALL ON webhook_endpoints, webhook_events FROM userd_app;
GRANT SELECT (id, event_types, enabled) ON webhook_endpoints TO userd_app;
GRANT INSERT ON webhook_events TO userd_app;

COMMENT ON TABLE webhook_endpoints IS 'Where webhook events go, managed at run time by administrators (webhook package); secrets sealed.';
COMMENT ON COLUMN webhook_endpoints.event_types IS 'A JSON array of the event types the endpoint receives; [] for every type of the catalogue.';
COMMENT ON COLUMN webhook_endpoints.secret IS 'The whsec_ signing secret, sealed with the keyring (AD: the endpoint id); shown once.';
COMMENT ON COLUMN webhook_endpoints.previous_secret IS 'The secret before the last rotation, sealed; it also signs until previous_until.';
COMMENT ON COLUMN webhook_endpoints.previous_until IS 'When the previous secret stops signing: 24 hours after the rotation.';
COMMENT ON COLUMN webhook_endpoints.disabled_reason IS 'Why the endpoint is disabled (by an administrator, or after days of failures); NULL when enabled.';
COMMENT ON COLUMN webhook_endpoints.failing_since IS 'The first failed attempt since the last success; NULL while deliveries succeed.';
COMMENT ON COLUMN webhook_endpoints.created_by IS 'The administrator who made it, told when it is disabled; NULL once deleted.';
COMMENT ON TABLE webhook_events IS 'The outbox of webhook events (outbox package), written in the transaction of the change reported; kept 30 days.';
COMMENT ON COLUMN webhook_events.id IS 'The webhook-id of every delivery of the event, so that receivers drop duplicates.';
COMMENT ON COLUMN webhook_events.data IS 'The event''s data object, as the catalogue documents it for its type; never a secret.';
COMMENT ON COLUMN webhook_deliveries.endpoint_id IS 'The endpoint delivered to; NULL for the one --webhook-url defines (or no endpoint). No foreign key.';

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
