package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "down" && args[0] != "status") {
		return fmt.Errorf("usage: userd migrate up|down|status [--data-dir DIR] [--database-url URL]")
	}
	verb := args[0]
	db, err := openWith(ctx, "migrate "+verb, args[1:], nil)
	if err != nil {
		return err
	}
	defer db.Close()
	switch verb {
	case "up":
		applied, err := db.MigrateUp(ctx)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(stdout, "no pending migrations")
		}
		for _, v := range applied {
			fmt.Fprintf(stdout, "applied %05d\n", v)
		}
	case "down":
		v, err := db.MigrateDown(ctx)
		if err != nil {
			return err
		}
		if v == 0 {
			fmt.Fprintln(stdout, "nothing to roll back")
		} else {
			fmt.Fprintf(stdout, "rolled back %05d\n", v)
		}
	case "status":
		st, err := db.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tDESCRIPTION\tAPPLIED AT")
		for _, m := range st {
			at := "pending"
			if !m.AppliedAt.IsZero() {
				at = m.AppliedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%05d\t%s\t%s\n", m.Version, m.Description, at)
		}
		return tw.Flush()
	}
	return nil
}
