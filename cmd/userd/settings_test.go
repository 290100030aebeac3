package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestSettingsHideSecrets serves with a secret in every place a flag or the
// environment can hold one, signs in to the console and reads its settings
// page: it lists the flags with their effective values, and no secret's
// value appears on it, not even in part.
func TestSettingsHideSecrets(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			secrets := map[string]string{
				"master key":       base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("m"), 32)),
				"smtp password":    "SmtpPass4417",
				"stripe secret":    "whsec_StripeSecret9921",
				"webhook secret":   "whsec_" + base64.StdEncoding.EncodeToString([]byte("webhook signing key 0123456789")),
				"webhook path":     "HookPath7731",
				"webhook token":    "HookToken5519",
				"oidc secret":      "OidcClientSecret3390",
				"database":         "PgPassword8812",
				"database sslpass": "PgSSLPassword2207",
			}
			t.Setenv("USERD_MASTER_KEY", secrets["master key"])
			t.Setenv("USERD_STRIPE_WEBHOOK_SECRET", secrets["stripe secret"])
			db := dbArgs(t, engine)
			if engine == "postgres" {
				u, _ := url.Parse(db[len(db)-1])
				u.User = url.UserPassword("postgres", secrets["database"])
				q := u.Query()
				q.Set("sslpassword", secrets["database sslpass"])
				u.RawQuery = q.Encode()
				db[len(db)-1] = u.String()
			}
			if err := run(context.Background(), append([]string{"users", "create", "--email", "root@example.com", "--password", "correct horse battery",
				"--role", "ADMIN"}, db...), io.Discard); err != nil {
				t.Fatal(err)
			}
			addr := freeAddr(t)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			args := append([]string{"serve", "--addr", addr, "--rate-limits", "off",
				"--smtp-url", "smtp://mailer:" + secrets["smtp password"] + "@127.0.0.1:2525",
				"--webhook-url", "http://127.0.0.1:9/hooks/" + secrets["webhook path"] + "?token=" + secrets["webhook token"],
				"--webhook-secret", secrets["webhook secret"],
				"--oidc-provider", "github,,client-id-1," + secrets["oidc secret"]}, db...)
			go func() { done <- run(ctx, args, io.Discard) }()
			defer func() { cancel(); <-done }()
			base := "http://" + addr
			waitHealthy(t, base)

			jar := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest("POST", base+"/admin/login", strings.NewReader(url.Values{"identifier": {"root@example.com"}, "password": {"correct horse battery"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
			res, err := jar.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther || len(res.Cookies()) == 0 {
				t.Fatalf("console log-in = %d", res.StatusCode)
			}
			req, _ = http.NewRequest("GET", base+"/admin/settings", nil)
			req.AddCookie(res.Cookies()[0])
			res, err = jar.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			page := string(raw)
			if res.StatusCode != 200 {
				t.Fatalf("settings = %d %s", res.StatusCode, page)
			}
			for name, secret := range secrets {
				for _, part := range []string{secret, secret[len(secret)-8:], url.QueryEscape(secret)} {
					if strings.Contains(page, part) {
						t.Errorf("the settings page shows the %s (%q)", name, part)
					}
				}
			}
			for _, want := range []string{
				"<td><code>--addr</code></td><td>" + addr + "</td><td>given</td>",
				"<td><code>--smtp-url</code></td><td>smtp://mailer:xxxxx@127.0.0.1:2525</td><td>given</td>",
				"<td><code>--stripe-webhook-secret</code></td><td>(hidden)</td><td>given</td>",
				"<td><code>--webhook-secret</code></td><td>(hidden)</td><td>given</td>",
				"<td><code>--webhook-url</code></td><td>http://127.0.0.1:9/%28hidden%29?token=%28hidden%29</td>",
				"<td><code>--oidc-provider</code></td><td>github,,client-id-1,(hidden)</td>",
				"<td><code>--session-lifetime</code></td><td>720h0m0s</td><td>default</td>",
				"the environment (USERD_MASTER_KEY)", "Database engine</dt><dd>" + engine + " ",
			} {
				if !strings.Contains(page, want) {
					t.Errorf("the settings page lacks %s", want)
				}
			}
			if engine == "postgres" && !strings.Contains(page, "<td><code>--database-url</code></td><td>postgres://postgres:xxxxx@127.0.0.1:") {
				t.Error("the settings page lacks the database URL without its password")
			}
			if strings.Contains(page, "reveal-max-auth-age") {
				t.Error("the settings page lists a former flag name")
			}
		})
	}
}
