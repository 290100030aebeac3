package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/apikey"
	"github.com/userd/userd/internal/feature/auth"
)

// sessionCookie is the cookie that carries a session token for browsers.
const sessionCookie = "userd_session"

// authenticate records the client's address and, for operations that need a
// caller, resolves the Bearer token (a session token, an access JWT or an
// API key) or the session cookie into the request's Actor and checks the
// permission the route table names; an API key never reaches a route that
// acts for a user (forUsers). Writes authenticated by the cookie must come from the same
// origin (Fetch metadata and Origin checks): a cross-site form cannot use it.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	r, _ := humago.Unwrap(ctx)
	ctx = huma.WithContext(ctx, withClient(ctx.Context(), s.clientOf(r)))
	needs, _ := ctx.Operation().Metadata[metaPerm].(string)
	if needs == public {
		next(ctx)
		return
	}
	tok, fromCookie := credential(r)
	if needs == optionalUser {
		// A valid credential makes the caller known; anything else leaves
		// them anonymous.
		if tok != "" && (!fromCookie || (s.cop.Check(r) == nil && !strings.HasPrefix(tok, apikey.Prefix))) {
			if c, err := s.auth.Authenticate(ctx.Context(), tok); err == nil && c.Actor.APIKeyID == "" {
				ctx = huma.WithContext(ctx, withCaller(ctx.Context(), c))
			}
		}
		next(ctx)
		return
	}
	if tok == "" {
		s.fail(ctx, auth.ErrUnauthenticated)
		return
	}
	if fromCookie && strings.HasPrefix(tok, apikey.Prefix) {
		// A key is an application's bearer credential: a cookie that
		// carries one was planted, and would make a browser act as it.
		s.fail(ctx, auth.ErrUnauthenticated)
		return
	}
	if fromCookie {
		if err := s.cop.Check(r); err != nil {
			s.fail(ctx, userd.Errorf(userd.KindForbidden, "csrf_rejected", "A cross-origin request cannot use the session cookie."))
			return
		}
	}
	c, err := s.auth.Authenticate(ctx.Context(), tok)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	if c.Actor.APIKeyID != "" && forUsers(needs, ctx.Operation().Path) {
		s.fail(ctx, errUserRequired)
		return
	}
	if err := permit(needs, c.Actor.Grants); err != nil {
		s.fail(ctx, err)
		return
	}
	next(huma.WithContext(ctx, withCaller(ctx.Context(), c)))
}

// errUserRequired refuses an API key on a route that acts for a user.
var errUserRequired = userd.Errorf(userd.KindForbidden, "user_required", "This acts for a signed-in user: an API key cannot use it.")

// forUsers reports whether an operation acts for the signed-in user
// themself (any user, or a permission over one's own account, or a path
// under /v1/me), which no API key may call whatever it carries.
func forUsers(needs, path string) bool {
	return needs == anyUser || needs == accountRead || needs == accountWrite || path == "/v1/me" || strings.HasPrefix(path, "/v1/me/")
}

// permit returns a forbidden error unless grants hold what an operation
// needs (a permission key, or anyUser).
func permit(needs string, grants userd.Grants) error {
	if needs != anyUser && !grants.Has(needs) {
		return userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+needs+".")
	}
	return nil
}

type callerKey struct{}

// withCaller returns a copy of ctx that carries the caller, and their actor
// for userd.ActorFrom.
func withCaller(ctx context.Context, c auth.Caller) context.Context {
	noteCaller(ctx, c.Actor)
	return context.WithValue(userd.WithActor(ctx, c.Actor), callerKey{}, c.User)
}

// callerUser returns the user whom the request authenticated, as read when
// it did.
func callerUser(ctx context.Context) (account.User, bool) {
	u, ok := ctx.Value(callerKey{}).(account.User)
	return u, ok
}

// credential returns the token a request presents, and whether it came from
// the cookie. A present Authorization header wins over the cookie.
func credential(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		return strings.TrimSpace(tok), false
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value, true
	}
	return "", false
}

func (s *Server) fail(ctx huma.Context, err error) {
	p := problemOf(ctx.Context(), s.log, err)
	if p.Status == http.StatusUnauthorized {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="userd"`)
	}
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(p.Status)
	_, _ = ctx.BodyWriter().Write(mustJSON(p))
}
