package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/openid"
)

const oauthClientsUsage = "usage: userd oauth-clients create --name N --redirect-uri U [--redirect-uri U …] [--post-logout-redirect-uri U …] [--scope S …] [--public] [--first-party] | userd oauth-clients list | userd oauth-clients delete CLIENT_ID"

// oauthClients runs `userd oauth-clients`: the operator registers, lists
// and deletes the applications that sign users in through userd's OpenID
// Provider, as the system (audited, with no user).
func oauthClients(ctx context.Context, args []string, stdout io.Writer) error {
	verb, id, rest, err := verbWithID(args, oauthClientsUsage, "delete", "create", "list", "delete")
	if err != nil {
		return err
	}
	var n openid.NewClient
	var redirects, logouts, scopes multiFlag
	db, err := openWith(ctx, "oauth-clients "+verb, rest, func(fs *flag.FlagSet) {
		if verb != "create" {
			return
		}
		fs.StringVar(&n.Name, "name", "", "the application's name, shown on the consent page")
		fs.Var(&redirects, "redirect-uri", "a redirect URI, matched exactly; repeatable")
		fs.Var(&logouts, "post-logout-redirect-uri", "where end_session may send the browser, matched exactly; repeatable")
		fs.Var(&scopes, "scope", "a scope the client may ask for (openid, profile, email, phone, offline_access, roles, organizations); repeatable; all when none is given")
		fs.BoolVar(&n.Public, "public", false, "a public client (single-page or native app): no secret, PKCE with S256 required")
		fs.BoolVar(&n.FirstParty, "first-party", false, "the operator's own application: users are not asked to consent")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.MigrateUp(ctx); err != nil {
		return err
	}
	svc, err := openid.NewService(db, openid.Config{}, openid.Deps{})
	if err != nil {
		return err
	}
	system := userd.Actor{Grants: userd.Grants{Admin: true}}
	switch verb {
	case "create":
		n.RedirectURIs, n.PostLogoutRedirectURIs = redirects, logouts
		if len(scopes) > 0 {
			n.Scopes = scopes
		}
		c, secret, err := svc.CreateClient(ctx, system, userd.Client{}, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client_id %s\n", c.ID)
		if secret != "" {
			fmt.Fprintf(stdout, "client_secret %s\n# the secret is shown this once: keep it now.\n", secret)
		}
		return nil
	case "delete":
		if err := svc.DeleteClient(ctx, system, userd.Client{}, id); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "deleted", id)
		return nil
	}
	list, err := svc.Clients(ctx, system)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tPUBLIC\tFIRST PARTY\tREDIRECT URIS\tSCOPES")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%t\t%s\t%s\n", c.ID, c.Name, c.Public, c.FirstParty, strings.Join(c.RedirectURIs, " "), strings.Join(c.Scopes, " "))
	}
	return tw.Flush()
}
