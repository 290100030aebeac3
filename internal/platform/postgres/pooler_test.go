package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/userd/userd/internal/platform/postgres"
)

// TestOpenWithRefusesBadPoolers: an unknown pooler, and PgBouncer without a
// direct URL of its own (LISTEN and the migrations' lock need a session),
// fail before any connection.
func TestOpenWithRefusesBadPoolers(t *testing.T) {
	const url = "postgres://userd@127.0.0.1:1/userd?sslmode=disable"
	for _, tc := range []struct {
		name string
		o    postgres.Options
		want string
	}{
		{"unknown pooler", postgres.Options{Pooler: "pgpool"}, `unknown pooler "pgpool"`},
		{"pgbouncer without a direct URL", postgres.Options{Pooler: postgres.PgBouncer}, "need a direct URL"},
		{"pgbouncer with its own URL as the direct one", postgres.Options{Pooler: postgres.PgBouncer, DirectURL: url}, "need a direct URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := postgres.OpenWith(context.Background(), url, tc.o)
			if err == nil {
				db.Close()
				t.Fatal("opened; want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q; want it to say %q", err, tc.want)
			}
		})
	}
}
