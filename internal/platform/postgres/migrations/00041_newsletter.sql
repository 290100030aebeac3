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
--   * only system-scoped transactions touch the table: userd_app has no
--     privilege on it.
--   * the permissions newsletter:read and newsletter:write, builtin.

-- +goose Up
CREATE TABLE newsletter_subscriptions (
    id                       uuid PRIMARY KEY,
    email                    TEXT NOT NULL,
    status                   TEXT NOT NULL DEFAULT 'pending',
    confirm_token_hash       bytea,
    confirm_expires_at       timestamptz,
    unsubscribe_token_hash   bytea NOT NULL,
    unsubscribe_token_sealed bytea NOT NULL,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    confirmed_at             timestamptz,
    unsubscribed_at          timestamptz,
    CONSTRAINT chk_newsletter_subscriptions_status CHECK (status IN ('pending', 'confirmed', 'unsubscribed'))
);
CREATE UNIQUE INDEX idx_newsletter_subscriptions_email ON newsletter_subscriptions (email);
CREATE UNIQUE INDEX idx_newsletter_subscriptions_confirm_token_hash ON newsletter_subscriptions (confirm_token_hash);
CREATE UNIQUE INDEX idx_newsletter_subscriptions_unsubscribe_token_hash ON newsletter_subscriptions (unsubscribe_token_hash);
CREATE INDEX idx_newsletter_subscriptions_status ON newsletter_subscriptions (status, id);
REVOKE ALL ON newsletter_subscriptions FROM userd_app;
COMMENT ON TABLE newsletter_subscriptions IS 'The addresses that asked for the newsletter (seed 001, newsletter package): double opt-in, one-click unsubscription (RFC 8058). No user_id: a subscriber needs no account; deleting a user deletes the subscription of their verified email.';
COMMENT ON COLUMN newsletter_subscriptions.email IS 'Stored as userd stores users'' emails (lower-cased, NFKC, IDNA ASCII domain); unique.';
COMMENT ON COLUMN newsletter_subscriptions.status IS 'pending until the mailed confirmation is used, then confirmed; unsubscribed after an unsubscription (subscribing again makes it pending).';
COMMENT ON COLUMN newsletter_subscriptions.confirm_token_hash IS 'SHA-256 of the single-use confirmation token of the double opt-in mail; NULL once used or unsubscribed. The token itself is never stored.';
COMMENT ON COLUMN newsletter_subscriptions.confirm_expires_at IS 'When the confirmation token stops working.';
COMMENT ON COLUMN newsletter_subscriptions.unsubscribe_token_hash IS 'SHA-256 of the subscription''s long-lived unsubscribe token (the token of its List-Unsubscribe URL), for its look-up.';
COMMENT ON COLUMN newsletter_subscriptions.unsubscribe_token_sealed IS 'The unsubscribe token sealed with the master keyring (envelope encryption bound to newsletter_subscriptions.unsubscribe_token and the id), so that the administration can give each subscriber''s unsubscribe URL; re-sealed when the master key rotates.';
COMMENT ON COLUMN newsletter_subscriptions.confirmed_at IS 'When the subscription was last confirmed; NULL if never.';
COMMENT ON COLUMN newsletter_subscriptions.unsubscribed_at IS 'When the subscription was last unsubscribed; NULL if never.';

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000015', 'newsletter:read', 'List and export the newsletter''s subscribers, with their unsubscribe URLs'),
    ('00000000-0000-7000-8001-000000000016', 'newsletter:write', 'Delete (erase) a newsletter subscriber')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key IN ('newsletter:read', 'newsletter:write');
DROP TABLE newsletter_subscriptions;
