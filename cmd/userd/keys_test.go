package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// startServe runs `userd serve` with args until the returned stop.
func startServe(t *testing.T, args []string) (string, func() error) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr, "--rate-limits", "off", "--argon2-memory", "64", "--argon2-time", "1"}, args...), io.Discard)
	}()
	base := "http://" + addr
	select {
	case err := <-done:
		cancel()
		return "", func() error { return err }
	default:
	}
	waitOrFail := func() error { cancel(); return <-done }
	for range 300 {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			return base, waitOrFail
		}
		select {
		case err := <-done:
			cancel()
			return "", func() error { return err }
		default:
		}
		sleep()
	}
	t.Fatal("serve never answered")
	return "", nil
}

func call(t *testing.T, method, url, tok string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s = %d %v", method, url, res.StatusCode, out)
	}
	return out
}

func keyFile(t *testing.T, name string) string {
	k := make([]byte, 32)
	rand.Read(k)
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(k)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMasterKeyRotation: secrets sealed under key A are re-sealed under key
// B (resumably: a second run has nothing left), after which userd runs with
// B alone and still opens them, and no longer starts with A alone.
func TestMasterKeyRotation(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := dbArgs(t, engine)
			a, b := keyFile(t, "a.key"), keyFile(t, "b.key")
			base, stop := startServe(t, append(db, "--master-key-file", a))
			tok := call(t, "POST", base+"/v1/auth/signup", "", map[string]any{"email": "ann@example.com", "password": "correct horse battery"})["session"].(map[string]any)["token"].(string)
			acct := call(t, "POST", base+"/v1/me/accounts", tok, map[string]any{"account_name": "main"})["id"].(string)
			call(t, "PUT", base+"/v1/me/accounts/"+acct+"/credentials/api_key", tok, map[string]any{"secret": "s3cr3t-value-123"})
			call(t, "POST", base+"/v1/me/synchronizations", tok, map[string]any{"service": "X", "account_id": "1", "token": "sync-token"})
			if err := stop(); err != nil {
				t.Fatal(err)
			}

			var out bytes.Buffer
			if err := run(context.Background(), append([]string{"keys", "rotate", "--master-key-file", b, "--old-master-key-file", a}, db...), &out); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"signing_keys.private_key: 1 of 1", "user_credentials.secret: 1 of 1", "synchronizations.token: 1 of 1", "new signing key"} {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("rotate output lacks %q:\n%s", want, out.String())
				}
			}
			out.Reset()
			if err := run(context.Background(), append([]string{"keys", "rotate", "--master-key-file", b}, db...), &out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "user_credentials.secret: 0 of 1") {
				t.Fatalf("a second rotation re-sealed again:\n%s", out.String())
			}

			base, stop = startServe(t, append(db, "--master-key-file", b))
			fresh := call(t, "POST", base+"/v1/auth/login", "", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"})["session"].(map[string]any)["token"].(string)
			if got := call(t, "POST", base+"/v1/me/accounts/"+acct+"/credentials/api_key/reveal", fresh, nil)["secret"]; got != "s3cr3t-value-123" {
				t.Fatalf("reveal under the new key = %v", got)
			}
			stop()
			if _, stop := startServe(t, append(db, "--master-key-file", a)); stop() == nil {
				t.Fatal("userd started with the old master key alone")
			}
		})
	}
}
