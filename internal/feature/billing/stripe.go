package billing

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far a Stripe-Signature's timestamp may be from the
// clock, either way, as Stripe's libraries allow by default.
const Tolerance = 5 * time.Minute

// VerifyStripe checks a Stripe-Signature header against the raw body as
// Stripe documents it: the header holds t=TIMESTAMP and one or more
// v1=SIGNATURE (other schemes are ignored); one v1 must be the hex
// HMAC-SHA256, keyed with the endpoint's secret, of "TIMESTAMP.BODY"
// (compared in constant time), and the timestamp must be within Tolerance
// of now. It returns ErrInvalidSignature otherwise.
func VerifyStripe(header string, body, secret []byte, now time.Time) error {
	var ts int64 = -1
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				ts = n
			}
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if ts < 0 || len(sigs) == 0 || len(secret) == 0 {
		return ErrInvalidSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return ErrInvalidSignature
	}
	want := stripeMAC(ts, body, secret)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return ErrInvalidSignature
}

// SignStripe returns a Stripe-Signature header for body at t, as Stripe
// signs its deliveries: what a test or a tool sends to userd.
func SignStripe(body, secret []byte, t time.Time) string {
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(stripeMAC(t.Unix(), body, secret)))
}

// stripeMAC is the HMAC-SHA256, keyed with secret, of "TIMESTAMP.BODY":
// what a v1 signature holds.
func stripeMAC(ts int64, body, secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(strconv.AppendInt(nil, ts, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// stripeEvent is what userd reads of a Stripe event.
type stripeEvent struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// stripeSubscription is what userd reads of a Stripe subscription. The
// periods moved to the items in later API versions: both are read.
type stripeSubscription struct {
	ID                 string            `json:"id"`
	Customer           string            `json:"customer"`
	Status             string            `json:"status"`
	Quantity           *int64            `json:"quantity"`
	CurrentPeriodStart int64             `json:"current_period_start"`
	CurrentPeriodEnd   int64             `json:"current_period_end"`
	CancelAtPeriodEnd  bool              `json:"cancel_at_period_end"`
	CanceledAt         int64             `json:"canceled_at"`
	TrialEnd           int64             `json:"trial_end"`
	Metadata           map[string]string `json:"metadata"`
	Plan               *struct {
		ID string `json:"id"`
	} `json:"plan"`
	Items struct {
		Data []struct {
			Quantity           int64 `json:"quantity"`
			CurrentPeriodStart int64 `json:"current_period_start"`
			CurrentPeriodEnd   int64 `json:"current_period_end"`
			Price              struct {
				ID        string `json:"id"`
				LookupKey string `json:"lookup_key"`
			} `json:"price"`
		} `json:"data"`
	} `json:"items"`
}

// stripeCheckout is what userd reads of a completed Checkout Session.
type stripeCheckout struct {
	Customer          string            `json:"customer"`
	ClientReferenceID string            `json:"client_reference_id"`
	Metadata          map[string]string `json:"metadata"`
}

// stripeInvoice is what userd reads of an invoice: its customer and its
// subscription (at the top in older API versions, under parent in later).
type stripeInvoice struct {
	Customer     string `json:"customer"`
	Subscription string `json:"subscription"`
	Parent       *struct {
		SubscriptionDetails *struct {
			Subscription string `json:"subscription"`
		} `json:"subscription_details"`
	} `json:"parent"`
}

// subscription returns the invoice's subscription id, "" for none.
func (i stripeInvoice) subscription() string {
	if i.Subscription == "" && i.Parent != nil && i.Parent.SubscriptionDetails != nil {
		return i.Parent.SubscriptionDetails.Subscription
	}
	return i.Subscription
}

// state returns the subscription as userd keeps it. The plan is the
// metadata's userd_plan, else the first price's lookup key, else its id,
// else the legacy plan's id.
func (s stripeSubscription) state() State {
	st := State{Status: s.Status, Quantity: 1, CancelAtPeriodEnd: s.CancelAtPeriodEnd, Metadata: s.Metadata,
		PeriodStart: unix(s.CurrentPeriodStart), PeriodEnd: unix(s.CurrentPeriodEnd), CanceledAt: unix(s.CanceledAt), TrialEnd: unix(s.TrialEnd)}
	st.Plan = s.Metadata["userd_plan"]
	if len(s.Items.Data) > 0 {
		it := s.Items.Data[0]
		st.Plan = cmp.Or(st.Plan, it.Price.LookupKey, it.Price.ID)
		if it.Quantity > 0 {
			st.Quantity = it.Quantity
		}
		if st.PeriodStart == nil {
			st.PeriodStart, st.PeriodEnd = unix(it.CurrentPeriodStart), unix(it.CurrentPeriodEnd)
		}
	}
	if s.Plan != nil {
		st.Plan = cmp.Or(st.Plan, s.Plan.ID)
	}
	if s.Quantity != nil && *s.Quantity > 0 {
		st.Quantity = *s.Quantity
	}
	return st
}

// unix returns a Unix time in seconds, nil for 0.
func unix(s int64) *time.Time {
	if s == 0 {
		return nil
	}
	t := time.Unix(s, 0).UTC()
	return &t
}
