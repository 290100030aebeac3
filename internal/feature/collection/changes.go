package collection

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/outbox"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Channel is the database channel that announces a user's change, as
// "USER_ID:CHANGE_ID", when its transaction commits.
const Channel = "userd_collection_changes"

// ChangesKept is how long the changes stay for a stream to resume from.
const ChangesKept = 7 * 24 * time.Hour

// The types of a change.
const (
	RecordCreated = "record.created"
	RecordUpdated = "record.updated"
	RecordDeleted = "record.deleted"
)

// ErrChangeNotFound answers a change that is not the user's, or gone.
var ErrChangeNotFound = userd.Errorf(userd.KindNotFound, "change_not_found", "No such change.")

// Change is a creation, change or deletion of one of a user's records.
// Data is the record's data after it, nil for a deletion.
type Change struct {
	ID, Type, Collection, RecordID string
	Version                        int
	Data                           json.RawMessage
	At                             time.Time
}

// changeColumns are the columns of a Change.
const changeColumns = `id, type, collection, record_id, version, data, at`

func scanChange(row sqldb.Scanner) (Change, error) {
	var c Change
	var data []byte
	if err := row.Scan(&c.ID, &c.Type, &c.Collection, &c.RecordID, &c.Version, &data, &c.At); err != nil {
		return c, err
	}
	if data != nil {
		c.Data = json.RawMessage(data)
	}
	c.At = c.At.UTC()
	return c, nil
}

// changed records a change of a user's record in tx and announces it at
// commit, and emits its webhook event when the collection opts in. An
// organisation's records have no stream yet.
func changed(ctx context.Context, tx *sqldb.Tx, c *compiled, o owner, typ, recordID string, version int, data []byte) error {
	if c.decl.Webhooks {
		if err := outbox.Emit(ctx, tx, webhookTypes[typ], webhookData(c, o, recordID, version, data)); err != nil {
			return err
		}
	}
	if o.user == "" {
		return nil
	}
	var stored any
	if data != nil {
		stored = string(data)
	}
	id := userd.NewID(tx.Now)
	_, err := tx.Exec(ctx, `INSERT INTO collection_changes (id, user_id, collection, record_id, type, version, data, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, o.user, c.name, recordID, typ, version, stored, tx.Now)
	if err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return tx.Notify(ctx, Channel, o.user+":"+id)
}

// webhookTypes are the webhook events of the types of a change.
var webhookTypes = map[string]string{
	RecordCreated: outbox.CollectionRecordCreated,
	RecordUpdated: outbox.CollectionRecordUpdated,
	RecordDeleted: outbox.CollectionRecordDeleted,
}

// webhookData is the data of a record's webhook event: about the owning
// user (the acting member of an organisation is the actor), the record its
// target, its collection, version and data (none for a deletion) the
// details.
func webhookData(c *compiled, o owner, recordID string, version int, data []byte) outbox.EventData {
	d := outbox.EventData{Version: outbox.Version, UserID: o.user, Target: &outbox.EventRef{Type: "record", ID: recordID},
		Details: map[string]any{"collection": c.name, "version": version}}
	if data != nil {
		d.Details["data"] = json.RawMessage(data)
	}
	if o.org != "" {
		d.Details["organization_id"] = o.org
	}
	if by := o.by; by.APIKeyID != "" || (by.UserID != "" && by.UserID != o.user) {
		d.Actor = &outbox.EventActor{UserID: by.UserID, APIKeyID: by.APIKeyID}
	}
	return d
}

// ChangesAfter returns up to limit of the actor's changes after the change
// after, oldest first: what a resuming stream missed. It returns a
// validation error for an after that is not an id.
func (s *Service) ChangesAfter(ctx context.Context, a userd.Actor, after string, limit int) (cs []Change, err error) {
	after, ok := userd.ParseID(after)
	if !ok {
		return nil, userd.Invalid([]userd.FieldError{{Field: "Last-Event-ID", Code: "invalid_id", Message: "Last-Event-ID is the id of a change."}})
	}
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		cs, err = sqldb.All(ctx, tx, scanChange, `SELECT `+changeColumns+` FROM collection_changes
			WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3`, a.UserID, after, limit)
		if err != nil {
			return fmt.Errorf("read changes: %w", err)
		}
		return nil
	})
	return cs, err
}

// GetChange returns one of the actor's changes, or ErrChangeNotFound.
func (s *Service) GetChange(ctx context.Context, a userd.Actor, id string) (c Change, err error) {
	id, ok := userd.ParseID(id)
	if !ok {
		return c, ErrChangeNotFound
	}
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		c, err = sqldb.One(ctx, tx, ErrChangeNotFound, "read change", scanChange, `SELECT `+changeColumns+` FROM collection_changes
			WHERE id = $1 AND user_id = $2`, id, a.UserID)
		return err
	})
	return c, err
}

// Expire deletes the changes older than ChangesKept: the clean-up's. It
// finds them by their ids, below the least UUIDv7 of the cut-off's
// millisecond.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	ms := now.Add(-ChangesKept).UnixMilli()
	below := fmt.Sprintf("%08x-%04x-7000-8000-000000000000", ms>>16, ms&0xffff)
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM collection_changes WHERE id < $1`, below)
}
