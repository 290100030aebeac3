-- Purpose: durable mail (issue 23 item 3): every mail userd sends is
-- written, in the transaction that decides to send it, to mail_deliveries
-- with a job of the queue (00015_jobs) that delivers it once that
-- transaction commits; a process that dies after its answer loses no mail.
-- Depends on: 00001_users, 00008_rbac, 00015_jobs, 00023_permission_builtin.
-- Key features:
--   * mail_deliveries: one row per mail. user_id is the user the mail is
--     for (CASCADE: their mail goes with them), NULL when it is for an
--     address (an invitation, a newsletter's confirmation, a password reset
--     asked for an address that has no account); to_address, kind
--     (verify_email, reset_password, security_notice, org_invitation,
--     newsletter_confirm), subject.
--   * body_sealed: the mail's text, HTML and headers, which carry tokens,
--     sealed with the master keyring (bound to the row's id); NULL once the
--     mail is sent or has finally failed, and for a skipped mail. The body
--     is never stored in clear.
--   * status is queued (waiting for its first or next attempt), sent,
--     failed (the last attempt failed), or skipped (written as any other
--     mail and never sent: a password reset for an unknown address, so that
--     the answer does the same work either way); attempts and last_error
--     are the delivery's; sent_at says when it left.
--   * indexes: the administration's list newest first, by status, by
--     address, by kind; the user's rows (user_id), for the cascade; the
--     clean-up's created_at (finished rows go after 30 days).
--   * the permission mail:read, builtin.

-- +goose Up
CREATE TABLE mail_deliveries (
    id          TEXT PRIMARY KEY,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    to_address  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body_sealed BLOB,
    status      TEXT NOT NULL DEFAULT 'queued',
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  TIMESTAMP NOT NULL,
    sent_at     TIMESTAMP,
    CONSTRAINT chk_mail_deliveries_status CHECK (status IN ('queued', 'sent', 'failed', 'skipped'))
);
CREATE INDEX idx_mail_deliveries_status ON mail_deliveries (status, id);
CREATE INDEX idx_mail_deliveries_to_address ON mail_deliveries (to_address, id);
CREATE INDEX idx_mail_deliveries_kind ON mail_deliveries (kind, id);
CREATE INDEX idx_mail_deliveries_user_id ON mail_deliveries (user_id);
CREATE INDEX idx_mail_deliveries_created_at ON mail_deliveries (created_at);

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000023', 'mail:read', 'Read the mail deliveries: address, kind, subject and outcome of every mail userd sends, never their bodies')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key = 'mail:read';
DROP TABLE mail_deliveries;
