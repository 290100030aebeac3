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
	"github.com/userd/userd/layout"
	"github.com/userd/userd/notify"
	"github.com/userd/userd/referral"
	"github.com/userd/userd/social"
	"github.com/userd/userd/sqldb"
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

// batch runs a page query in the actor's scope, or across users when
// crossing is set (public fields of other users).
func batch[T any](ctx context.Context, db *sqldb.DB, crossing bool, q func(tx *sqldb.Tx) ([]T, error), id func(T) string) ([]T, string, error) {
	if crossing {
		ctx = sqldb.System(ctx)
	}
	var items []T
	err := db.View(ctx, func(tx *sqldb.Tx) (err error) {
		items, err = q(tx)
		return err
	})
	if err != nil || len(items) < exportBatch {
		return items, "", err
	}
	return items, id(items[len(items)-1]), nil
}

func one[T any](v T) func(string) ([]T, string, error) {
	return func(string) ([]T, string, error) { return []T{v}, "", nil }
}

func (s *Server) writeExport(ctx context.Context, w io.Writer, a userd.Actor) error {
	me := a.UserID
	var u account.User
	var lay layout.Layout
	var ref referral.Referral
	var followers, followings int64
	err := s.db.View(ctx, func(tx *sqldb.Tx) (err error) {
		if u, err = account.Get(ctx, tx, me); err != nil {
			return err
		}
		if lay, err = layout.Get(ctx, tx, me); err != nil {
			return err
		}
		ref, _, err = referral.Find(ctx, tx, me)
		return err
	})
	if err != nil {
		return err
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		followers, followings, err = social.Stats(ctx, tx, me)
		return err
	})
	if err != nil {
		return err
	}
	head := map[string]any{
		"exported_at": s.db.Now(), "user": userOf(u), "roles": a.Grants.Roles, "permissions": a.Grants.Permissions,
		"dashboard_layout": layoutOf(lay).Body, "referral": map[string]any{"slug": ref.Slug, "referred_count": ref.ReferredCount},
		"followers_count": followers, "followings_count": followings,
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
				list, next, err := batch(ctx, s.db, false, func(tx *sqldb.Tx) ([]auth.Session, error) {
					return s.auth.SessionsTx(ctx, tx, me, c, exportBatch)
				}, func(se auth.Session) string { return se.ID })
				out := make([]SessionInfo, len(list))
				for i, se := range list {
					out[i] = sessionInfo(se, a)
				}
				return out, next, err
			})
		},
		func() error {
			return section(w, false, "notifications", func(c string) ([]Notification, string, error) {
				list, next, err := batch(ctx, s.db, false, func(tx *sqldb.Tx) ([]notify.Notification, error) {
					return notify.List(ctx, tx, me, false, c, exportBatch)
				}, func(n notify.Notification) string { return n.ID })
				out := make([]Notification, len(list))
				for i, n := range list {
					out[i] = notificationOf(n)
				}
				return out, next, err
			})
		},
		func() error { return s.exportEdges(ctx, w, "following", me, social.Following) },
		func() error { return s.exportEdges(ctx, w, "followers", me, social.Followers) },
		func() error {
			return section(w, false, "referred_users", func(c string) ([]referral.Referred, string, error) {
				if c != "" {
					return nil, "", nil
				}
				var list []referral.Referred
				err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
					list, err = referral.ReferredUsers(ctx, tx, me, 1<<20)
					return err
				})
				return list, "", err
			})
		},
		func() error {
			return section(w, false, "synchronizations", func(c string) ([]Synchronization, string, error) {
				list, next, err := batch(ctx, s.db, false, func(tx *sqldb.Tx) ([]synchronization.Sync, error) {
					return synchronization.List(ctx, tx, me, c, exportBatch)
				}, func(sy synchronization.Sync) string { return sy.ID })
				out := make([]Synchronization, len(list))
				for i, sy := range list {
					out[i] = s.syncOf(sy)
				}
				return out, next, err
			})
		},
		func() error {
			return section(w, false, "credential_accounts", func(c string) ([]CredentialAccount, string, error) {
				list, next, err := batch(ctx, s.db, false, func(tx *sqldb.Tx) ([]vault.Account, error) {
					return vault.Accounts(ctx, tx, me, c, exportBatch)
				}, func(a vault.Account) string { return a.ID })
				out := make([]CredentialAccount, len(list))
				for i, a := range list {
					out[i] = accountOf(a)
				}
				return out, next, err
			})
		},
		func() error {
			return section(w, false, "activity", func(c string) ([]ActivityLog, string, error) {
				list, next, err := batch(ctx, s.db, false, func(tx *sqldb.Tx) ([]audit.Entry, error) {
					return audit.List(ctx, tx, audit.Filter{UserID: me}, c, exportBatch)
				}, func(e audit.Entry) string { return e.ID })
				out := make([]ActivityLog, len(list))
				for i, e := range list {
					out[i] = activityOf(e)
				}
				return out, next, err
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

func (s *Server) exportEdges(ctx context.Context, w io.Writer, name, me string,
	list func(context.Context, *sqldb.Tx, string, string, int) ([]social.Edge, error)) error {
	return section(w, false, name, func(c string) ([]FollowEdge, string, error) {
		edges, next, err := batch(ctx, s.db, true, func(tx *sqldb.Tx) ([]social.Edge, error) {
			return list(ctx, tx, me, c, exportBatch)
		}, func(e social.Edge) string { return e.FollowID })
		out := make([]FollowEdge, len(edges))
		for i, e := range edges {
			out[i] = edgeOf(e)
		}
		return out, next, err
	})
}
