// Package webhook delivers events to the application as Standard Webhooks:
// a JSON body signed with HMAC-SHA256 over the message id, the timestamp and
// the body, in the webhook-id, webhook-timestamp and webhook-signature
// headers. Each attempt is recorded in webhook_deliveries.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// SecretPrefix starts a Standard Webhooks secret: whsec_ and the base64 key.
const SecretPrefix = "whsec_"

// Sender posts events to one URL.
type Sender struct {
	db     *sqldb.DB
	url    string
	key    []byte
	client *http.Client
	counts [outcomes]atomic.Uint64 // attempts by outcome
}

// The outcomes of a delivery attempt, as Counts names them.
const (
	delivered = iota // a 2xx answer
	failed           // a network error, or an answer that is not 2xx
	skipped          // no --webhook-url: recorded, not sent
	outcomes
)

// OutcomeNames names the outcomes of a delivery attempt: Counts()[i] is the
// count of OutcomeNames[i].
var OutcomeNames = [outcomes]string{delivered: "delivered", failed: "failed", skipped: "skipped"}

// Counts returns how many delivery attempts this Sender made since it was
// made, by outcome (see OutcomeNames).
func (s *Sender) Counts() [outcomes]uint64 {
	var out [outcomes]uint64
	for i := range s.counts {
		out[i] = s.counts[i].Load()
	}
	return out
}

// ParseSecret reads a whsec_… secret.
func ParseSecret(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil || !strings.HasPrefix(s, SecretPrefix) || len(key) < 24 {
		return nil, fmt.Errorf("a webhook secret is whsec_ and at least 24 bytes in base64")
	}
	return key, nil
}

// New returns a Sender to url signing with key; an empty url makes a Sender
// that records each event as skipped.
func New(db *sqldb.DB, url string, key []byte) *Sender {
	return &Sender{db: db, url: url, key: key, client: &http.Client{Timeout: 15 * time.Second}}
}

// Sign returns the webhook-signature header value for a message.
func Sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Event is what a webhook carries.
type Event struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// Send delivers an event once and records the attempt. msgID stays the same
// across the retries of one event, so the receiver can drop duplicates. A
// non-2xx answer or a network failure is an error (the job retries).
func (s *Sender) Send(ctx context.Context, jobID, msgID string, attempt int, ev Event) error {
	now := s.db.Now()
	ev.Timestamp = now
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", ev.Type, err)
	}
	if s.url == "" {
		s.counts[skipped].Add(1)
		return s.record(ctx, jobID, msgID, ev.Type, attempt, 0, "skipped: no --webhook-url", 0)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", ev.Type, err)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "userd-webhooks")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(s.key, msgID, ts, body))
	start := time.Now()
	res, err := s.client.Do(req)
	took := time.Since(start)
	status, failure := 0, ""
	if err != nil {
		failure = err.Error()
	} else {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		status = res.StatusCode
		if status < 200 || status > 299 {
			failure = "answered " + res.Status
		}
	}
	if failure != "" {
		s.counts[failed].Add(1)
	} else {
		s.counts[delivered].Add(1)
	}
	if rerr := s.record(ctx, jobID, msgID, ev.Type, attempt, status, failure, took); rerr != nil {
		return rerr
	}
	if failure != "" {
		return fmt.Errorf("webhook %s to %s: %s", ev.Type, s.url, failure)
	}
	return nil
}

func (s *Sender) record(ctx context.Context, jobID, msgID, typ string, attempt, status int, failure string, took time.Duration) error {
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var code any
		if status != 0 {
			code = status
		}
		_, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (id, job_id, message_id, event_type, url, attempt, status_code, error, duration_ms, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			userd.NewID(tx.Now), jobID, msgID, typ, s.url, attempt, code, sqldb.Nullable(failure), took.Milliseconds(), tx.Now)
		if err != nil {
			return fmt.Errorf("record webhook delivery: %w", err)
		}
		return nil
	})
}

// Retention is how long the record of a delivery is kept.
const Retention = 30 * 24 * time.Hour

// Expire deletes delivery records older than Retention.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM webhook_deliveries WHERE created_at < $1`, now.Add(-Retention))
}
