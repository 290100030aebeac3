package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/platform/memo"
)

// Notification is a notification as its user sees it.
type Notification struct {
	ID          string          `json:"id" format:"uuid" doc:"UUIDv7: newer notifications have greater ids."`
	Type        string          `json:"type" example:"security.password_changed"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Data        json.RawMessage `json:"data" doc:"A JSON object."`
	ReadAt      *time.Time      `json:"read_at" doc:"Null while unread."`
	CreatedAt   time.Time       `json:"created_at"`
}

func notificationOf(n notify.Notification) Notification {
	return Notification{ID: n.ID, Type: n.Type, Title: n.Title, Description: n.Description, Data: n.Data, ReadAt: n.ReadAt, CreatedAt: n.CreatedAt}
}

type listNotificationsInput struct {
	Unread bool `query:"unread" doc:"Only unread notifications."`
	Paging
}

type notificationsOutput struct {
	Body struct {
		encodedPage
		Items      []Notification `json:"items"`
		NextCursor *string        `json:"next_cursor"`
	}
}

func (s *Server) listNotifications(ctx context.Context, in *listNotificationsInput) (*notificationsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	a := userd.ActorFrom(ctx)
	me := a.UserID
	read := func() (page encodedPage, tags []string, err error) {
		list, err := s.notices.List(ctx, a, in.Unread, before, in.Limit+1)
		if err == nil {
			page, err = encodePage(list, in.Limit, func(n notify.Notification) string { return n.ID }, notificationOf)
		}
		return page, []string{userd.NotificationsKey(me)}, err
	}
	out := &notificationsOutput{}
	if in.Cursor == "" { // first pages are read again and again
		out.Body.encodedPage, err = s.memo.notifications.Load(pageKey(me, strconv.FormatBool(in.Unread), strconv.Itoa(in.Limit)), read)
	} else {
		out.Body.encodedPage, _, err = read()
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

type countOutput struct {
	Body struct {
		Count int `json:"count"`
	}
}

func (s *Server) unreadCount(ctx context.Context, _ *struct{}) (*countOutput, error) {
	a := userd.ActorFrom(ctx)
	n, err := s.memo.unread.Load(a.UserID, func() (n int, tags []string, err error) {
		n, err = s.notices.Unread(ctx, a)
		return n, []string{userd.NotificationsKey(a.UserID)}, err
	})
	out := &countOutput{}
	out.Body.Count = n
	return out, err
}

type notificationIDInput struct {
	ID string `path:"id" doc:"The notification's id."`
}

func (s *Server) markRead(ctx context.Context, in *notificationIDInput) (*struct{}, error) {
	return nil, s.notices.MarkRead(ctx, userd.ActorFrom(ctx), in.ID)
}

func (s *Server) deleteNotification(ctx context.Context, in *notificationIDInput) (*struct{}, error) {
	return nil, s.notices.Delete(ctx, userd.ActorFrom(ctx), in.ID)
}

func (s *Server) markAllRead(ctx context.Context, _ *struct{}) (*countOutput, error) {
	n, err := s.notices.MarkAllRead(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &countOutput{}
	out.Body.Count = int(n)
	return out, nil
}

type sendNotificationInput struct {
	Body struct {
		UserID      string          `json:"user_id,omitempty" doc:"One recipient; or use user_ids."`
		UserIDs     []string        `json:"user_ids,omitempty" maxItems:"1000" doc:"Up to 1000 recipients."`
		Type        string          `json:"type" example:"billing.invoice_paid"`
		Title       string          `json:"title"`
		Description string          `json:"description,omitempty"`
		Data        json.RawMessage `json:"data,omitempty" doc:"A JSON object of at most 16 KiB."`
	}
}

type sentOutput struct {
	Body struct {
		Items []struct {
			UserID string `json:"user_id"`
			Notification
		} `json:"items"`
	}
}

func (s *Server) sendNotification(ctx context.Context, in *sendNotificationInput) (*sentOutput, error) {
	b := in.Body
	ids := b.UserIDs
	if b.UserID != "" {
		ids = append([]string{b.UserID}, ids...)
	}
	sent, err := s.admin.Notify(ctx, s.who(ctx), ids, notify.New{Type: b.Type, Title: b.Title, Description: b.Description, Data: b.Data})
	if err != nil {
		return nil, err
	}
	out := &sentOutput{}
	out.Body.Items = make([]struct {
		UserID string `json:"user_id"`
		Notification
	}, len(sent))
	for i, n := range sent {
		out.Body.Items[i].UserID, out.Body.Items[i].Notification = n.UserID, notificationOf(n)
	}
	return out, nil
}

// heartbeat is how often an idle stream sends a comment, so that proxies
// keep it open and clients notice a dead one, and how often a stream checks
// its credential again whatever the invalidations said: for changes that
// announce nothing (a session past its lifetime or idle cut-off) and while
// this process may be missing them.
var heartbeat = 15 * time.Second

// shutdownRetry is the least wait, in milliseconds, that a stream ended by a
// shutdown asks of its client before it reconnects; each stream asks for up
// to twice as long, so that the clients of a process do not come back at
// once.
const shutdownRetry = 1000

// backlogBatch is how many missed notifications a resuming stream reads at
// a time.
const backlogBatch = 100

// Reasons that a stream's last event, "end", gives.
const (
	// endSessionEnded: the credential no longer holds: the session was
	// logged out, revoked or expired, the user suspended, banned or deleted,
	// or the permission to read the stream taken away.
	endSessionEnded = "session_ended"
	// endTokenExpired: the access token that opened the stream expired.
	endTokenExpired = "token_expired"
)

var (
	// errTokenExpired ends a stream at its access token's expiry.
	errTokenExpired = userd.Errorf(userd.KindUnauthenticated, "token_expired", "The access token expired.")
	// errClientGone ends a stream whose client no longer reads it.
	errClientGone = errors.New("stream: the client is gone")
)

type streamInput struct {
	LastEventID string `header:"Last-Event-ID" doc:"Resume: the id of the last notification received; those after it come first."`
}

// stream serves GET /v1/me/notifications/stream: Server-Sent Events, one
// "notification" event per new notification as it is committed (in any
// userd process of the database), with the notification's id as the event
// id; a reconnecting client sends Last-Event-ID and gets what it missed.
//
// A user holds at most notify.MaxPerUser streams open in a process; one
// more is refused with notify.ErrTooManyStreams. A stream lasts only as
// long as its credential: it ends, with a last event "end" whose data is
// {"reason": "session_ended"} or {"reason": "token_expired"}, as soon as
// an invalidation of its session or its user reaches this process (at the
// commit in the process that made it, through the database's notification
// in others), at its access token's expiry, and otherwise at the next
// heartbeat that finds the credential refused.
func (s *Server) stream(ctx context.Context, in *streamInput) (*huma.StreamResponse, error) {
	return s.eventStream(ctx, in.LastEventID, s.hub, notices{s.notices})
}

// eventStream serves a stream of f's events, announced by hub, after the
// event lastEventID (an id, or "" for the new events only).
func (s *Server) eventStream(ctx context.Context, lastEventID string, hub *notify.Hub, f feed) (*huma.StreamResponse, error) {
	last := ""
	if lastEventID != "" {
		id, ok := userd.ParseID(lastEventID)
		if !ok {
			return nil, userd.Invalid([]userd.FieldError{{Field: "Last-Event-ID", Code: "invalid_id", Message: "Last-Event-ID is the id of the last event received."}})
		}
		last = id
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		r, w := humago.Unwrap(hctx)
		tok, _ := credential(r) // the one the request was authenticated with
		needs, _ := hctx.Operation().Metadata[metaPerm].(string)
		g, err := s.openStream(ctx, hub, tok, needs)
		if err != nil {
			s.fail(hctx, err)
			return
		}
		defer g.stop()
		s.serveStream(ctx, w, g, f, last)
	}}, nil
}

// streamGuard is what an open stream holds and checks: one of its user's
// subscriptions, a watch on its session's and its user's keys, and the
// credential it was opened with.
type streamGuard struct {
	auth    *auth.Service
	sub     *notify.Subscription
	watch   *memo.Watch
	userID  string
	tok     string
	needs   string           // the route's permission
	expired <-chan time.Time // at the access token's expiry; nil for others
}

// openStream subscribes the caller to the announcements of hub (their
// notifications, their records' changes) and watches their session and
// user, then checks the credential again: a revocation between the
// request's authentication and the watch is seen too. It returns
// notify.ErrTooManyStreams, or why the credential no longer holds.
func (s *Server) openStream(ctx context.Context, hub *notify.Hub, tok, needs string) (*streamGuard, error) {
	a := userd.ActorFrom(ctx)
	sub, err := hub.Subscribe(a.UserID)
	if err != nil {
		return nil, err
	}
	keys := []string{userd.UserKey(a.UserID)}
	if a.SessionID != "" { // an outside provider's token has no session
		keys = append(keys, userd.SessionKey(a.SessionID))
	}
	g := &streamGuard{auth: s.auth, sub: sub, watch: s.memo.streams.Watch(keys...), userID: a.UserID, tok: tok, needs: needs}
	if err := g.check(ctx); err != nil {
		g.stop()
		return nil, err
	}
	if exp, ok := s.auth.AccessExpiry(ctx, tok); ok { // an outside token ends at a check
		g.expired = time.After(exp.Sub(s.db.Now()))
	}
	return g, nil
}

// stop gives the subscription back and ends the watch.
func (g *streamGuard) stop() {
	g.watch.Stop()
	g.sub.Cancel()
}

// check authenticates the stream's credential again: it returns why the
// credential no longer holds, or a forbidden error when its user lost the
// route's permission.
func (g *streamGuard) check(ctx context.Context) error {
	c, err := g.auth.Authenticate(ctx, g.tok)
	if err != nil {
		return err
	}
	return permit(g.needs, c.Actor.Grants)
}

// pending returns errTokenExpired once the token expired, and checks the
// credential again when the watch signalled: before anything is sent, so
// that no notification outruns a revocation that came before it.
func (g *streamGuard) pending(ctx context.Context) error {
	select {
	case <-g.expired:
		return errTokenExpired
	default:
	}
	select {
	case <-g.watch.C():
		return g.check(ctx)
	default:
		return nil
	}
}

// serveStream writes the stream until it must end, and says why.
func (s *Server) serveStream(ctx context.Context, w http.ResponseWriter, g *streamGuard, f feed, last string) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ew := eventWriter{w: w, rc: http.NewResponseController(w)}
	err := ew.write(": stream open\nretry: 3000\n\n")
	if err == nil {
		err = s.pump(ctx, ew, g, f, last)
	}
	if err != nil {
		s.endStream(ctx, ew, err)
	}
}

// pump sends the events of f after last, then each new one, and a
// heartbeat when idle, until the stream must end: it returns why, or nil
// when the server shuts down or the subscription was cut off for lagging
// (the client resumes from the last id it got).
func (s *Server) pump(ctx context.Context, ew eventWriter, g *streamGuard, f feed, last string) error {
	sent, err := sendBacklog(ctx, ew, g, f, last)
	if err != nil {
		return err
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case id, ok := <-g.sub.C:
			if !ok {
				return nil
			}
			if !sent[id] { // else already sent from the backlog
				err = sendNew(ctx, ew, g, f, id)
			}
		case <-g.watch.C():
			err = g.check(ctx)
		case <-tick.C:
			if err = ew.write(": heartbeat\n\n"); err == nil {
				err = g.check(ctx)
			}
		case <-g.expired:
			err = errTokenExpired
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			// The client reconnects after a spread-out wait, to a process
			// that serves (behind a balancer, another one), and resumes
			// from the last id it got.
			ew.write(": shutting down\nretry: %d\n\n", shutdownRetry+rand.N(shutdownRetry))
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// feed is what a stream sends: a user's events after an id (up to
// backlogBatch, oldest first), and one event by the id that a hub
// announced.
type feed interface {
	after(ctx context.Context, a userd.Actor, last string) ([]event, error)
	// get reports false for an event that is gone since.
	get(ctx context.Context, a userd.Actor, id string) (event, bool, error)
}

// event is one event of a stream: its id, its name and its data, as JSON.
type event struct {
	id, name string
	data     any
}

// notices is the feed of the notification stream.
type notices struct{ svc *notify.Service }

func (f notices) after(ctx context.Context, a userd.Actor, last string) ([]event, error) {
	ns, err := f.svc.After(ctx, a, last, backlogBatch)
	return mapAll(ns, func(n notify.Notification) event { return event{n.ID, "notification", notificationOf(n)} }), err
}

func (f notices) get(ctx context.Context, a userd.Actor, id string) (event, bool, error) {
	n, err := f.svc.Get(ctx, a, id)
	if errors.Is(err, notify.ErrNotFound) {
		return event{}, false, nil
	}
	return event{n.ID, "notification", notificationOf(n)}, err == nil, err
}

// sendBacklog sends the user's events after last, and returns their ids,
// not to send twice.
func sendBacklog(ctx context.Context, ew eventWriter, g *streamGuard, f feed, last string) (map[string]bool, error) {
	sent := map[string]bool{}
	for last != "" {
		backlog, err := f.after(ctx, userd.Actor{UserID: g.userID}, last)
		if err != nil {
			return nil, fmt.Errorf("stream backlog: %w", err)
		}
		for _, e := range backlog {
			if err := g.send(ctx, ew, e); err != nil {
				return nil, err
			}
			sent[e.id] = true
		}
		last = ""
		if len(backlog) == backlogBatch {
			last = backlog[len(backlog)-1].id
		}
	}
	return sent, nil
}

// sendNew sends the user's new event id, unless it is gone since.
func sendNew(ctx context.Context, ew eventWriter, g *streamGuard, f feed, id string) error {
	e, ok, err := f.get(ctx, userd.Actor{UserID: g.userID}, id)
	if err != nil {
		return fmt.Errorf("stream event: %w", err)
	}
	if !ok {
		return nil
	}
	return g.send(ctx, ew, e)
}

// send writes an event, unless the stream must end first.
func (g *streamGuard) send(ctx context.Context, ew eventWriter, e event) error {
	if err := g.pending(ctx); err != nil {
		return err
	}
	b, _ := json.Marshal(e.data)
	return ew.write("id: %s\nevent: %s\ndata: %s\n\n", e.id, e.name, b)
}

// endStream ends a stream for err: with an "end" event when its credential
// no longer holds; silently when the client left, or when the server could
// not tell (logged: the client reconnects and is checked then).
func (s *Server) endStream(ctx context.Context, ew eventWriter, err error) {
	switch {
	case errors.Is(err, errClientGone) || ctx.Err() != nil:
	case errors.Is(err, errTokenExpired):
		ew.end(endTokenExpired)
	case userd.ErrorKind(err) == userd.KindInternal:
		s.log.ErrorContext(ctx, "event stream", "err", err)
	default:
		ew.end(endSessionEnded)
	}
}

// eventWriter writes a stream's events, each flushed at once.
type eventWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// writeWithin bounds each write of a stream: a client that stops reading
// cannot hold the stream, and its place under the per-user cap, forever.
const writeWithin = 30 * time.Second

// write writes an event or a comment; errClientGone when it cannot within
// writeWithin.
func (e eventWriter) write(format string, args ...any) error {
	_ = e.rc.SetWriteDeadline(time.Now().Add(writeWithin))
	if _, err := fmt.Fprintf(e.w, format, args...); err != nil {
		return errClientGone
	}
	if e.rc.Flush() != nil {
		return errClientGone
	}
	return nil
}

// end writes a stream's last event, which gives the reason it ends.
func (e eventWriter) end(reason string) {
	_ = e.write("event: end\ndata: {\"reason\":%q}\n\n", reason)
}
