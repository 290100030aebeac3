package web_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/platform/sqldb"
)

// TestExportPagesThroughBatches: a section longer than a batch (500) comes
// whole, each item once, newest first.
func TestExportPagesThroughBatches(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		id, tok := c.signup(map[string]any{"email": "ann@example.com"})
		ctx := sqldb.AsUser(context.Background(), id)
		ns := make([]notify.New, 1203)
		for i := range ns {
			ns[i] = notify.New{Type: "test.bulk", Title: "n", Data: json.RawMessage(`{}`)}
		}
		if err := c.db.Tx(ctx, func(tx *sqldb.Tx) error { return notify.InsertBatch(ctx, tx, id, ns) }); err != nil {
			t.Fatal(err)
		}
		r := c.do("GET", "/v1/me/export", nil, tok)
		var doc struct {
			Notifications []struct {
				ID string `json:"id"`
			} `json:"notifications"`
		}
		if err := json.Unmarshal(r.Raw, &doc); err != nil || r.Status != 200 {
			t.Fatalf("export = %d, %v", r.Status, err)
		}
		seen := map[string]bool{}
		for i, n := range doc.Notifications {
			if seen[n.ID] || (i > 0 && n.ID >= doc.Notifications[i-1].ID) {
				t.Fatalf("notification %d (%s) repeated or out of order", i, n.ID)
			}
			seen[n.ID] = true
		}
		if len(seen) != len(ns) {
			t.Fatalf("the export has %d notifications; want %d", len(seen), len(ns))
		}
	})
}
