package sqldb

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// PerDay counts the rows of table that match where (a condition on args,
// numbered from $1; "" for every row) per UTC day over the days that start
// at from's day, oldest first. It is one statement that both engines run
// the same way: a row's day comes from comparing column with the days'
// bounds, so no date function of either engine is needed. table, column
// and where are the caller's own text, never outside input.
func PerDay(ctx context.Context, tx *Tx, table, column, where string, from time.Time, days int, args ...any) ([]int, error) {
	start := from.UTC().Truncate(24 * time.Hour)
	n := len(args) // the bounds' placeholders follow the caller's: $n+1 … $n+days+1
	bound := func(i int) string { return fmt.Sprintf("$%d", n+1+i) }
	var day strings.Builder
	day.WriteString("CASE")
	for i := days - 1; i >= 1; i-- {
		fmt.Fprintf(&day, " WHEN %s >= %s THEN %d", column, bound(i), i)
	}
	day.WriteString(" ELSE 0 END")
	all := append([]any{}, args...)
	for i := 0; i <= days; i++ {
		all = append(all, start.AddDate(0, 0, i))
	}
	cond := fmt.Sprintf("%s >= %s AND %s < %s", column, bound(0), column, bound(days))
	if where != "" {
		cond += " AND " + where
	}
	out := make([]int, days)
	err := Each(ctx, tx, func(row Scanner) error {
		var d, count int
		if err := row.Scan(&d, &count); err != nil {
			return err
		}
		if d >= 0 && d < days {
			out[d] = count
		}
		return nil
	}, fmt.Sprintf("SELECT %s AS day, COUNT(*) FROM %s WHERE %s GROUP BY day", day.String(), table, cond), all...)
	if err != nil {
		return nil, fmt.Errorf("count per day of %s: %w", table, err)
	}
	return out, nil
}
