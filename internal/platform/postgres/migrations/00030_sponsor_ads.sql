-- Purpose: sponsor ads (seed 001, issue 17 item 5): what a user submits to
-- be shown beside an item within a window of time, once an administrator
-- approved it.
-- Depends on: 00001_users, 00008_rbac, 00009_row_level_security,
-- 00023_permission_builtin.
-- Key features:
--   * sponsor_ads (seed 001): user_id is the sponsor (CASCADE: their ads go
--     with them); item_slug names the item (kept in Git, plain text, no
--     foreign key); reviewed_by is the administrator who decided last
--     (SET NULL: deleting them leaves the ad and its decision, reviewed by
--     no one; NULL too for a decision made with an API key).
--   * status is pending, approved or rejected; an ad is shown from starts_at
--     (included) until ends_at (excluded), which comes after starts_at.
--   * indexes: a sponsor's ads newest first (user_id, id); the review queue
--     by status newest first (status, id); the ads shown now, for one item
--     or all (status, ends_at, item_slug, starts_at: the approved ads not yet
--     ended are few); reviewed_by, for the SET NULL of a deleted reviewer.
--   * row-level security on user_id; reviews and the public list of the
--     ads shown now cross users, in system-scoped transactions.
--   * the permission sponsor_ads:review, builtin; one that an application
--     had defined under that name becomes userd's.

-- +goose Up
CREATE TABLE sponsor_ads (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_slug   TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    image_url   TEXT,
    target_url  TEXT NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    review_note TEXT,
    reviewed_by uuid REFERENCES users (id) ON DELETE SET NULL,
    reviewed_at timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT chk_sponsor_ads_status CHECK (status IN ('pending', 'approved', 'rejected')),
    CONSTRAINT chk_sponsor_ads_window CHECK (ends_at > starts_at)
);
CREATE INDEX idx_sponsor_ads_user_id ON sponsor_ads (user_id, id);
CREATE INDEX idx_sponsor_ads_status ON sponsor_ads (status, id);
CREATE INDEX idx_sponsor_ads_active ON sponsor_ads (status, ends_at, item_slug, starts_at);
CREATE INDEX idx_sponsor_ads_reviewed_by ON sponsor_ads (reviewed_by);
-- +userd owned-by sponsor_ads.user_id

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-00000000000f', 'sponsor_ads:review', 'Approve and reject the sponsor ads that users submit')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key = 'sponsor_ads:review';
DROP TABLE sponsor_ads;
