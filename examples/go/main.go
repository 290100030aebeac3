// Command example is a minimal service of an application that stands beside
// userd. It accepts userd's access tokens on GET /hello, checked against
// userd's JWKS with client.Verifier, and userd's webhooks on
// POST /webhooks/userd, checked by their Standard Webhooks signature.
//
//	go run ./examples/go --userd-url http://127.0.0.1:8080 --webhook-secret whsec_… --addr 127.0.0.1:3000
//
// and start userd with --webhook-url http://127.0.0.1:3000/webhooks/userd and
// the same --webhook-secret.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/userd/userd/client"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	userdURL := flag.String("userd-url", os.Getenv("USERD_URL"), "userd's public URL (its --public-url), whose JWKS verifies access tokens (env USERD_URL)")
	secret := flag.String("webhook-secret", os.Getenv("USERD_WEBHOOK_SECRET"), "the whsec_… secret of userd's --webhook-secret (env USERD_WEBHOOK_SECRET)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(*addr, *userdURL, *secret, log); err != nil {
		log.Error("example stopped", "err", err)
		os.Exit(1)
	}
}

// run serves the example at addr until SIGINT or SIGTERM.
func run(addr, userdURL, secret string, log *slog.Logger) error {
	key, err := parseSecret(secret)
	if err != nil {
		return err
	}
	if userdURL == "" {
		return errors.New("--userd-url is needed")
	}
	verifier := client.NewVerifier(userdURL, client.VerifierOptions{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", hello(verifier))
	mux.HandleFunc("POST /webhooks/userd", webhook(key, log))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Info("example listening", "addr", addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("listen: %w", err)
	}
	return nil
}

// hello answers the user that a valid access token names, with the roles it
// carries; 401 without one.
func hello(v *client.Verifier) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			unauthorized(w, "missing_token")
			return
		}
		claims, err := v.VerifyAccessToken(r.Context(), raw)
		switch {
		case errors.Is(err, client.ErrTokenExpired):
			unauthorized(w, "token_expired")
			return
		case errors.Is(err, client.ErrInvalidToken):
			unauthorized(w, "invalid_token")
			return
		case err != nil: // userd's JWKS could not be read
			http.Error(w, "cannot check tokens now", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"user_id": claims.Subject, "roles": claims.Roles, "admin": claims.Admin})
	}
}

// unauthorized answers 401 with a bearer challenge that names the fault.
func unauthorized(w http.ResponseWriter, code string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
	http.Error(w, code, http.StatusUnauthorized)
}

// webhook accepts userd's webhooks whose signature holds, logs their type
// and id (never their data, which may carry a synchronization's token) and
// answers 204; anything else is 400. A real service would act on the event
// once per webhook-id, which stays the same on retries.
func webhook(key []byte, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := verifyWebhook(key, r.Header, body, time.Now()); err != nil {
			log.Warn("webhook refused", "err", err)
			http.Error(w, "invalid signature", http.StatusBadRequest)
			return
		}
		var ev struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		log.Info("webhook received", "type", ev.Type, "id", r.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusNoContent)
	}
}

// tolerance bounds how far a webhook's timestamp may be from now, against
// replays of old deliveries.
const tolerance = 5 * time.Minute

// parseSecret returns the key of a whsec_… secret.
func parseSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New("--webhook-secret must be whsec_ and a base64 key")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, errors.New("--webhook-secret must be whsec_ and a base64 key")
	}
	return key, nil
}

// verifyWebhook checks a delivery by the Standard Webhooks specification:
// webhook-signature lists space-separated `v1,<base64 HMAC-SHA256>` of
// "webhook-id.webhook-timestamp.body" under key; one must match, and the
// timestamp must be within tolerance of now.
func verifyWebhook(key []byte, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("malformed webhook-timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook-timestamp too far from now")
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		b64, ok := strings.CutPrefix(s, "v1,")
		if !ok {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}
