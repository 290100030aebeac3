package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/feature/userimport"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/sqldb"

	"github.com/schollz/progressbar/v3"
)

func users(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "import" && args[0] != "delete") {
		return fmt.Errorf("usage: userd users create --email … --password … | userd users list | userd users import FILE | userd users delete ID")
	}
	verb := args[0]
	var file string
	if verb == "import" || verb == "delete" {
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			return fmt.Errorf("usage: userd users %s FILE|ID [--data-dir DIR | --database-url URL]", verb)
		}
		file, args = args[1], args[1:]
	}
	var in admin.NewUser
	var roles multiFlag
	var opts userimport.Options
	db, err := openWith(ctx, "users "+verb, args[1:], func(fs *flag.FlagSet) {
		if verb == "import" {
			fs.BoolVar(&opts.DryRun, "dry-run", false, "check the whole file and report each failing line; write nothing")
			fs.BoolVar(&opts.IgnoreUnknown, "ignore-unknown", false, "ignore fields userd does not know instead of refusing the file")
		}
		if verb != "create" {
			return
		}
		fs.StringVar(&in.Email, "email", "", "email of the new user")
		fs.StringVar(&in.Username, "username", "", "username of the new user")
		fs.StringVar(&in.PhoneNumber, "phone-number", "", "E.164 phone number of the new user")
		fs.StringVar(&in.Password, "password", "", "password of the new user (env USERD_PASSWORD)")
		fs.StringVar(&in.FirstName, "first-name", "", "first name")
		fs.StringVar(&in.LastName, "last-name", "", "last name")
		fs.Var(&roles, "role", "a role to give besides END_USER, such as ADMIN; repeatable")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.MigrateUp(ctx); err != nil {
		return err
	}
	switch verb {
	case "import":
		return importUsers(ctx, db, file, opts, stdout)
	case "delete":
		svc := admin.New(db, nil, nil)
		id, err := svc.UserID(ctx, file)
		if err != nil {
			return err
		}
		if err := svc.DeleteUser(ctx, admin.Who{System: true}, id); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "deleted", id)
		return nil
	}
	if verb == "create" {
		in.Roles = append([]string{rbac.DefaultRole}, roles...)
		l, err := admin.New(db, password.New(password.OWASP, 0), nil).CreateUser(ctx, admin.Who{System: true}, in)
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
		err := db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
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

// importUsers imports a file with a progress bar for each pass and prints
// the summary; unknown fields are an error unless opts.IgnoreUnknown.
func importUsers(ctx context.Context, db *sqldb.DB, file string, opts userimport.Options, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	var bar *progressbar.ProgressBar
	opts.Progress = func(pass string, r io.Reader) io.Reader {
		if bar != nil {
			bar.Finish()
		}
		bar = progressbar.NewOptions64(fi.Size(), progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription(pass+" "+filepath.Base(file)), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		return io.TeeReader(r, bar)
	}
	start := time.Now()
	sum, err := userimport.Import(ctx, db, f, opts)
	if bar != nil {
		bar.Finish()
	}
	for _, name := range sum.UnknownFields() {
		fmt.Fprintf(stdout, "unknown field %q in %d records\n", name, sum.Unknown[name])
	}
	if errors.Is(err, userimport.ErrUnknownFields) {
		return fmt.Errorf("%w (known: %s; --ignore-unknown imports the file without them)", err, strings.Join(userimport.Fields, ", "))
	}
	if err != nil {
		return err
	}
	skipped := sum.Read - sum.Imported
	switch {
	case opts.DryRun:
		failing := sumOf(sum.Skipped)
		fmt.Fprintf(stdout, "dry run: read %d, valid %d, failing %d; nothing written\n", sum.Read, sum.Read-failing, failing)
	default:
		elapsed := time.Since(start)
		fmt.Fprintf(stdout, "read %d, imported %d, skipped %d in %s (%.0f users/s)\n", sum.Read, sum.Imported, skipped,
			elapsed.Round(time.Millisecond), float64(sum.Imported)/elapsed.Seconds())
	}
	for _, reason := range sum.Reasons() {
		fmt.Fprintf(stdout, "  skipped %d: %s\n", sum.Skipped[reason], reason)
	}
	for _, ex := range sum.Examples {
		fmt.Fprintf(stdout, "  e.g. %s\n", ex)
	}
	return nil
}

func sumOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
