package engagement

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/batch"
	"github.com/userd/userd/internal/platform/memo"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Service serves client profiles, votes, favorites, comments, views and
// rankings. What a user does with items goes to their activity log under
// their client profile.
type Service struct {
	db      *sqldb.DB
	deps    Deps
	viewing *viewState
	voting  *batch.Batcher[*ballot]
	ranked  *rankingCache
	known   *memo.Cache[shared] // by item
}

// Deps are what a Service works with.
type Deps struct {
	// Keyring seals the daily keys that hash anonymous viewers.
	Keyring *seal.Keyring
	// Limiter counts Limits; nil limits nothing.
	Limiter *ratelimit.Limiter
	Limits  Limits
	// CachedItems is how many items' counters the Service remembers
	// between requests (see Items); less than 1, none.
	CachedItems int
}

// DefaultCachedItems is how many items' counters a Service remembers
// unless configured otherwise.
const DefaultCachedItems = 10_000

// recheckAfter bounds how long remembered counters are trusted, should an
// invalidation from another process be lost.
const recheckAfter = 5 * time.Second

// Limits are the rate limits of what one user does with items.
type Limits struct {
	Votes    ratelimit.Rule // votes cast, changed or taken back
	Comments ratelimit.Rule // comments written
	Views    ratelimit.Rule // views sent, by a user or, anonymous, from an address
}

// DefaultLimits are the limits unless the operator sets others.
var DefaultLimits = Limits{
	Votes:    ratelimit.Rule{Max: 120, Window: time.Minute},
	Comments: ratelimit.Rule{Max: 10, Window: time.Minute},
	Views:    ratelimit.Rule{Max: 600, Window: time.Minute},
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB, d Deps) *Service {
	return &Service{db: db, deps: d, viewing: &viewState{batches: batch.New[*viewing](maxBatch, commitsAtOnce)},
		voting: batch.New[*ballot](maxVotes, votesAtOnce),
		ranked: &rankingCache{at: map[string]cachedRanking{}}, known: memo.New[shared](db.Now, d.CachedItems, recheckAfter)}
}

// Memo returns what Items remembers, for memo.Run: without it, it
// remembers nothing.
func (s *Service) Memo() memo.Fed { return s.known }

// MemoStats returns the counts of what Items remembers (see memo.Stats).
func (s *Service) MemoStats() memo.Stats { return s.known.Stats() }

// hit counts one of the user's actions against rule, in tx: a refused
// action changes nothing, and neither does its hit.
func (s *Service) hit(ctx context.Context, tx *sqldb.Tx, what, userID string, rule ratelimit.Rule) error {
	return s.deps.Limiter.HitIn(ctx, tx, what+":"+userID, rule)
}

// Vote sets the actor's vote on item to value (1 or -1), making their
// client profile on first use. It returns ErrInvalidItem, ErrInvalidVote and
// ErrUserGone.
func (s *Service) Vote(ctx context.Context, a userd.Actor, c userd.Client, item string, value int) error {
	if value != 1 && value != -1 {
		return ErrInvalidVote
	}
	return s.vote(ctx, a, c, item, value)
}

// Unvote takes the actor's vote on item back; there being none is not an
// error.
func (s *Service) Unvote(ctx context.Context, a userd.Actor, c userd.Client, item string) error {
	return s.vote(ctx, a, c, item, 0)
}

// SetFavorite marks item a favorite of the actor (on) or not; doing it twice
// changes nothing. It returns ErrInvalidItem and ErrUserGone.
func (s *Service) SetFavorite(ctx context.Context, a userd.Actor, c userd.Client, item string, on bool) error {
	if err := CheckItem(item); err != nil {
		return err
	}
	// System: the item's counters are every user's rows, not the actor's.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		return setFavorite(ctx, tx, a.UserID, c, item, on)
	})
}

// Items returns the stats of items (up to MaxItems, each a slug), in the
// order asked, as the viewer (the zero Actor for anyone) sees them; an item
// asked twice is answered twice. It returns ErrInvalidItem and
// ErrTooManyItems.
func (s *Service) Items(ctx context.Context, viewer userd.Actor, items []string) ([]Stats, error) {
	if len(items) == 0 {
		return nil, ErrInvalidItem
	}
	if len(items) > MaxItems {
		return nil, ErrTooManyItems
	}
	var distinct []string
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if err := CheckItem(it); err != nil {
			return nil, err
		}
		if !seen[it] {
			seen[it] = true
			distinct = append(distinct, it)
		}
	}
	got, err := s.read(ctx, viewer.UserID, distinct)
	if err != nil {
		return nil, err
	}
	by := make(map[string]Stats, len(got))
	for _, st := range got {
		by[st.Item] = st
	}
	out := make([]Stats, len(items))
	for i, it := range items {
		out[i] = by[it]
	}
	return out, nil
}

// read returns the stats of distinct, valid items as viewerID ("" for
// anyone) sees them. What every viewer sees comes from memory when it is
// there (every change of it invalidates it in every process: see add); the
// rest, and a signed-in viewer's votes and favorites, from the database,
// in one read-only transaction.
func (s *Service) read(ctx context.Context, viewerID string, items []string) ([]Stats, error) {
	now := s.db.Now()
	out := make([]Stats, len(items))
	var missing []int
	for i, it := range items {
		if sh, ok := s.known.Get(it); ok {
			out[i] = sh.stats(it, now)
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 && viewerID == "" {
		return out, nil
	}
	gen := s.known.Generation()
	// System: counters are public sums of every user's rows; of the viewer's
	// own rows only their vote and favorite leave.
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if len(missing) > 0 {
			slugs := make([]string, len(missing))
			for j, i := range missing {
				slugs[j] = items[i]
			}
			got, err := readShared(ctx, tx, slugs)
			if err != nil {
				return err
			}
			for j, i := range missing {
				out[i] = got[j].stats(items[i], tx.Now)
				s.known.Put(items[i], got[j], now, gen, userd.ItemKey(items[i]))
			}
		}
		if viewerID == "" {
			return nil
		}
		return readMine(ctx, tx, viewerID, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Favorites returns up to limit of the actor's favorites, newest first,
// after the favorite with id before.
func (s *Service) Favorites(ctx context.Context, a userd.Actor, before string, limit int) (favs []Fav, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		favs, err = Favorites(ctx, tx, a.UserID, before, limit)
		return err
	})
	return favs, err
}

// Votes returns up to limit of the actor's votes, newest first, after the
// vote with id before.
func (s *Service) Votes(ctx context.Context, a userd.Actor, before string, limit int) (votes []MyVote, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		votes, err = Votes(ctx, tx, a.UserID, before, limit)
		return err
	})
	return votes, err
}

// Profile is a user's client profile.
type Profile struct {
	ID, UserID, Plan, Status             string
	DisplayName, Country, City, Bio, Web string
	CreatedAt, UpdatedAt                 time.Time
}

// ProfileInput is what a user may write of their client profile; the plan
// is not theirs to choose.
type ProfileInput struct {
	Status, DisplayName, Country, City, Bio, Website string
}

// Statuses are the values of a client profile's status.
var Statuses = []string{"active", "inactive", "suspended"}

func (in ProfileInput) check() error {
	var fs []userd.FieldError
	fs = userd.CheckText(fs, "display_name", in.DisplayName, 100)
	fs = userd.CheckText(fs, "country", in.Country, 100)
	fs = userd.CheckText(fs, "city", in.City, 100)
	fs = userd.CheckText(fs, "bio", in.Bio, 2000)
	fs = userd.CheckText(fs, "website", in.Website, 2000)
	if in.Status != "" && !slices.Contains(Statuses, in.Status) {
		fs = append(fs, userd.FieldError{Field: "status", Code: "invalid_status", Message: "The status is active, inactive or suspended."})
	}
	if in.Website != "" {
		u, err := url.Parse(in.Website)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			fs = append(fs, userd.FieldError{Field: "website", Code: "invalid_url", Message: "The website is an http or https URL."})
		}
	}
	return userd.Invalid(fs)
}

const profileColumns = `id, user_id, plan, status, display_name, country, city, bio, website, created_at, updated_at`

func scanProfile(row sqldb.Scanner) (Profile, error) {
	var p Profile
	err := row.Scan(&p.ID, &p.UserID, &p.Plan, &p.Status, &p.DisplayName, &p.Country, &p.City, &p.Bio, &p.Web, &p.CreatedAt, &p.UpdatedAt)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

// Profile returns the actor's client profile, or ErrProfileNotFound.
func (s *Service) Profile(ctx context.Context, a userd.Actor) (p Profile, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		p, err = scanProfile(tx.QueryRow(ctx, `SELECT `+profileColumns+` FROM client_profiles WHERE user_id = $1`, a.UserID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrProfileNotFound
		}
		return err
	})
	return p, err
}

// PutProfile creates or replaces the actor's client profile (status active
// when not given), and logs it in their activity. It returns a validation
// error listing the bad fields.
func (s *Service) PutProfile(ctx context.Context, a userd.Actor, c userd.Client, in ProfileInput) (p Profile, err error) {
	if err := in.check(); err != nil {
		return p, err
	}
	if in.Status == "" {
		in.Status = "active"
	}
	err = s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		p, err = scanProfile(tx.QueryRow(ctx, `INSERT INTO client_profiles (id, user_id, status, display_name, country, city, bio, website, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
			ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, display_name = excluded.display_name, country = excluded.country,
				city = excluded.city, bio = excluded.bio, website = excluded.website, updated_at = excluded.updated_at
			RETURNING `+profileColumns,
			userd.NewID(tx.Now), a.UserID, in.Status, in.DisplayName, in.Country, in.City, in.Bio, in.Website, tx.Now))
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, ClientID: p.ID, Action: audit.ProfileUpdated,
			TargetType: "client_profile", TargetID: p.ID, IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"status": p.Status}})
	})
	return p, err
}
