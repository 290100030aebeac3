-- Purpose: surveys and their responses (seed 001's surveys, issue 21 item
-- 5): an administrator's list of questions under a slug, and the answers
-- of signed-in users (one each) or of anonymous respondents (one per hashed
-- anonymous id) while the survey is open.
-- Depends on: 00001_users, 00008_rbac, 00009_row_level_security,
-- 00023_permission_builtin.
-- Key features:
--   * surveys (seed 001): no foreign keys; slug unique (idx_surveys_slug);
--     questions is a JSON array of {id, type, label, required, options?,
--     min?, max?, max_length?} that the survey package validates; status is
--     draft, open or closed; allow_anonymous lets respondents answer
--     without signing in. userd_app reads surveys (a user's response is
--     checked against its survey in their own transaction) and writes none.
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
--   * row-level security on user_id: a user's transaction sees and writes
--     their own responses only, never an anonymous one; anonymous responses,
--     results and administration run in system-scoped transactions.
--   * the permissions surveys:write (create, change, delete surveys) and
--     surveys:read (read them, their responses and results), builtin.

-- +goose Up
CREATE TABLE surveys (
    id              uuid PRIMARY KEY,
    slug            TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    questions       jsonb NOT NULL,
    status          TEXT NOT NULL DEFAULT 'draft',
    allow_anonymous BOOLEAN NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT chk_surveys_status CHECK (status IN ('draft', 'open', 'closed'))
);
CREATE UNIQUE INDEX idx_surveys_slug ON surveys (slug);
REVOKE INSERT, UPDATE, DELETE ON surveys FROM userd_app;

CREATE TABLE survey_responses (
    id              uuid PRIMARY KEY,
    survey_id       uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    user_id         uuid REFERENCES users (id) ON DELETE CASCADE,
    respondent_hash TEXT,
    answers         jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    CONSTRAINT chk_survey_responses_respondent CHECK ((user_id IS NULL) <> (respondent_hash IS NULL))
);
CREATE UNIQUE INDEX idx_survey_responses_survey_user ON survey_responses (survey_id, user_id);
CREATE UNIQUE INDEX idx_survey_responses_survey_respondent ON survey_responses (survey_id, respondent_hash);
CREATE INDEX idx_survey_responses_survey_id ON survey_responses (survey_id, id);
CREATE INDEX idx_survey_responses_user_id ON survey_responses (user_id, id);
-- +userd owned-by survey_responses.user_id

COMMENT ON TABLE surveys IS 'Surveys (seed 001, survey package): questions under a unique slug that respondents answer while the survey is open; administrators write them.';
COMMENT ON COLUMN surveys.slug IS 'The survey''s public name in /v1/surveys/{slug}: 1 to 100 of a-z 0-9 and -, starting with a letter or digit; unique.';
COMMENT ON COLUMN surveys.questions IS 'JSON array of questions {id, type (single_choice, multiple_choice, text, rating, number), label, required, options?, min?, max?, max_length?}, validated by the survey package; a question that has answers keeps its id and type.';
COMMENT ON COLUMN surveys.status IS 'draft (not shown), open (shown and answered) or closed (neither).';
COMMENT ON COLUMN surveys.allow_anonymous IS 'Whether respondents may answer without signing in, named by a hashed anonymous id.';
COMMENT ON TABLE survey_responses IS 'Answers to surveys (survey package): one per user, or per hashed anonymous id, and survey; they go with the survey and with the user.';
COMMENT ON COLUMN survey_responses.user_id IS 'The signed-in respondent; NULL for an anonymous response (respondent_hash set instead).';
COMMENT ON COLUMN survey_responses.respondent_hash IS 'For an anonymous response: base64url HMAC-SHA256, under a key derived from the master key, of the survey id and the anonymous id the client sent; the id itself is never stored. NULL for a signed-in respondent.';
COMMENT ON COLUMN survey_responses.answers IS 'JSON object of answers by question id: a string (single_choice, text), an array of strings (multiple_choice) or a number (rating, number), each checked against its question.';

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000017', 'surveys:write', 'Create, change and delete surveys'),
    ('00000000-0000-7000-8001-000000000018', 'surveys:read', 'Read surveys, their responses and their results')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key IN ('surveys:write', 'surveys:read');
DROP TABLE survey_responses;
DROP TABLE surveys;
