-- Purpose: the computed rankings of items (issue 16 item 8), which GET
-- /v1/rankings reads.
-- Depends on: 00027_comments_views (the counters that rankings are computed
-- from).
-- Key features:
--   * item_rankings holds the top items of each ranking (score, views,
--     favorites, comments, trending) and period (day, week, month, all), one
--     row per position (1 first), with the ranking's value and when it was
--     computed. A periodic job replaces every row in one transaction from
--     item_stats (all) and item_daily_stats (periods, trending), so that a
--     request reads at most one ranking's rows by primary key instead of
--     summing every item's counters.
--   * no foreign keys (items are named by slug, as elsewhere), no row-level
--     security: rankings are public sums of every user's rows, and one
--     user's transactions (userd_app) may not touch them; only
--     system-scoped transactions read and write them.

-- +goose Up
CREATE TABLE item_rankings (
    ranking     TEXT NOT NULL,
    period      TEXT NOT NULL,
    position    INTEGER NOT NULL,
    item_slug   TEXT NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    computed_at timestamptz NOT NULL,
    CONSTRAINT pk_item_rankings PRIMARY KEY (ranking, period, position)
);
REVOKE ALL ON item_rankings FROM userd_app;

-- +goose Down
DROP TABLE item_rankings;
