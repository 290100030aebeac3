package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// smtpBox is a real SMTP server on loopback that keeps what it receives.
type smtpBox struct {
	addr string
	got  chan *enmime.Envelope
}

func newSMTPBox(t *testing.T) *smtpBox {
	t.Helper()
	b := &smtpBox{got: make(chan *enmime.Envelope, 10)}
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

func (b *smtpBox) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpBoxSession{b}, nil }

type smtpBoxSession struct{ b *smtpBox }

func (s *smtpBoxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpBoxSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpBoxSession) Reset()                               {}
func (s *smtpBoxSession) Logout() error                        { return nil }
func (s *smtpBoxSession) Data(r io.Reader) error {
	env, err := enmime.ReadEnvelope(r)
	if err != nil {
		return err
	}
	s.b.got <- env
	return nil
}

// post sends a JSON body and returns the status.
func post(t *testing.T, u, body string) int {
	t.Helper()
	res, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// hangUp returns the address of a listener of the test's own that closes
// every connection at once: an SMTP server that refuses every attempt
// straight away. (A port merely left free could be taken meanwhile by
// another test's server, which would hold each attempt until the client's
// timeout.)
func hangUp(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

var resetLink = regexp.MustCompile(`/reset-password\?token=([A-Za-z0-9_%-]+)`)

// TestMailSurvivesSIGKILL: a process whose SMTP server refuses it answers
// a forgotten password with 202 and is killed (SIGKILL) once its first
// attempt has failed; no mail has left.
// The mail waits in the database, sealed; a second process, pointed at a
// working SMTP server, delivers it, and its link's token resets the
// password.
func TestMailSurvivesSIGKILL(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			db := dbArgs(t, engine)
			refused := "smtp://" + hangUp(t)
			first := startUserd(t, append([]string{"--smtp-url", refused, "--argon2-memory", "64", "--argon2-time", "1"}, db...)...)
			base := first.base
			if s := post(t, base+"/v1/auth/signup", `{"email":"kill@example.com","password":"correct horse battery"}`); s != http.StatusCreated {
				t.Fatalf("sign-up = %d", s)
			}
			if s := post(t, base+"/v1/auth/password/forgot", `{"email":"kill@example.com"}`); s != http.StatusAccepted {
				t.Fatalf("forgot password = %d", s)
			}
			// Killed once both mails' first attempts have failed and let go
			// of their jobs: a process killed while it holds a mail's lease
			// delays that mail by the lease (a minute), longer than this test
			// waits.
			store, err := dbtest.OpenAt(context.Background(), engine, dbWhere(t, engine, db))
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				var released int
				err := store.SQL().QueryRow(`SELECT count(*) FROM jobs WHERE kind = 'mail.deliver' AND done_at IS NULL AND attempts >= 1 AND locked_by IS NULL`).Scan(&released)
				if err == nil && released == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the first attempts never ended: %d of 2 released, %v", released, err)
				}
			}
			first.cmd.Process.Kill()       // SIGKILL
			first.exited <- <-first.exited // dead; the value kept for the cleanup's wait

			// What the dead process left: both mails queued, their bodies
			// sealed.
			var queued int
			var sealed []byte
			err = store.SQL().QueryRow(`SELECT (SELECT count(*) FROM mail_deliveries WHERE status = 'queued'), body_sealed FROM mail_deliveries WHERE kind = 'reset_password'`).
				Scan(&queued, &sealed)
			if err != nil || queued != 2 || len(sealed) == 0 || bytes.Contains(sealed, []byte("udp_")) || bytes.Contains(sealed, []byte("reset-password")) {
				t.Fatalf("after the kill: %d queued, sealed body %q, %v; want 2 queued, the body sealed", queued, sealed, err)
			}

			box := newSMTPBox(t)
			base = startUserd(t, append([]string{"--smtp-url", "smtp://" + box.addr, "--argon2-memory", "64", "--argon2-time", "1"}, db...)...).base
			var tok string
			deadline := time.After(25 * time.Second) // the first attempt's backoff is 10 s
			for tok == "" {
				select {
				case env := <-box.got:
					if m := resetLink.FindStringSubmatch(env.Text); env.GetHeader("Subject") == "Reset your password" && m != nil {
						if tok, err = url.QueryUnescape(m[1]); err != nil {
							t.Fatal(err)
						}
					}
				case <-deadline:
					t.Fatal("the reset mail never arrived")
				}
			}
			if s := post(t, base+"/v1/auth/password/reset", `{"token":"`+tok+`","password":"a brand new passphrase"}`); s != http.StatusNoContent {
				t.Fatalf("reset with the mailed token = %d", s)
			}
			if s := post(t, base+"/v1/auth/login", `{"identifier":"kill@example.com","password":"a brand new passphrase"}`); s != http.StatusOK {
				t.Fatalf("log-in with the new password = %d", s)
			}
		})
	}
}

// dbWhere returns where the database of dbArgs's flags is: the SQLite
// file in the data folder, or the PostgreSQL URL.
func dbWhere(t *testing.T, engine string, args []string) string {
	t.Helper()
	for i, a := range args {
		if engine == "postgres" && a == "--database-url" {
			return args[i+1]
		}
		if engine == "sqlite" && a == "--data-dir" {
			return filepath.Join(args[i+1], "userd.db")
		}
	}
	t.Fatalf("no database in %v", args)
	return ""
}
