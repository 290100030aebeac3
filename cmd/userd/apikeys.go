package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/apikey"
)

const apiKeysUsage = "usage: userd api-keys create --name N --permission P [--permission P …] [--expires-at RFC3339] | userd api-keys list | userd api-keys revoke ID"

// apiKeys runs `userd api-keys`: the operator makes, lists and revokes the
// keys of application back-ends, as the system (audited, with no user).
func apiKeys(ctx context.Context, args []string, stdout io.Writer) error {
	verb, id, rest, err := verbWithID(args, apiKeysUsage, "revoke", "create", "list", "revoke")
	if err != nil {
		return err
	}
	var name, expires string
	var perms multiFlag
	db, err := openWith(ctx, "api-keys "+verb, rest, func(fs *flag.FlagSet) {
		if verb != "create" {
			return
		}
		fs.StringVar(&name, "name", "", "what the key is for, such as the application's name")
		fs.Var(&perms, "permission", "a permission the key carries, such as vault:reveal; repeatable")
		fs.StringVar(&expires, "expires-at", "", "when the key stops working (RFC 3339); never when empty")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.MigrateUp(ctx); err != nil {
		return err
	}
	svc, system := admin.New(db, nil, nil), admin.Who{System: true}
	switch verb {
	case "create":
		n := apikey.New{Name: name, Permissions: perms}
		if expires != "" {
			t, err := time.Parse(time.RFC3339, expires)
			if err != nil {
				return fmt.Errorf("--expires-at %q: want RFC 3339, such as 2027-01-31T00:00:00Z", expires)
			}
			n.ExpiresAt = &t
		}
		k, secret, err := svc.CreateAPIKey(ctx, system, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n# id %s; the key is shown this once: keep it now.\n", secret, k.ID)
		return nil
	case "revoke":
		if err := svc.RevokeAPIKey(ctx, system, id); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "revoked", id)
		return nil
	}
	return listAPIKeys(ctx, svc, stdout)
}

func listAPIKeys(ctx context.Context, svc *admin.Service, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPERMISSIONS\tCREATED AT\tLAST USED\tEXPIRES\tREVOKED")
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format(time.RFC3339)
	}
	before := ""
	for {
		page, err := svc.APIKeys(ctx, admin.Who{System: true}, before, 500)
		if err != nil {
			return err
		}
		for _, k := range page {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Permissions, ","), k.CreatedAt.Format(time.RFC3339),
				when(k.LastUsedAt), when(k.ExpiresAt), when(k.RevokedAt))
		}
		if len(page) < 500 {
			return tw.Flush()
		}
		before = page[len(page)-1].ID
	}
}
