-- Purpose: jobs, the durable queue of scheduled work (sync due, token
-- expiring, webhooks), and webhook_deliveries, the record of each delivery.
-- Depends on: nothing.
-- Key features:
--   * a job is claimed with one conditional UPDATE that sets a lease
--     (locked_by, locked_until): any number of userd processes share the
--     queue and each due job runs once; a crashed worker's lease expires.
--   * key names a job for its owner ("sync:<id>:due"): at most one pending
--     job per key (a partial unique index), so scheduling is idempotent.
--   * failures retry with exponential backoff up to max_attempts (run_at
--     moves, scheduled_at stays: it names the occurrence); a recurring job
--     moves both forward instead of finishing.
--   * no user_id: jobs are system work, outside row-level security.

-- +goose Up
CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL,
    key          text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    run_at       timestamptz NOT NULL,
    scheduled_at timestamptz NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    locked_by    text,
    locked_until timestamptz,
    last_error   text,
    done_at      timestamptz,
    created_at   timestamptz NOT NULL
);
CREATE INDEX idx_jobs_due ON jobs (run_at) WHERE done_at IS NULL;
CREATE UNIQUE INDEX idx_jobs_key ON jobs (key) WHERE done_at IS NULL;
CREATE TABLE webhook_deliveries (
    id          uuid PRIMARY KEY,
    job_id      uuid NOT NULL,
    message_id  text NOT NULL,
    event_type  text NOT NULL,
    url         text NOT NULL,
    attempt     INTEGER NOT NULL,
    status_code INTEGER,
    error       text,
    duration_ms INTEGER NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX idx_webhook_deliveries_job_id ON webhook_deliveries (job_id);
CREATE INDEX idx_webhook_deliveries_created_at ON webhook_deliveries (created_at);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE jobs;
