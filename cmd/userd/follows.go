package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/userd/userd/internal/feature/userimport"
)

// follows runs "userd follows import FILE": it stores the follows of a file
// whose sides are userd ids, legacy ids, emails or auth_user_ids, and
// recounts their users' counters.
func follows(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "import" || strings.HasPrefix(args[1], "-") {
		return fmt.Errorf("usage: userd follows import FILE [--data-dir DIR | --database-url URL]")
	}
	file := args[1]
	db, err := openWith(ctx, "follows import", args[2:], nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.MigrateUp(ctx); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("import follows: %w", err)
	}
	defer f.Close()
	sum, err := userimport.ImportFollows(ctx, db, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "read %d, followed %d, skipped %d\n", sum.Read, sum.Imported, sum.Read-sum.Imported)
	for _, reason := range sum.Reasons() {
		fmt.Fprintf(stdout, "  skipped %d: %s\n", sum.Skipped[reason], reason)
	}
	for _, ex := range sum.Examples {
		fmt.Fprintf(stdout, "  e.g. %s\n", ex)
	}
	return nil
}
