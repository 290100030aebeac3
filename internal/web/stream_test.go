package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// endWithin bounds how long a stream may stay open after what ends it.
const endWithin = 5 * time.Second

// stream is an open notification stream as its client reads it.
type stream struct {
	events <-chan sseEvent // closed when the server ends the stream
	close  func()
}

// dialStream opens the notification stream with tok. It returns the
// answer's status and problem code, and the stream when the status is 200.
func dialStream(t *testing.T, url, tok string) (int, string, *stream) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/v1/me/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		defer cancel()
		defer res.Body.Close()
		var p struct{ Code string }
		raw, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(raw, &p)
		return res.StatusCode, p.Code, nil
	}
	s := &stream{events: readEvents(res.Body), close: cancel}
	t.Cleanup(cancel)
	return res.StatusCode, "", s
}

// mustStream opens the notification stream with tok, or fails.
func mustStream(t *testing.T, url, tok string) *stream {
	t.Helper()
	status, code, s := dialStream(t, url, tok)
	if status != http.StatusOK {
		t.Fatalf("stream = %d %s; want 200", status, code)
	}
	return s
}

// readEvents reads a stream's events until its body ends.
func readEvents(body io.ReadCloser) <-chan sseEvent {
	events := make(chan sseEvent, 100)
	go func() {
		defer close(events)
		defer body.Close()
		sc := bufio.NewScanner(body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return events
}

// waitEnd fails unless the server ends the stream within endWithin, and
// returns the events it sent before it did.
func (s *stream) waitEnd(t *testing.T) []sseEvent {
	t.Helper()
	var got []sseEvent
	deadline := time.After(endWithin)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-deadline:
			t.Fatalf("the stream stayed open %v after it should have ended (events %+v)", endWithin, got)
		}
	}
}

// wantEnded fails unless the stream ends within endWithin with one event,
// "end" with the given reason, and nothing before it.
func (s *stream) wantEnded(t *testing.T, reason string) {
	t.Helper()
	got := s.waitEnd(t)
	want := `{"reason":"` + reason + `"}`
	if len(got) != 1 || got[0].event != "end" || got[0].data != want {
		t.Fatalf("events before the stream closed = %+v; want only end %s", got, want)
	}
}

// notify sends the user a notification as an administrator and returns its
// title.
func (c *client) notify(adm, userID, title string) string {
	c.t.Helper()
	r := c.do("POST", "/v1/admin/notifications", map[string]any{"user_id": userID, "type": "live", "title": title}, adm)
	if r.Status != http.StatusCreated {
		c.t.Fatalf("send notification: %d %s", r.Status, r.Raw)
	}
	return title
}

// wantNotification fails unless the stream's next event is the notification
// with the given title.
func (s *stream) wantNotification(t *testing.T, title string) {
	t.Helper()
	if ev := nextEvent(t, s.events); ev.event != "notification" || !strings.Contains(ev.data, `"title":"`+title+`"`) {
		t.Fatalf("event = %+v; want notification %q", ev, title)
	}
}

// signupSession signs a user up and returns their id, their session's id
// and its token.
func (c *client) signupSession(email string) (userID, sessionID, tok string) {
	c.t.Helper()
	r := c.do("POST", "/v1/auth/signup", map[string]any{"email": email, "password": "correct horse battery"}, "")
	if r.Status != http.StatusCreated {
		c.t.Fatalf("signup %s: %d %s", email, r.Status, r.Raw)
	}
	sess := r.Body["session"].(map[string]any)
	return str(r.Body["user"].(map[string]any), "id"), str(sess, "id"), str(sess, "token")
}

// TestStreamEndsAtLogout: logging a session out ends its stream at once,
// with an end event and without the notifications sent after it; the
// stream of the user's other session goes on and gets them.
func TestStreamEndsAtLogout(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		other := str(c.login("ann@example.com", "correct horse battery")["session"].(map[string]any), "token")
		s, kept := mustStream(t, c.url, ann), mustStream(t, c.url, other)
		if r := c.do("POST", "/v1/auth/logout", nil, ann); r.Status != http.StatusNoContent {
			t.Fatalf("logout = %d %s", r.Status, r.Raw)
		}
		kept.wantNotification(t, c.notify(adm, annID, "after logout"))
		s.wantEnded(t, "session_ended")
	})
}

// TestStreamEndsWhenSessionRevoked: revoking a session from another one
// ends the revoked session's stream, not the other's.
func TestStreamEndsWhenSessionRevoked(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		annID, first, ann := c.signupSession("ann@example.com")
		other := str(c.login("ann@example.com", "correct horse battery")["session"].(map[string]any), "token")
		s, kept := mustStream(t, c.url, ann), mustStream(t, c.url, other)
		if r := c.do("DELETE", "/v1/me/sessions/"+first, nil, other); r.Status != http.StatusNoContent {
			t.Fatalf("revoke = %d %s", r.Status, r.Raw)
		}
		s.wantEnded(t, "session_ended")
		kept.wantNotification(t, c.notify(adm, annID, "after revoke"))
	})
}

// TestStreamEndsWhenUserStops: suspending, banning or deleting a user ends
// their streams, those opened with an access token too, whether an
// administrator changes the user or a moderator acts.
func TestStreamEndsWhenUserStops(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		for _, tt := range []struct{ name, method, body string }{
			{"suspended", "PATCH", `{"status":"suspended"}`},
			{"banned", "PATCH", `{"status":"banned"}`},
			{"deleted", "DELETE", ""},
			{"moderator-suspended", "POST", `{"action":"suspend","reason":"Cool off."}`},
			{"moderator-banned", "POST", `{"action":"ban","reason":"Spam."}`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := c.do("POST", "/v1/auth/signup", map[string]any{"email": tt.name + "@example.com", "password": "correct horse battery"}, "")
				id := str(r.Body["user"].(map[string]any), "id")
				byToken, byJWT := mustStream(t, c.url, str(r.Body["session"].(map[string]any), "token")), mustStream(t, c.url, str(r.Body, "access_token"))
				var body any
				if tt.body != "" {
					body = tt.body
				}
				path := "/v1/admin/users/" + id
				if tt.method == "POST" {
					path, body = "/v1/admin/moderation-actions", `{"user_id":"`+id+`",`+tt.body[1:]
				}
				if r := c.do(tt.method, path, body, adm); r.Status >= 300 {
					t.Fatalf("%s user = %d %s", tt.method, r.Status, r.Raw)
				}
				byToken.wantEnded(t, "session_ended")
				byJWT.wantEnded(t, "session_ended")
			})
		}
	})
}

// TestStreamEndsAtTokenExpiry: a stream opened with an access token ends
// when the token expires, though its session lives on.
func TestStreamEndsAtTokenExpiry(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{auth: auth.Config{AccessTTL: 2 * time.Second}})
		adm := c.admin()
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		annID, access := str(r.Body["user"].(map[string]any), "id"), str(r.Body, "access_token")
		opened := time.Now()
		s := mustStream(t, c.url, access)
		s.wantNotification(t, c.notify(adm, annID, "before expiry"))
		s.wantEnded(t, "token_expired")
		if d := time.Since(opened); d < time.Second/2 {
			t.Fatalf("the stream ended %v after it opened; its token lives 1 to 2 s more", d)
		}
		if r := c.do("GET", "/v1/me", nil, str(r.Body["session"].(map[string]any), "token")); r.Status != http.StatusOK {
			t.Fatalf("the session after its access token expired: %d", r.Status)
		}
	})
}

// TestStreamCap: a user holds at most 20 streams open; the 21st is refused
// with 429 too_many_streams until one closes; another user is not counted.
func TestStreamCap(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		_, bob := c.signup(map[string]any{"email": "bob@example.com"})
		open := make([]*stream, 20)
		for i := range open {
			open[i] = mustStream(t, c.url, ann)
		}
		if status, code, _ := dialStream(t, c.url, ann); status != http.StatusTooManyRequests || code != "too_many_streams" {
			t.Fatalf("the 21st stream = %d %q; want 429 too_many_streams", status, code)
		}
		mustStream(t, c.url, bob)
		open[0].close()
		for deadline := time.Now().Add(endWithin); ; time.Sleep(10 * time.Millisecond) {
			status, code, _ := dialStream(t, c.url, ann)
			if status == http.StatusOK {
				break
			}
			if status != http.StatusTooManyRequests || time.Now().After(deadline) {
				t.Fatalf("a stream after one closed = %d %q; want 200", status, code)
			}
		}
	})
}

// TestStreamEndsInOtherProcess: on PostgreSQL, a log-out in one userd
// process ends the session's stream that another process serves, as soon
// as the database's notification arrives.
func TestStreamEndsInOtherProcess(t *testing.T) {
	url := dbtest.NewPostgresURL(t, true)
	a, b := start(t, mustOpen(t, "postgres", url)), start(t, mustOpen(t, "postgres", url))
	_, ann := a.signup(map[string]any{"email": "ann@example.com"})
	s := mustStream(t, b.url, ann)
	if r := a.do("POST", "/v1/auth/logout", nil, ann); r.Status != http.StatusNoContent {
		t.Fatalf("logout = %d %s", r.Status, r.Raw)
	}
	s.wantEnded(t, "session_ended")
}
