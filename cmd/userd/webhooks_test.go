package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestWebhookSurvivesSIGKILL: a user signs up, and the process is killed
// with SIGKILL at once, before the user.created event reached the endpoint
// that --webhook-url defines (which refuses everything until then). The
// event was committed with the user: a new process delivers it, signed,
// with the webhook-id that the outbox gave it.
func TestWebhookSurvivesSIGKILL(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			var mu sync.Mutex
			accept := false
			type message struct {
				id, typ, userID string
				status          int
			}
			var got []message
			receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				id := r.Header.Get("webhook-id")
				ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
				if r.Header.Get("webhook-signature") != webhook.Sign(key, id, ts, body) {
					t.Errorf("bad signature on %s", id)
				}
				var ev struct {
					Type string `json:"type"`
					Data struct {
						UserID string `json:"user_id"`
					} `json:"data"`
				}
				json.Unmarshal(body, &ev)
				mu.Lock()
				defer mu.Unlock()
				m := message{id: id, typ: ev.Type, userID: ev.Data.UserID, status: http.StatusServiceUnavailable}
				if accept {
					m.status = http.StatusNoContent
				}
				got = append(got, m)
				w.WriteHeader(m.status)
			}))
			defer receiver.Close()

			dataDir := filepath.Join(t.TempDir(), "data")
			args := []string{"--data-dir", dataDir, "--rate-limits", "off", "--argon2-memory", "64", "--argon2-time", "1",
				"--webhook-url", receiver.URL + "/hooks", "--webhook-secret", secret}
			where := filepath.Join(dataDir, "userd.db")
			if engine == "postgres" {
				where = dbtest.NewPostgresURL(t, false)
				args = append(args, "--database-url", where)
			}
			p := startUserd(t, args...)
			_, userID := signupVia(t, p.base, "ann@example.com")
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-p.exited
			p.exited <- nil // for the cleanup

			db, err := dbtest.OpenAt(context.Background(), engine, where)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var eventID string
			if err := db.SQL().QueryRow(`SELECT id FROM webhook_events WHERE type = 'user.created'`).Scan(&eventID); err != nil {
				t.Fatalf("the user.created event was not committed with the user: %v", err)
			}
			mu.Lock()
			accept = true
			before := len(got)
			mu.Unlock()

			startUserd(t, args...)
			// A first attempt that failed waits its backoff (10 s); a job
			// the killed process had claimed waits out its lease.
			deadline := time.Now().Add(webhook.Lease + 20*time.Second)
			for {
				mu.Lock()
				var ok *message
				for i, m := range got {
					if m.status == http.StatusNoContent && m.typ == "user.created" {
						ok = &got[i]
					}
				}
				mu.Unlock()
				if ok != nil {
					if ok.id != eventID || ok.userID != userID {
						t.Fatalf("delivered %+v; want webhook-id %s for user %s", *ok, eventID, userID)
					}
					t.Logf("%d attempts before the kill; delivered after the restart", before)
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("user.created was not delivered after the restart; received %+v", got)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
