-- Purpose: the index of activity_logs.actor_api_key_id holds only the entries
-- an API key made (issue 16: every audited write paid for an index entry of
-- a NULL it never looks up).
-- Depends on: 00024_api_keys.
-- Key features:
--   * idx_activity_logs_actor_api_key_id becomes partial, WHERE
--     actor_api_key_id IS NOT NULL: a key's trail (actor_api_key_id = $1)
--     still uses it; an end user's vote, follow or log-in adds no entry.

-- +goose Up
DROP INDEX idx_activity_logs_actor_api_key_id;
CREATE INDEX idx_activity_logs_actor_api_key_id ON activity_logs (actor_api_key_id) WHERE actor_api_key_id IS NOT NULL;

-- +goose Down
DROP INDEX idx_activity_logs_actor_api_key_id;
CREATE INDEX idx_activity_logs_actor_api_key_id ON activity_logs (actor_api_key_id);
