package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/userd/userd"
	"github.com/userd/userd/notify"
	"github.com/userd/userd/sqldb"
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
	me := userd.ActorFrom(ctx).UserID
	read := func() (page encodedPage, tags []string, err error) {
		var list []notify.Notification
		err = s.db.View(ctx, func(tx *sqldb.Tx) (err error) {
			list, err = notify.List(ctx, tx, me, in.Unread, before, in.Limit+1)
			return err
		})
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
	me := userd.ActorFrom(ctx).UserID
	n, err := s.memo.unread.Load(me, func() (n int, tags []string, err error) {
		err = s.db.View(ctx, func(tx *sqldb.Tx) (err error) {
			n, err = notify.UnreadCount(ctx, tx, me)
			return err
		})
		return n, []string{userd.NotificationsKey(me)}, err
	})
	out := &countOutput{}
	out.Body.Count = n
	return out, err
}

type notificationIDInput struct {
	ID string `path:"id" doc:"The notification's id."`
}

// ownNotification runs fn on one of the actor's notifications by id.
func (s *Server) ownNotification(ctx context.Context, raw string, fn func(tx *sqldb.Tx, userID, id string) error) error {
	id, ok := userd.ParseID(raw)
	if !ok {
		return notify.ErrNotFound
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error { return fn(tx, userd.ActorFrom(ctx).UserID, id) })
}

func (s *Server) markRead(ctx context.Context, in *notificationIDInput) (*struct{}, error) {
	return nil, s.ownNotification(ctx, in.ID, func(tx *sqldb.Tx, userID, id string) error {
		return notify.MarkRead(ctx, tx, userID, id)
	})
}

func (s *Server) deleteNotification(ctx context.Context, in *notificationIDInput) (*struct{}, error) {
	return nil, s.ownNotification(ctx, in.ID, func(tx *sqldb.Tx, userID, id string) error {
		return notify.Delete(ctx, tx, userID, id)
	})
}

func (s *Server) markAllRead(ctx context.Context, _ *struct{}) (*countOutput, error) {
	out := &countOutput{}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		n, err := notify.MarkAllRead(ctx, tx, userd.ActorFrom(ctx).UserID)
		out.Body.Count = int(n)
		return err
	})
	return out, err
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
// keep it open and clients notice a dead one.
var heartbeat = 15 * time.Second

type streamInput struct {
	LastEventID string `header:"Last-Event-ID" doc:"Resume: the id of the last notification received; those after it come first."`
}

// stream serves GET /v1/me/notifications/stream: Server-Sent Events, one
// "notification" event per new notification as it is committed (in any
// userd process of the database), with the notification's id as the event
// id; a reconnecting client sends Last-Event-ID and gets what it missed.
func (s *Server) stream(ctx context.Context, in *streamInput) (*huma.StreamResponse, error) {
	userID := userd.ActorFrom(ctx).UserID
	last := ""
	if in.LastEventID != "" {
		id, ok := userd.ParseID(in.LastEventID)
		if !ok {
			return nil, userd.Invalid([]userd.FieldError{{Field: "Last-Event-ID", Code: "invalid_id", Message: "Last-Event-ID is the id of a notification."}})
		}
		last = id
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		_, w := humago.Unwrap(hctx)
		s.serveStream(ctx, w, userID, last)
	}}, nil
}

func (s *Server) serveStream(ctx context.Context, w http.ResponseWriter, userID, last string) {
	sub := s.hub.Subscribe(userID) // before the backlog, so nothing falls between
	defer sub.Cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	sent := map[string]bool{} // the backlog's ids, not to send twice
	send := func(n notify.Notification) bool {
		b, _ := json.Marshal(notificationOf(n))
		if _, err := fmt.Fprintf(w, "id: %s\nevent: notification\ndata: %s\n\n", n.ID, b); err != nil {
			return false
		}
		last = n.ID
		return rc.Flush() == nil
	}
	fmt.Fprintf(w, ": stream open\nretry: 3000\n\n")
	if rc.Flush() != nil {
		return
	}
	if last != "" {
		for {
			var backlog []notify.Notification
			err := s.db.View(ctx, func(tx *sqldb.Tx) (err error) {
				backlog, err = notify.After(ctx, tx, userID, last, 100)
				return err
			})
			if err != nil {
				s.log.ErrorContext(ctx, "stream backlog", "err", err)
				return
			}
			for _, n := range backlog {
				if !send(n) {
					return
				}
				sent[n.ID] = true
			}
			if len(backlog) < 100 {
				break
			}
		}
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case id, ok := <-sub.C:
			if !ok {
				return // cut off for lagging: the client resumes from its last id
			}
			if sent[id] {
				continue // already sent from the backlog
			}
			var n notify.Notification
			err := s.db.View(ctx, func(tx *sqldb.Tx) (err error) {
				n, err = notify.Get(ctx, tx, userID, id)
				return err
			})
			if err != nil {
				continue // deleted since
			}
			if !send(n) {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}
