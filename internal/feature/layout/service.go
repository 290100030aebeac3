package layout

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Service reads and replaces layouts for the users who own them: each call
// is one transaction in the actor's own scope.
type Service struct {
	db *sqldb.DB
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB) *Service { return &Service{db: db} }

// Mine returns the actor's layout, or the default one.
func (s *Service) Mine(ctx context.Context, a userd.Actor) (Layout, error) {
	var l Layout
	err := s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		l, err = Get(ctx, tx, a.UserID)
		return err
	})
	return l, err
}

// Replace checks a layout (see Check) and writes it as the actor's (see
// Put: ifVersion < 0 writes whatever is there). It returns a KindInvalid
// error for a bad layout and ErrStale when the layout changed since
// ifVersion.
func (s *Service) Replace(ctx context.Context, a userd.Actor, desktop, mobile json.RawMessage, ifVersion int) (Layout, error) {
	desktop, mobile, err := Check(desktop, mobile)
	if err != nil {
		return Layout{}, err
	}
	var l Layout
	err = s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		l, err = Put(ctx, tx, a.UserID, desktop, mobile, ifVersion)
		return err
	})
	return l, err
}

// ErrEmptyPatch refuses a patch that names neither desktop nor mobile.
var ErrEmptyPatch = userd.Invalid([]userd.FieldError{{Field: "desktop", Code: "required",
	Message: "A patch changes desktop, mobile or both."}})

// patchRuns is how often Patch reads and writes again when another write
// came between, without an ifVersion to hold it to.
const patchRuns = 5

// Patch changes the actor's desktop or mobile layout, or both, and keeps
// the other as it is: a nil one is kept, a JSON null empties it. With
// ifVersion ≥ 0 it writes only over that version (ErrStale otherwise);
// without, it writes over whatever it read, reading again when another
// write came between, so that two patches at once of the two layouts both
// land. It returns ErrEmptyPatch, a KindInvalid error for a bad or too
// large layout, and ErrStale.
func (s *Service) Patch(ctx context.Context, a userd.Actor, desktop, mobile json.RawMessage, ifVersion int) (Layout, error) {
	if desktop == nil && mobile == nil {
		return Layout{}, ErrEmptyPatch
	}
	if _, _, err := Check(desktop, mobile); err != nil {
		return Layout{}, err
	}
	for run := 1; ; run++ {
		var l Layout
		err := s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
			cur, err := Get(ctx, tx, a.UserID)
			if err != nil {
				return err
			}
			if ifVersion >= 0 && cur.Version != ifVersion {
				return ErrStale
			}
			d, m := cur.Desktop, cur.Mobile
			if desktop != nil {
				d = desktop
			}
			if mobile != nil {
				m = mobile
			}
			if d, m, err = Check(d, m); err != nil {
				return err
			}
			l, err = Put(ctx, tx, a.UserID, d, m, cur.Version)
			return err
		})
		if errors.Is(err, ErrStale) && ifVersion < 0 && run < patchRuns {
			continue
		}
		return l, err
	}
}
