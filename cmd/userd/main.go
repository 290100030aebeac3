// Command userd is the userd service and its operator tools: serve (the
// default), migrate, users, backup, restore and version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones of synchronizations, on any machine
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdout io.Writer) error
}

var commands = []command{
	{"serve", "[flags]", "run the HTTP API (the default when no command is given)", serve},
	{"migrate", "up|down|status [flags]", "apply, roll back one, or list migrations", migrate},
	{"users", "create|list|import|delete", "create, list, import or delete users", users},
	{"follows", "import FILE", "import follows by userd id, legacy id, email or auth_user_id; recount their users' counters", follows},
	{"api-keys", "create|list|revoke", "create, list or revoke the API keys of application back-ends", apiKeys},
	{"oauth-clients", "create|list|delete", "register, list or delete the applications that sign users in through userd's OpenID Provider", oauthClients},
	{"collections", "apply FILE [flags]", "declare the collections of a JSON file (the same file again changes nothing)", collectionsCmd},
	{"seed", "FILE [flags]", "load demonstration data from a JSON file once (a second run changes nothing)", seedCmd},
	{"keys", "rotate [flags]", "re-seal every secret under the master key, and start a new signing key", keysCmd},
	{"backup", "FILE [flags]", "write a consistent copy of the database to FILE while userd serves (the master key is not in it)", backup},
	{"restore", "FILE [flags]", "load a backup into an empty data folder or database", restore},
	{"healthcheck", "[--addr ADDR]", "exit 0 when the serve at ADDR answers GET /readyz with 200 (a container's HEALTHCHECK)", healthcheck},
	{"version", "", "print the version", func(_ context.Context, _ []string, out io.Writer) error {
		_, err := fmt.Fprintln(out, "userd", version)
		return err
	}},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "userd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	name := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		usage(stdout)
		return flag.ErrHelp
	}
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, args, stdout)
		}
	}
	usage(os.Stderr)
	return fmt.Errorf("unknown command %q", name)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "userd %s: identity and user data for your applications.\n\nUsage:\n", version)
	for _, c := range commands {
		fmt.Fprintf(w, "  userd %-8s %-24s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nEvery flag also reads an environment variable: --database-url ↔ USERD_DATABASE_URL.")
	fmt.Fprintln(w, "\nFlags of serve:")
	fs, _ := serveFlags()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\n`userd COMMAND --help` lists the flags of the other commands.")
}

// newLogger returns the logger of a command, writing lines of format
// (text or json) to w.
func newLogger(w io.Writer, format string) *slog.Logger {
	o := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}
