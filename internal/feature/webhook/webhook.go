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
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
		return s.record(ctx, attemptRecord{jobID: jobID, msgID: msgID, typ: ev.Type, url: s.url, attempt: attempt, failure: "skipped: no --webhook-url"})
	}
	o := post(ctx, s.client, s.url, [][]byte{s.key}, msgID, now.Unix(), body)
	s.count(o)
	if err := s.record(ctx, attemptRecord{jobID: jobID, msgID: msgID, typ: ev.Type, url: s.url, attempt: attempt, outcome: o}); err != nil {
		return err
	}
	if o.Failure != "" {
		return fmt.Errorf("webhook %s to %s: %s", ev.Type, s.url, o.Failure)
	}
	return nil
}

// count adds an attempt's outcome to the Sender's counts.
func (s *Sender) count(o Outcome) {
	if o.Failure != "" {
		s.counts[failed].Add(1)
	} else {
		s.counts[delivered].Add(1)
	}
}

// Outcome is how one attempt at a delivery ended.
type Outcome struct {
	StatusCode int           // the HTTP status answered; 0 for none
	Failure    string        // why it failed; "" for a 2xx answer
	Took       time.Duration // from the request to the answer
}

// SignAll returns the webhook-signature header value for a message signed
// by every key, space-separated, as Standard Webhooks allows while a secret
// is rotated.
func SignAll(keys [][]byte, id string, ts int64, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, ts, body)
	}
	return strings.Join(sigs, " ")
}

// post sends a signed message once: the Standard Webhooks headers, one
// signature per key.
func post(ctx context.Context, client *http.Client, url string, keys [][]byte, msgID string, ts int64, body []byte) Outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Outcome{Failure: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "userd-webhooks")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", SignAll(keys, msgID, ts, body))
	start := time.Now()
	res, err := client.Do(req)
	o := Outcome{Took: time.Since(start)}
	if err != nil {
		o.Failure = err.Error()
		return o
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	o.StatusCode = res.StatusCode
	if o.StatusCode < 200 || o.StatusCode > 299 {
		o.Failure = "answered " + res.Status
	}
	return o
}

// attemptRecord is a row of webhook_deliveries.
type attemptRecord struct {
	jobID, msgID, typ, url, endpointID string
	attempt                            int
	outcome                            Outcome
	failure                            string // a failure without an attempt (skipped)
}

func (s *Sender) record(ctx context.Context, r attemptRecord) error {
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return insertAttempt(ctx, tx, r) })
}

func insertAttempt(ctx context.Context, tx *sqldb.Tx, r attemptRecord) error {
	var code any
	if r.outcome.StatusCode != 0 {
		code = r.outcome.StatusCode
	}
	failure := r.outcome.Failure
	if r.failure != "" {
		failure = r.failure
	}
	_, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (id, job_id, message_id, event_type, url, endpoint_id, attempt, status_code, error, duration_ms, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		userd.NewID(tx.Now), r.jobID, r.msgID, r.typ, r.url, sqldb.Nullable(r.endpointID), r.attempt, code, sqldb.Nullable(truncate(failure, 1000)), r.outcome.Took.Milliseconds(), tx.Now)
	if err != nil {
		return fmt.Errorf("record webhook delivery: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Retention is how long the record of a delivery is kept.
const Retention = 30 * 24 * time.Hour

// Expire deletes delivery records older than Retention.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM webhook_deliveries WHERE created_at < $1`, now.Add(-Retention))
}

// CheckURL refuses a webhook URL that would carry events in clear over a
// network: an http(s) URL with a host, https unless the host is loopback.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("a webhook URL is an http(s) URL")
	}
	if u.Scheme == "http" && !userd.Loopback(u.Hostname()) {
		return errors.New("a webhook URL is https unless it is on loopback: webhooks carry user data and tokens")
	}
	return nil
}
