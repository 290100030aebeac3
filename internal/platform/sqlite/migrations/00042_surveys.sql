-- Purpose: surveys and their responses (seed 001's surveys, issue 21 item
-- 5): an administrator's list of questions under a slug, and the answers
-- of signed-in users (one each) or of anonymous respondents (one per hashed
-- anonymous id) while the survey is open.
-- Depends on: 00001_users, 00008_rbac, 00023_permission_builtin.
-- Key features:
--   * surveys (seed 001): no foreign keys; slug unique (idx_surveys_slug);
--     questions is a JSON array of {id, type, label, required, options?,
--     min?, max?, max_length?} that the survey package validates; status is
--     draft, open or closed; allow_anonymous lets respondents answer
--     without signing in.
--   * survey_responses: survey_id (CASCADE: a survey's responses go with
--     it); user_id is the respondent (CASCADE: their responses go with
--     them), NULL for an anonymous response, which has respondent_hash
--     instead: a keyed hash (HMAC-SHA256 under a key derived from the
--     master key) of the survey and the client's anonymous id, never the id
--     itself. Exactly one of the two is set (chk_survey_responses_respondent).
--   * unique (survey_id, user_id) and (survey_id, respondent_hash): one
--     response per user, or per anonymous id, and survey.
--   * indexes: a survey's responses newest first (survey_id, id); a user's
--     responses (user_id, id), for their export and the cascade.
--   * the permissions surveys:write (create, change, delete surveys) and
--     surveys:read (read them, their responses and results), builtin.

-- +goose Up
CREATE TABLE surveys (
    id              TEXT PRIMARY KEY,
    slug            TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    questions       TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'draft',
    allow_anonymous BOOLEAN NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CONSTRAINT chk_surveys_status CHECK (status IN ('draft', 'open', 'closed'))
);
CREATE UNIQUE INDEX idx_surveys_slug ON surveys (slug);

CREATE TABLE survey_responses (
    id              TEXT PRIMARY KEY,
    survey_id       TEXT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    respondent_hash TEXT,
    answers         TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    CONSTRAINT chk_survey_responses_respondent CHECK ((user_id IS NULL) <> (respondent_hash IS NULL))
);
CREATE UNIQUE INDEX idx_survey_responses_survey_user ON survey_responses (survey_id, user_id);
CREATE UNIQUE INDEX idx_survey_responses_survey_respondent ON survey_responses (survey_id, respondent_hash);
CREATE INDEX idx_survey_responses_survey_id ON survey_responses (survey_id, id);
CREATE INDEX idx_survey_responses_user_id ON survey_responses (user_id, id);

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000017', 'surveys:write', 'Create, change and delete surveys'),
    ('00000000-0000-7000-8001-000000000018', 'surveys:read', 'Read surveys, their responses and their results')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key IN ('surveys:write', 'surveys:read');
DROP TABLE survey_responses;
DROP TABLE surveys;
