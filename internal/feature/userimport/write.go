package userimport

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/outbox"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// importFile reads the records of r again and writes those that are not
// bad, a transaction per batch; reading the next batch goes on while one
// is written.
func importFile(ctx context.Context, db *sqldb.DB, r io.Reader, bad map[int]bool, sum *Summary) error {
	next, err := reader(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []Record, 2)
	var readErr error
	go func() {
		defer close(batches)
		readErr = readBatches(ctx, next, bad, batches)
	}()
	for batch := range batches {
		if len(batch) == 0 {
			continue
		}
		if err := writeBatch(ctx, db, batch, sum); err != nil {
			cancel()
			for range batches {
			}
			return err
		}
	}
	return readErr
}

// readBatches sends the prepared records that are not bad in batches of
// up to batchSize.
func readBatches(ctx context.Context, next func() (Record, error), bad map[int]bool, out chan<- []Record) error {
	batch := make([]Record, 0, batchSize)
	send := func() error {
		ok := make([]bool, len(batch))
		each(batch, func(i int) { ok[i] = prepare(&batch[i]) == "" }) // the first pass counted the others
		kept := batch[:0]
		for i, rec := range batch {
			if ok[i] {
				kept = append(kept, rec)
			}
		}
		select {
		case out <- kept:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch = make([]Record, 0, batchSize)
		return nil
	}
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errMalformed) || bad[rec.Line] {
			continue
		}
		if err != nil {
			return err
		}
		if batch = append(batch, rec); len(batch) == batchSize {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return send()
}

// writeBatch creates the users of a batch with their roles and one audit
// entry, in one transaction, and counts those it skips and why.
func writeBatch(ctx context.Context, db *sqldb.DB, batch []Record, sum *Summary) error {
	users := make([]account.Imported, len(batch))
	for i, r := range batch {
		users[i] = r.User
	}
	var ids, taken []string
	// System: an import creates users; it is no user's doing.
	err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		if ids, err = account.InsertImported(ctx, tx, users); err != nil {
			return err
		}
		var as []rbac.Assignment
		var left []account.Imported
		made := 0
		for i, id := range ids {
			if id == "" {
				left = append(left, users[i])
				continue
			}
			made++
			as = append(as, rbac.Assignment{UserID: id, Role: rbac.DefaultRole})
			for _, role := range batch[i].Roles {
				as = append(as, rbac.Assignment{UserID: id, Role: role})
			}
		}
		if err := rbac.AssignAll(ctx, tx, as); err != nil {
			return err
		}
		if taken, err = account.Taken(ctx, tx, left); err != nil {
			return err
		}
		if made == 0 {
			return nil
		}
		// user.created for each user made: the trail has one entry per
		// batch, the webhooks one event per user.
		var events []outbox.New
		for _, id := range ids {
			if id != "" {
				events = append(events, outbox.New{Type: outbox.UserCreated, Data: outbox.EventData{Version: outbox.Version, UserID: id,
					Target: &outbox.EventRef{Type: "user", ID: id}, Details: map[string]any{"imported": true}}})
			}
		}
		if err := outbox.EmitAll(ctx, tx, events); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: audit.UserImported, TargetType: "import",
			Metadata: map[string]any{"imported": made, "first_line": batch[0].Line, "last_line": batch[len(batch)-1].Line}})
	})
	if err != nil {
		return fmt.Errorf("import lines %d to %d: %w", batch[0].Line, batch[len(batch)-1].Line, err)
	}
	k := 0
	for i, id := range ids {
		if id != "" {
			sum.Imported++
			continue
		}
		reason := "already_imported"
		if taken[k] != "" {
			reason += " (" + taken[k] + ")"
		}
		sum.skip(batch[i].Line, reason)
		k++
	}
	return nil
}
