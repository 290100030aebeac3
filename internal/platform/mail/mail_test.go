package mail

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"
)

// TestTLSPolicy: smtp:// requires STARTTLS unless the host is on loopback
// or the URL says tls=opportunistic.
func TestTLSPolicy(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want gomail.TLSPolicy
	}{
		{"smtp://mail.example.com", gomail.TLSMandatory},
		{"smtp://user:pass@mail.example.com:587", gomail.TLSMandatory},
		{"smtp://10.0.0.1:25", gomail.TLSMandatory},
		{"smtp://[2001:db8::1]:25", gomail.TLSMandatory},
		{"smtp://localhost.example.com", gomail.TLSMandatory},
		{"smtp://mail.example.com?tls=opportunistic", gomail.TLSOpportunistic},
		{"smtp://127.0.0.1:2525", gomail.TLSOpportunistic},
		{"smtp://127.8.9.10", gomail.TLSOpportunistic},
		{"smtp://[::1]:25", gomail.TLSOpportunistic},
		{"smtp://localhost:25", gomail.TLSOpportunistic},
		{"smtp://LocalHost", gomail.TLSOpportunistic},
		{"smtp://127.0.0.1?tls=mandatory", gomail.TLSMandatory},
	} {
		u, _ := url.Parse(tt.url)
		if got, err := tlsPolicy(u); err != nil || got != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.url, got, err, tt.want)
		}
	}
}

// TestNewSMTPRefuses: bad schemes, ports and parameters are refused.
func TestNewSMTPRefuses(t *testing.T) {
	for _, raw := range []string{
		"http://mail.example.com", "smtp://", "smtp://mail.example.com:port",
		"smtp://mail.example.com?tls=none", "smtp://mail.example.com?tls=", "smtp://mail.example.com?starttls=no",
		"smtps://mail.example.com?tls=opportunistic",
	} {
		if _, err := NewSMTP(raw, "userd <no-reply@example.com>"); err == nil {
			t.Errorf("%s: no error", raw)
		}
	}
	for _, raw := range []string{"smtp://mail.example.com", "smtps://mail.example.com", "smtp://u:p@127.0.0.1:2525?tls=opportunistic"} {
		if _, err := NewSMTP(raw, "userd <no-reply@example.com>"); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

// TestSendOverLoopback: a server on loopback that offers no STARTTLS gets
// the mail by default, and none when the URL says tls=mandatory.
func TestSendOverLoopback(t *testing.T) {
	got := make(chan string, 1)
	srv := smtp.NewServer(backend(got))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	msg := Message{To: "ann@example.com", Subject: "Hello", Text: "hello"}
	send := func(raw string) error {
		s, err := NewSMTP(raw, "userd <no-reply@example.com>")
		if err != nil {
			t.Fatal(err)
		}
		return s.Send(context.Background(), msg)
	}
	if err := send("smtp://" + ln.Addr().String()); err != nil {
		t.Fatalf("send on loopback: %v", err)
	}
	if data := <-got; !strings.Contains(data, "Subject: Hello") {
		t.Fatalf("received %q", data)
	}
	if err := send("smtp://" + ln.Addr().String() + "?tls=mandatory"); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("send without STARTTLS under tls=mandatory: %v; want a STARTTLS error", err)
	}
	select {
	case data := <-got:
		t.Fatalf("the server received %q in clear", data)
	default:
	}
}

// backend is an SMTP server's backend that passes each mail's data to a
// channel.
type backend chan string

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return session(b), nil }

type session chan string

func (session) Mail(string, *smtp.MailOptions) error { return nil }
func (session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (session) Reset()                               {}
func (session) Logout() error                        { return nil }
func (s session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s <- string(b)
	return err
}
