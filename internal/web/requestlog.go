package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/userd/userd"
)

// Every request gets one log line when it ends (ServeHTTP): its request id,
// method, route pattern (never the path, which may hold a token), status,
// duration, bytes written, the caller (user or API key id) and the client's
// address; the Config's RequestObserver (metrics) is told of it too. The id
// is echoed in X-Request-Id; a trusted proxy's own X-Request-Id is kept, so
// that its logs and userd's line up.

// requestIDHeader carries the request id both ways.
const requestIDHeader = "X-Request-Id"

// maxRequestID bounds a proxy's request id.
const maxRequestID = 128

// requestNote is what a request's log line needs that only the handlers
// learn: who the caller is (see withCaller).
type requestNote struct{ userID, apiKeyID string }

type requestNoteKey struct{}

// noteCaller records the caller for the request's log line.
func noteCaller(ctx context.Context, a userd.Actor) {
	if n, ok := ctx.Value(requestNoteKey{}).(*requestNote); ok {
		n.userID, n.apiKeyID = a.UserID, a.APIKeyID
	}
}

// ServeHTTP serves a request and logs it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := s.requestID(r)
	w.Header().Set(requestIDHeader, id)
	note := &requestNote{}
	r = r.WithContext(context.WithValue(r.Context(), requestNoteKey{}, note))
	sw := &statusWriter{ResponseWriter: w}
	s.mux.ServeHTTP(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	took := time.Since(start)
	if s.cfg.Requests != nil {
		s.cfg.Requests.ObserveRequest(r.Method, r.Pattern, sw.status, took)
	}
	attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", r.Pattern),
		slog.Int("status", sw.status), slog.Duration("duration", took), slog.Int64("bytes", sw.bytes),
		slog.String("client", s.clientOf(r).IP)}
	if note.userID != "" {
		attrs = append(attrs, slog.String("user_id", note.userID))
	}
	if note.apiKeyID != "" {
		attrs = append(attrs, slog.String("api_key_id", note.apiKeyID))
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

// requestID returns a trusted proxy's X-Request-Id when it is a short,
// printable token, else a new id.
func (s *Server) requestID(r *http.Request) string {
	if in := r.Header.Get(requestIDHeader); in != "" && len(in) <= maxRequestID && printable(in) {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil && s.trusted(host) {
			return in
		}
	}
	return userd.NewID(time.Now())
}

// printable reports whether s is visible ASCII only.
func printable(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// statusWriter remembers the status and counts the bytes of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush lets event streams through (http.Flusher).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
