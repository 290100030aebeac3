-- Purpose: /metrics counts the jobs that failed, by kind, at each scrape
-- (issue 23, item 1) without reading every finished job the table keeps.
-- Depends on: 00015_jobs.
-- Key features:
--   * idx_jobs_failed is partial, WHERE done_at IS NOT NULL AND last_error
--     IS NOT NULL: it holds only the jobs that ended with an error (and the
--     cancelled ones), by kind and error, so that the count reads it alone;
--     a job that succeeds adds no entry.

-- +goose Up
CREATE INDEX idx_jobs_failed ON jobs (kind, last_error) WHERE done_at IS NOT NULL AND last_error IS NOT NULL;

-- +goose Down
DROP INDEX idx_jobs_failed;
