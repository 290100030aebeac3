package rbac_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// BenchmarkGrants reads the grants of 2,000 users in turn, after ANALYZE as
// an operator's database has it: on SQLite, a statement whose plan depends
// on its parameter's value would be prepared again for each user.
func BenchmarkGrants(b *testing.B) {
	for _, engine := range dbtest.Engines {
		b.Run(engine, func(b *testing.B) {
			db := dbtest.Open(b, engine)
			ctx := sqldb.System(context.Background())
			var ids []string
			err := db.Tx(ctx, func(tx *sqldb.Tx) error {
				for i := range 2000 {
					u, err := account.Insert(ctx, tx, account.New{Identity: account.Identity{Email: fmt.Sprintf("u%d@example.com", i)}})
					if err != nil {
						return err
					}
					if _, err := rbac.Assign(ctx, tx, u.ID, rbac.DefaultRole); err != nil {
						return err
					}
					ids = append(ids, u.ID)
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.SQL().Exec("ANALYZE"); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				err := db.View(ctx, func(tx *sqldb.Tx) error {
					g, err := rbac.Grants(ctx, tx, ids[i%len(ids)])
					if err == nil && len(g.Roles) != 1 {
						err = fmt.Errorf("grants %v", g)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
