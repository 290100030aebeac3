package web

import (
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/userd/userd/internal/feature/keys"
)

// Flag is a setting of the process as the console shows it: its name, its
// effective value (a secret's hidden by whoever made it: see cmd/userd),
// and whether it was given (on the command line or in the environment)
// rather than left at its default.
type Flag struct {
	Name, Value string
	Given       bool
}

// MasterKey is what may be said of the master key that seals secrets at
// rest: its id (a hash's first bytes, not the key), where it was read
// from, when that file was last written (zero when the key came from the
// environment), and how many former keys still open what they sealed.
type MasterKey struct {
	ID, Source string
	Written    time.Time
	Old        int
}

// setting is a line of the settings page.
type setting struct{ Name, Value string }

// signingKey is a line of the signing keys' table.
type signingKey struct {
	keys.Age
	Old string // how long ago it was made
}

// settingsPage is the settings page: the process, its keys, its flags.
type settingsPage struct {
	Process   []setting
	MasterKey MasterKey
	Written   string // how long ago the master key's file was written
	Signing   []signingKey
	Flags     []Flag
}

// since says how long ago t was, in days (or hours, or minutes, when
// fewer).
func since(now, t time.Time) string {
	n, unit := int(now.Sub(t)/time.Minute), "minute"
	switch d := now.Sub(t); {
	case d >= 48*time.Hour:
		n, unit = int(d/(24*time.Hour)), "day"
	case d >= 2*time.Hour:
		n, unit = int(d/time.Hour), "hour"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// consoleSettings shows what this process runs with, without secrets: its
// versions, the database's engine and migration, the web layer's settings,
// the keys' ages and every flag.
func (s *Server) consoleSettings(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Settings"
	ctx := r.Context()
	server, err := s.db.ServerVersion(ctx)
	var migration int64
	if err == nil {
		migration, err = s.db.MigrationVersion(ctx)
	}
	var ages []keys.Age
	if err == nil {
		ages, err = s.keys.Ages(ctx)
	}
	if err != nil {
		s.consoleFail(w, r, v, v.Title, err)
		return
	}
	now := s.db.Now()
	p := settingsPage{MasterKey: s.cfg.MasterKey, Flags: s.cfg.Flags}
	if !p.MasterKey.Written.IsZero() {
		p.Written = since(now, p.MasterKey.Written)
	}
	for _, a := range ages {
		p.Signing = append(p.Signing, signingKey{Age: a, Old: since(now, a.CreatedAt)})
	}
	cached := fmt.Sprint(s.cfg.CachedPages)
	if s.cfg.CachedPages < 0 {
		cached = "none"
	}
	p.Process = []setting{
		{"Version", s.cfg.Version},
		{"Go", runtime.Version()},
		{"Database engine", s.db.Engine() + " " + server},
		{"Migration", strconv.FormatInt(migration, 10)},
		{"Public URL", s.cfg.PublicURL},
		{"Cookies Secure", fmt.Sprint(s.secure())},
		{"Trusted proxies", fmt.Sprint(len(s.cfg.TrustedProxies))},
		{"Cached list pages", cached},
		{"Public auth_user_id", fmt.Sprint(!s.cfg.HideAuthUserID)},
		{"OpenID Connect log-in", fmt.Sprint(s.fed != nil)},
	}
	v.Data = p
	s.render(w, http.StatusOK, "settings", v)
}
