package web_test

import (
	"bytes"
	"io"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime"

	"github.com/userd/userd/internal/platform/mail"
)

// mailbox is a real SMTP server on loopback that keeps what it receives.
type mailbox struct {
	t    testing.TB
	addr string
	got  chan *enmime.Envelope
}

func newMailbox(t testing.TB) *mailbox {
	t.Helper()
	mb := &mailbox{t: t, got: make(chan *enmime.Envelope, 100)}
	srv := smtp.NewServer(mb)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mb
}

// sender returns userd's SMTP sender pointed at the mailbox.
func (mb *mailbox) sender() mail.Sender {
	s, err := mail.NewSMTP("smtp://"+mb.addr, "userd <no-reply@userd.test>")
	if err != nil {
		mb.t.Fatal(err)
	}
	return s
}

func (mb *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{mb: mb}, nil }

type smtpSession struct{ mb *mailbox }

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	s.mb.got <- env
	return nil
}

// next waits for the next mail.
func (mb *mailbox) next() *enmime.Envelope {
	mb.t.Helper()
	select {
	case env := <-mb.got:
		return env
	case <-time.After(10 * time.Second):
		mb.t.Fatal("no mail arrived")
		return nil
	}
}

// none checks that no mail arrives for a while.
func (mb *mailbox) none(wait time.Duration) {
	mb.t.Helper()
	select {
	case env := <-mb.got:
		mb.t.Fatalf("unexpected mail %q to %s", env.GetHeader("Subject"), env.GetHeader("To"))
	case <-time.After(wait):
	}
}

var tokenLink = regexp.MustCompile(`(https?://[^\s"<>]+)\?token=([A-Za-z0-9_%-]+)`)

// link returns the link of a mail and its token, checking that the text and
// HTML bodies carry the same one.
func link(t testing.TB, env *enmime.Envelope) (base, tok string) {
	t.Helper()
	m := tokenLink.FindStringSubmatch(env.Text)
	if m == nil {
		t.Fatalf("no link with a token in the text body:\n%s", env.Text)
	}
	if !bytes.Contains([]byte(env.HTML), []byte(m[2])) {
		t.Fatal("the HTML body lacks the token of the text body")
	}
	return m[1], m[2]
}
