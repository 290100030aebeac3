-- Purpose: newsletter subscriptions (seed 001, issue 21 item 5): the
-- addresses that asked for the newsletter, with their double opt-in and
-- their one-click unsubscription (RFC 8058).
-- Depends on: 00008_rbac, 00023_permission_builtin.
-- Key features:
--   * newsletter_subscriptions (seed 001): no foreign key, no user_id (a
--     subscriber needs no account); email is stored as userd stores users'
--     emails (lower-cased, NFKC, IDNA ASCII domain) and unique, so that
--     concurrent subscriptions of one address in any letter case make one
--     row.
--   * status is pending (waiting for its confirmation), confirmed or
--     unsubscribed; confirmed_at and unsubscribed_at say when it last became
--     so.
--   * confirm_token_hash is the SHA-256 of the single-use token mailed for
--     the double opt-in, valid until confirm_expires_at; NULL once used, or
--     once the subscription is unsubscribed. unsubscribe_token_hash is the
--     SHA-256 of the subscription's long-lived unsubscribe token, and
--     unsubscribe_token_sealed that token sealed with the master keyring
--     (bound to the row's id), so that the administration's list and CSV
--     can give each subscriber's unsubscribe URL. Tokens never sit in clear.
--   * indexes: the email (unique); each token's hash (unique, for its
--     look-up); the administration's list by status newest first (status,
--     id).
--   * only system-scoped transactions touch the table.
--   * the permissions newsletter:read and newsletter:write, builtin.

-- +goose Up
CREATE TABLE newsletter_subscriptions (
    id                       TEXT PRIMARY KEY,
    email                    TEXT NOT NULL,
    status                   TEXT NOT NULL DEFAULT 'pending',
    confirm_token_hash       BLOB,
    confirm_expires_at       TIMESTAMP,
    unsubscribe_token_hash   BLOB NOT NULL,
    unsubscribe_token_sealed BLOB NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL,
    confirmed_at             TIMESTAMP,
    unsubscribed_at          TIMESTAMP,
    CONSTRAINT chk_newsletter_subscriptions_status CHECK (status IN ('pending', 'confirmed', 'unsubscribed'))
);
CREATE UNIQUE INDEX idx_newsletter_subscriptions_email ON newsletter_subscriptions (email);
CREATE UNIQUE INDEX idx_newsletter_subscriptions_confirm_token_hash ON newsletter_subscriptions (confirm_token_hash);
CREATE UNIQUE INDEX idx_newsletter_subscriptions_unsubscribe_token_hash ON newsletter_subscriptions (unsubscribe_token_hash);
CREATE INDEX idx_newsletter_subscriptions_status ON newsletter_subscriptions (status, id);

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000015', 'newsletter:read', 'List and export the newsletter''s subscribers, with their unsubscribe URLs'),
    ('00000000-0000-7000-8001-000000000016', 'newsletter:write', 'Delete (erase) a newsletter subscriber')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key IN ('newsletter:read', 'newsletter:write');
DROP TABLE newsletter_subscriptions;
