package sqldb

import (
	"context"
	"fmt"
)

// Sealer is what Reseal needs of a keyring (seal.Keyring).
type Sealer interface {
	PrimaryID() string
	SealedBy(sealed []byte) (string, bool)
	Open(sealed, ad []byte) ([]byte, error)
	Seal(plain, ad []byte) []byte
}

// SealedColumn names a column of sealed values, as the package that owns
// its table declares it: the table, the column, the id column, the user
// column ("" when there is none) and how a value's additional data is made
// from its row's id and user.
type SealedColumn struct {
	Table, Column, IDColumn, UserColumn string
	AD                                  func(id, userID string) []byte
}

// Reseal re-seals, in batches of their own transactions, every value of the
// column that the keyring's primary key did not seal, and reports progress
// after each batch (rows looked at, rows re-sealed). A value that no key of
// the keyring opens is an error. Run again after an interruption, it goes
// on where it stopped: values already under the primary key are skipped.
func (db *DB) Reseal(ctx context.Context, ring Sealer, c SealedColumn, progress func(seen, resealed int)) error {
	user := "''"
	if c.UserColumn != "" {
		user = c.UserColumn
	}
	after, seen, resealed := "", 0, 0
	for {
		var n int
		err := db.Tx(System(ctx), func(tx *Tx) error {
			// The id compares as text so that "" starts any id type (uuid
			// text orders as its bytes do).
			rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT %s, %s, %s FROM %s WHERE CAST(%s AS TEXT) > $1 AND %s IS NOT NULL ORDER BY %s LIMIT 200`,
				c.IDColumn, user, c.Column, c.Table, c.IDColumn, c.Column, c.IDColumn), after)
			if err != nil {
				return err
			}
			type row struct {
				id, user string
				sealed   []byte
			}
			var batch []row
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.id, &r.user, &r.sealed); err != nil {
					rows.Close()
					return err
				}
				batch = append(batch, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			n = len(batch)
			for _, r := range batch {
				after = r.id
				if by, ok := ring.SealedBy(r.sealed); ok && by == ring.PrimaryID() {
					continue
				}
				plain, err := ring.Open(r.sealed, c.AD(r.id, r.user))
				if err != nil {
					return fmt.Errorf("%s.%s of %s: %w (is its old master key given?)", c.Table, c.Column, r.id, err)
				}
				if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2`, c.Table, c.Column, c.IDColumn),
					ring.Seal(plain, c.AD(r.id, r.user)), r.id); err != nil {
					return err
				}
				resealed++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reseal %s.%s: %w", c.Table, c.Column, err)
		}
		seen += n
		if progress != nil {
			progress(seen, resealed)
		}
		if n < 200 {
			return nil
		}
	}
}

// CountSealed counts the values of a sealed column.
func (db *DB) CountSealed(ctx context.Context, c SealedColumn) (int, error) {
	var n int
	err := db.View(System(ctx), func(tx *Tx) error {
		return tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s IS NOT NULL`, c.Table, c.Column)).Scan(&n)
	})
	return n, err
}
