-- Purpose: moderation (seed 001, issue 17): reports, a review queue,
-- moderation_history, and content hidden by a moderator or held by reports.
-- Depends on: 00001_users, 00008_rbac, 00025_engagement, 00027_comments_views.
-- Key features:
--   * reports keep seed 001's rules: reported_by is the reporter's client
--     profile (CASCADE), reviewed_by the reviewing user (SET NULL: the report
--     outlives its reviewer); indexes on content_type, content_id, status,
--     reported_by and (content_type, content_id). One open (pending or
--     reviewed) report per reporter and content: a partial unique index.
--   * moderation_history keeps seed 001's rules: user_id is the moderated
--     user's client profile (CASCADE), performed_by the moderator (SET NULL),
--     report_id the report it resolved (SET NULL).
--   * comments.hidden ('held' by reports, 'removed' by a moderator) hides a
--     comment from everyone but moderators; hidden_items does the same for
--     the application's items (their reads say hidden).
--   * the permissions reports:review and users:moderate, builtin.

-- +goose Up
CREATE TABLE reports (
    id              TEXT PRIMARY KEY,
    reported_by     TEXT NOT NULL REFERENCES client_profiles (id) ON DELETE CASCADE,
    content_type    TEXT NOT NULL,
    content_id      TEXT NOT NULL,
    reason          TEXT NOT NULL,
    details         TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'pending',
    resolution_note TEXT NOT NULL DEFAULT '',
    reviewed_by     TEXT REFERENCES users (id) ON DELETE SET NULL,
    reviewed_at     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CONSTRAINT chk_reports_content_type CHECK (content_type IN ('item', 'comment', 'user')),
    CONSTRAINT chk_reports_reason CHECK (reason IN ('spam', 'abuse', 'harassment', 'illegal', 'misinformation', 'other')),
    CONSTRAINT chk_reports_status CHECK (status IN ('pending', 'reviewed', 'resolved', 'dismissed'))
);
CREATE INDEX idx_reports_content_type ON reports (content_type);
CREATE INDEX idx_reports_content_id ON reports (content_id);
CREATE INDEX idx_reports_status ON reports (status, id);
CREATE INDEX idx_reports_reported_by ON reports (reported_by, id);
CREATE INDEX idx_reports_content ON reports (content_type, content_id);
CREATE INDEX idx_reports_reviewed_by ON reports (reviewed_by);
CREATE UNIQUE INDEX idx_reports_open ON reports (reported_by, content_type, content_id) WHERE status IN ('pending', 'reviewed');
CREATE TABLE moderation_history (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES client_profiles (id) ON DELETE CASCADE,
    action       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    performed_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    report_id    TEXT REFERENCES reports (id) ON DELETE SET NULL,
    content_type TEXT,
    content_id   TEXT,
    until        TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    CONSTRAINT chk_moderation_history_action CHECK (action IN ('warn', 'suspend', 'ban', 'unban', 'remove_content', 'restore_content', 'hold', 'suspension_lifted'))
);
CREATE INDEX idx_moderation_history_user_id ON moderation_history (user_id, id);
CREATE INDEX idx_moderation_history_performed_by ON moderation_history (performed_by);
CREATE INDEX idx_moderation_history_report_id ON moderation_history (report_id);
ALTER TABLE comments ADD COLUMN hidden TEXT CHECK (hidden IN ('held', 'removed'));
ALTER TABLE comments ADD COLUMN hidden_at TIMESTAMP;
CREATE TABLE hidden_items (
    item_slug  TEXT PRIMARY KEY,
    hidden     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT chk_hidden_items_hidden CHECK (hidden IN ('held', 'removed'))
);

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000010', 'reports:review', 'Read and review the reports of content and users'),
    ('00000000-0000-7000-8001-000000000011', 'users:moderate', 'Warn, suspend, ban and unban users; remove and restore their content')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key IN ('reports:review', 'users:moderate');
DROP TABLE hidden_items;
ALTER TABLE comments DROP COLUMN hidden_at;
ALTER TABLE comments DROP COLUMN hidden;
DROP TABLE moderation_history;
DROP TABLE reports;
