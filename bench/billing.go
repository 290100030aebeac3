package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/platform/sqldb"
)

const (
	// benchEvents is how many distinct provider events W14 delivers, and
	// benchDuplicates how often each.
	benchEvents, benchDuplicates = 1_000, 20
	// benchWebhookSecret signs W14's events.
	benchWebhookSecret = "whsec_bench"
	// stripeProvider is the id of the stripe row of payment_providers
	// (the migrations seed it).
	stripeProvider = "00000000-0000-7000-8002-000000000001"
)

// billingWorkloads runs issue 19's workload on a fresh database of the
// engine (go run ./bench -only billing): W14, 1,000 signed Stripe
// subscription events of 1,000 linked customers, each delivered 20 times,
// 32 deliveries at once, the duplicates interleaved; each must be applied
// exactly once (one event row, one subscription, one history row each),
// at ≥ 500 deliveries/s.
func billingWorkloads(ctx context.Context, engine, bin, tmp, dbURL string, users int, d time.Duration, conns int) ([]row, error) {
	tg, err := startTarget(ctx, engine, bin, tmp, dbURL, users)
	if err != nil {
		return nil, err
	}
	defer tg.stop()
	res, err := http.DefaultClient.Do(must(send("PUT", tg.base+"/v1/admin/payment-providers/stripe", tg.session,
		`{"webhook_secret":"`+benchWebhookSecret+`"}`)))
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("set the stripe secret: %s", res.Status)
	}
	if err := linkCustomers(ctx, tg); err != nil {
		return nil, err
	}
	events := make([][]byte, benchEvents)
	for i := range events {
		events[i], err = json.Marshal(map[string]any{"id": fmt.Sprintf("evt_bench_%d", i), "object": "event", "type": "customer.subscription.created",
			"created": time.Now().Unix(), "data": map[string]any{"object": map[string]any{"id": fmt.Sprintf("sub_bench_%d", i),
				"customer": fmt.Sprintf("cus_bench_%d", i), "status": "active",
				"items": map[string]any{"data": []any{map[string]any{"quantity": 1, "price": map[string]any{"id": "price_bench", "lookup_key": "pro"}}}}}}})
		if err != nil {
			return nil, err
		}
	}
	resetPeak(tg.pid)
	deliveries := func(i int64) (*http.Request, error) {
		body := events[i%benchEvents]
		req, err := http.NewRequest("POST", tg.base+"/v1/billing/webhooks/stripe", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Stripe-Signature", billing.SignStripe(body, []byte(benchWebhookSecret), time.Now()))
		}
		return req, err
	}
	done := tg.profile("W14 provider events", 4*time.Second)
	r := loadN(ctx, 32, benchEvents*benchDuplicates, deliveries)
	done()
	fmt.Fprintf(os.Stderr, "  %-24s %s\n", "W14 provider events", r)
	once, err := appliedOnce(ctx, tg)
	if err != nil {
		return nil, err
	}
	return []row{{Workload: fmt.Sprintf("W14 provider events (%d×%d)", benchEvents, benchDuplicates), Engine: engine, result: r,
		Ratio: r.RPS / 500, RatioOf: "500/s", Target: "≥500/s, once", Holds: once && r.RPS >= 500 && r.Errors == 0, PeakRSSMB: peakRSS(tg.pid)}}, nil
}

// linkCustomers gives benchEvents seeded users a Stripe customer each
// (cus_bench_N), as a checkout would have linked them.
func linkCustomers(ctx context.Context, tg *target) error {
	ids, _, _, err := tg.callers(ctx, benchEvents, 0)
	if err != nil {
		return err
	}
	db, err := tg.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	// System: the harness's own seeding.
	return db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		for i, id := range ids {
			if _, err := tx.Exec(ctx, `INSERT INTO payment_accounts (id, user_id, provider_id, customer_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
				userd.NewID(tx.Now), id, stripeProvider, fmt.Sprintf("cus_bench_%d", i), tx.Now); err != nil {
				return fmt.Errorf("link customer %d: %w", i, err)
			}
		}
		return nil
	})
}

// appliedOnce reports whether each event was recorded and applied once:
// one applied event row, one subscription and one history row each.
func appliedOnce(ctx context.Context, tg *target) (bool, error) {
	db, err := tg.open(ctx)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var events, applied, subs, history int
	err = db.SQL().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM billing_events WHERE event_id LIKE 'evt_bench_%'),
		(SELECT count(*) FROM billing_events WHERE event_id LIKE 'evt_bench_%' AND applied),
		(SELECT count(*) FROM subscriptions WHERE subscription_id LIKE 'sub_bench_%'),
		(SELECT count(*) FROM subscription_history h JOIN subscriptions s ON s.id = h.subscription_id WHERE s.subscription_id LIKE 'sub_bench_%')`).
		Scan(&events, &applied, &subs, &history)
	if err != nil {
		return false, fmt.Errorf("count applied events: %w", err)
	}
	fmt.Fprintf(os.Stderr, "  %-24s %d events recorded, %d applied, %d subscriptions, %d history rows; want %d each\n",
		"W14 after", events, applied, subs, history, benchEvents)
	return events == benchEvents && applied == benchEvents && subs == benchEvents && history == benchEvents, nil
}
