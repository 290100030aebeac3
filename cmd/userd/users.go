package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/userd/userd/account"
	"github.com/userd/userd/auth"
	"github.com/userd/userd/password"
	"github.com/userd/userd/ratelimit"
	"github.com/userd/userd/sqldb"
)

func users(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		return fmt.Errorf("usage: userd users create --email … --password … | userd users list")
	}
	verb := args[0]
	var in auth.Signup
	db, err := openWith(ctx, "users "+verb, args[1:], func(fs *flag.FlagSet) {
		if verb != "create" {
			return
		}
		fs.StringVar(&in.Email, "email", "", "email of the new user")
		fs.StringVar(&in.Username, "username", "", "username of the new user")
		fs.StringVar(&in.PhoneNumber, "phone-number", "", "E.164 phone number of the new user")
		fs.StringVar(&in.Password, "password", "", "password of the new user (env USERD_PASSWORD)")
		fs.StringVar(&in.FirstName, "first-name", "", "first name")
		fs.StringVar(&in.LastName, "last-name", "", "last name")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.MigrateUp(ctx); err != nil {
		return err
	}
	if verb == "create" {
		svc := auth.New(auth.Deps{DB: db, Hasher: password.New(password.OWASP, 0), Limiter: ratelimit.New(db, false), Log: newLogger(os.Stderr)}, auth.Config{})
		l, err := svc.CreateUser(ctx, in)
		svc.Close()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, l.ID)
		return nil
	}
	return listUsers(ctx, db, stdout)
}

func listUsers(ctx context.Context, db *sqldb.DB, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tUSERNAME\tPHONE\tSTATUS\tCREATED AT")
	afterID := account.FirstID
	for {
		var page []account.User
		err := db.View(ctx, func(tx *sqldb.Tx) (err error) {
			page, err = account.List(ctx, tx, afterID, 500)
			return err
		})
		if err != nil {
			return err
		}
		for _, u := range page {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, deref(u.Email), deref(u.Username), deref(u.PhoneNumber), u.Status, u.CreatedAt.Format(time.RFC3339))
		}
		if len(page) < 500 {
			return tw.Flush()
		}
		afterID = page[len(page)-1].ID
	}
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
