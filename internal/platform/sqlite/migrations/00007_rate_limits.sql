-- Purpose: rate_limits, the counters behind brute-force protection, shared by
-- every userd process of a database.
-- Depends on: nothing.
-- Key features:
--   * one row per key (such as login:ip:203.0.113.7 or login:account:ann@example.com),
--     a fixed window that restarts when it has passed, and its hit count.
--   * updated with one INSERT … ON CONFLICT … RETURNING, exact under concurrency.

-- +goose Up
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    hits         INTEGER NOT NULL
);
CREATE INDEX idx_rate_limits_window_start ON rate_limits (window_start);

-- +goose Down
DROP TABLE rate_limits;
