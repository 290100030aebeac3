-- Purpose: the change stream of collections (issue 20): each creation,
-- change and deletion of a user's record, kept for a while, for
-- GET /v1/me/collections/stream to send and to resume from.
-- Depends on: 00001_users, 00036_collections.
-- Key features:
--   * collection_changes: one row per event, its id a UUIDv7 (the event's
--     id, which Last-Event-ID resumes after); the user it goes to (CASCADE),
--     first in the primary key, the one index (on SQLite WITHOUT ROWID: one
--     b-tree, so that a record's write touches as few pages as it can);
--     the collection and record (no foreign keys: a deletion's event
--     outlives its record), the type record.created, record.updated or
--     record.deleted, the record's version and, but for a deletion, its
--     data. The clean-up deletes the rows older than a week, by their
--     ids (a UUIDv7 starts with its time), an hourly scan rather than an
--     index on at that every write would pay for.

-- +goose Up
CREATE TABLE collection_changes (
    id         TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    collection TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    data       TEXT,
    at         TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, id),
    CONSTRAINT chk_collection_changes_type CHECK (type IN ('record.created', 'record.updated', 'record.deleted'))
) WITHOUT ROWID;

-- +goose Down
DROP TABLE collection_changes;
