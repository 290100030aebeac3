package postgres_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/platform/postgres"
)

// TestLibpqEnv: a database URL becomes the PG* variables of PostgreSQL's
// client programs, the password among them, and the parameters that only
// pgx knows are left out.
func TestLibpqEnv(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"postgres://app:s3cr%2Ft@db.example.com:6432/userd?sslmode=require&connect_timeout=5&statement_cache_capacity=8",
			[]string{"PGCONNECT_TIMEOUT=5", "PGDATABASE=userd", "PGHOST=db.example.com", "PGPASSWORD=s3cr/t", "PGPORT=6432", "PGSSLMODE=require", "PGUSER=app"}},
		{"postgres://app@db1,db2:5433/userd?sslmode=disable",
			[]string{"PGDATABASE=userd", "PGHOST=db1,db2", "PGPORT=5432,5433", "PGSSLMODE=disable", "PGUSER=app"}},
		{"postgres://app@[::1]:5432,db2:5433/userd?password=pw",
			[]string{"PGDATABASE=userd", "PGHOST=::1,db2", "PGPASSWORD=pw", "PGPORT=5432,5433", "PGUSER=app"}},
		{"postgresql://app@/userd?host=/run/postgresql&port=5433",
			[]string{"PGDATABASE=userd", "PGHOST=/run/postgresql", "PGPORT=5433", "PGUSER=app"}},
	} {
		got, err := postgres.LibpqEnv(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.url, diff)
		}
	}
}
