package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/collection"
)

const collectionsUsage = "usage: userd collections apply FILE (a JSON object {\"collections\": {NAME: declaration, …}})"

// collectionsCmd runs `userd collections apply FILE`: the operator declares
// the collections of a file in one transaction, as the system (audited,
// with no user). Applying the same file again changes nothing.
func collectionsCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "apply" || strings.HasPrefix(args[1], "-") {
		return fmt.Errorf(collectionsUsage)
	}
	raw, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	var file struct {
		Collections map[string]collection.Declaration `json:"collections"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return fmt.Errorf("%s: %w", args[1], err)
	}
	if len(file.Collections) == 0 {
		return fmt.Errorf("%s declares no collections: %s", args[1], collectionsUsage)
	}
	db, err := openWith(ctx, "collections apply", args[2:], func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.MigrateUp(ctx); err != nil {
		return err
	}
	// The operator holds the database: they may declare.
	operator := userd.Actor{Grants: userd.Grants{Permissions: []string{collection.WritePermission}}}
	applied, err := collection.NewService(db, collection.Deps{}).Apply(ctx, operator, userd.Client{}, file.Collections)
	if err != nil {
		return err
	}
	for _, a := range applied {
		what := "unchanged"
		switch {
		case a.Created:
			what = "created"
		case a.Changed:
			what = "changed"
		}
		fmt.Fprintln(stdout, what, a.Name)
	}
	return nil
}
