package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/userd/userd"
	"github.com/userd/userd/account"
	"github.com/userd/userd/audit"
	"github.com/userd/userd/auth"
	"github.com/userd/userd/notify"
	"github.com/userd/userd/referral"
	"github.com/userd/userd/social"
	"github.com/userd/userd/synchronization"
	"github.com/userd/userd/vault"
)

// exportBatch is how many rows an export reads at a time.
const exportBatch = 500

// export serves GET /v1/me/export: everything userd holds about the caller,
// as one JSON document written as it is read, in batches, so that a large
// account never sits in memory. Secrets and tokens are left out.
func (s *Server) export(ctx context.Context, _ *struct{}) (*huma.StreamResponse, error) {
	a := userd.ActorFrom(ctx)
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		_, w := humago.Unwrap(hctx)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="userd-export.json"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if err := s.writeExport(ctx, w, a); err != nil {
			s.log.ErrorContext(ctx, "export", "err", err)
		}
	}}, nil
}

// section streams one JSON array: page returns the items after a cursor
// and the cursor of the next page ("" at the end).
func section[T any](w io.Writer, first bool, name string, page func(cursor string) ([]T, string, error)) error {
	sep := ","
	if first {
		sep = ""
	}
	if _, err := fmt.Fprintf(w, "%s\n%q:[", sep, name); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	n, cursor := 0, ""
	for {
		items, next, err := page(cursor)
		if err != nil {
			return err
		}
		for _, it := range items {
			if n > 0 {
				io.WriteString(w, ",")
			}
			if err := enc.Encode(it); err != nil {
				return err
			}
			n++
		}
		if next == "" {
			_, err := io.WriteString(w, "]")
			return err
		}
		cursor = next
	}
}

// batch takes a page that a service read and returns a function that gives
// it with the cursor of the next page ("" when it was the last), which id
// makes from the page's last item.
func batch[T any](items []T, err error) func(id func(T) string) ([]T, string, error) {
	return func(id func(T) string) ([]T, string, error) {
		if err != nil || len(items) < exportBatch {
			return items, "", err
		}
		return items, id(items[len(items)-1]), nil
	}
}

// encode turns a page of items into their JSON shapes.
func encode[T, J any](items []T, next string, err error, shape func(T) J) ([]J, string, error) {
	out := make([]J, len(items))
	for i, it := range items {
		out[i] = shape(it)
	}
	return out, next, err
}

func (s *Server) writeExport(ctx context.Context, w io.Writer, a userd.Actor) error {
	me := a.UserID
	u, err := account.GetSelf(ctx, s.db, me)
	if err != nil {
		return err
	}
	lay, err := s.layouts.Mine(ctx, a)
	if err != nil {
		return err
	}
	ref, _, err := s.referrals.Find(ctx, a)
	if err != nil {
		return err
	}
	profile, err := s.social.Profile(ctx, userd.Actor{}, me) // anyone's view: the counts, without asking whether they follow themself
	if err != nil {
		return err
	}
	head := map[string]any{
		"exported_at": s.db.Now(), "user": userOf(u), "roles": a.Grants.Roles, "permissions": a.Grants.Permissions,
		"dashboard_layout": layoutOf(lay).Body, "referral": map[string]any{"slug": ref.Slug, "referred_count": ref.ReferredCount},
		"followers_count": profile.Followers, "followings_count": profile.Followings,
	}
	b, err := json.Marshal(head)
	if err != nil {
		return err
	}
	if _, err := w.Write(b[:len(b)-1]); err != nil { // the object stays open for the sections
		return err
	}
	steps := []func() error{
		func() error {
			return section(w, false, "sessions", func(c string) ([]SessionInfo, string, error) {
				list, next, err := batch(s.auth.Sessions(ctx, a, c, exportBatch))(func(se auth.Session) string { return se.ID })
				return encode(list, next, err, func(se auth.Session) SessionInfo { return sessionInfo(se, a) })
			})
		},
		func() error {
			return section(w, false, "notifications", func(c string) ([]Notification, string, error) {
				list, next, err := batch(s.notices.List(ctx, a, false, c, exportBatch))(func(n notify.Notification) string { return n.ID })
				return encode(list, next, err, notificationOf)
			})
		},
		func() error { return s.exportEdges(ctx, w, "following", me, social.Following) },
		func() error { return s.exportEdges(ctx, w, "followers", me, social.Followers) },
		func() error {
			return section(w, false, "referred_users", func(c string) ([]referral.Referred, string, error) {
				if c != "" {
					return nil, "", nil
				}
				list, err := s.referrals.Referred(ctx, a, 1<<20)
				return list, "", err
			})
		},
		func() error {
			return section(w, false, "synchronizations", func(c string) ([]Synchronization, string, error) {
				list, next, err := batch(s.syncs.List(ctx, a, c, exportBatch))(func(sy synchronization.Sync) string { return sy.ID })
				return encode(list, next, err, s.syncOf)
			})
		},
		func() error {
			return section(w, false, "credential_accounts", func(c string) ([]CredentialAccount, string, error) {
				list, next, err := batch(s.vault.Accounts(ctx, a, c, exportBatch))(func(v vault.Account) string { return v.ID })
				return encode(list, next, err, accountOf)
			})
		},
		func() error {
			return section(w, false, "activity", func(c string) ([]ActivityLog, string, error) {
				list, next, err := batch(audit.ListOwn(ctx, s.db, a, c, exportBatch))(func(e audit.Entry) string { return e.ID })
				return encode(list, next, err, activityOf)
			})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "\n}\n")
	return err
}

func (s *Server) exportEdges(ctx context.Context, w io.Writer, name, me string, list social.List) error {
	return section(w, false, name, func(c string) ([]FollowEdge, string, error) {
		edges, next, err := batch(s.social.Page(ctx, list, me, c, exportBatch))(func(e social.Edge) string { return e.FollowID })
		return encode(edges, next, err, edgeOf)
	})
}
