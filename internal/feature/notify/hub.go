package notify

import (
	"context"
	"strings"
	"sync"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Hub fans the announcements of new notifications (or, fed by RunOn,
// another channel's) out to the streams that this process holds open, per
// user, at most MaxPerUser of them for one
// user.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*Subscription]struct{}
}

// Subscription receives the ids of a user's new notifications. C closes
// when the subscriber falls too far behind (it should resume from the last
// id it sent) or when it is cancelled.
type Subscription struct {
	C      chan string
	hub    *Hub
	userID string
	once   sync.Once
}

// subBuffer is how many ids a subscriber may lag before it is cut off.
const subBuffer = 256

// MaxPerUser is how many subscriptions one user may hold open in a Hub, that
// is in one process: each holds a connection and a goroutine.
const MaxPerUser = 20

// ErrTooManyStreams is returned by Subscribe when the user already holds
// MaxPerUser subscriptions.
var ErrTooManyStreams = userd.Errorf(userd.KindRateLimited, "too_many_streams",
	"This account has too many streams of this kind open; close one first.")

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[*Subscription]struct{}{}} }

// Run feeds the hub from the database's announcements of notifications
// until ctx ends.
func (h *Hub) Run(ctx context.Context, db *sqldb.DB) error { return h.RunOn(ctx, db, Channel) }

// RunOn feeds the hub from the announcements "USER_ID:ID" of another
// channel (a collection's changes) until ctx ends.
func (h *Hub) RunOn(ctx context.Context, db *sqldb.DB, channel string) error {
	return db.Listen(ctx, channel, h.deliver)
}

// deliver hands an announcement "user_id:id" to the user's subscribers.
func (h *Hub) deliver(payload string) {
	userID, id, ok := strings.Cut(payload, ":")
	if !ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[userID] {
		select {
		case s.C <- id:
		default:
			s.closeLocked()
		}
	}
}

// Subscribe starts receiving a user's new notification ids. It returns
// ErrTooManyStreams when the user already holds MaxPerUser subscriptions.
func (h *Hub) Subscribe(userID string) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs[userID]) >= MaxPerUser {
		return nil, ErrTooManyStreams
	}
	s := &Subscription{C: make(chan string, subBuffer), hub: h, userID: userID}
	if h.subs[userID] == nil {
		h.subs[userID] = map[*Subscription]struct{}{}
	}
	h.subs[userID][s] = struct{}{}
	return s, nil
}

// Cancel stops the subscription.
func (s *Subscription) Cancel() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	s.once.Do(func() {
		delete(s.hub.subs[s.userID], s)
		if len(s.hub.subs[s.userID]) == 0 {
			delete(s.hub.subs, s.userID)
		}
		close(s.C)
	})
}

// Subscribers counts the open subscriptions, for metrics and tests.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.subs {
		n += len(m)
	}
	return n
}
