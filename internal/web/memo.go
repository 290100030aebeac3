package web

import (
	"strconv"
	"time"

	"github.com/userd/userd/internal/platform/memo"
)

// DefaultCachedPages is how many pages of lists a Server remembers unless
// configured otherwise.
const DefaultCachedPages = 1000

// recheckAfter bounds how long a remembered page or count is trusted, for
// changes that announce nothing (see auth's own bound).
const recheckAfter = 5 * time.Second

// memos are what the Server remembers between requests: each entry until a
// transaction of any process invalidates what it was read from.
type memos struct {
	unread        *memo.Cache[int]         // by user
	notifications *memo.Cache[encodedPage] // first pages, by user, filter and limit
	follows       *memo.Cache[encodedPage] // pages, by user, side, cursor and limit
	refs          *memo.Cache[string]      // user ids, by id or auth_user_id
	items         *memo.Cache[encodedPage] // anonymous answers of GET /v1/items, by the slugs asked
	streams       *memo.Watchers           // the sessions and users of open streams
}

func newMemos(s *Server, pages int) memos {
	return memos{
		unread:        memo.New[int](s.db.Now, 10*pages, recheckAfter),
		notifications: memo.New[encodedPage](s.db.Now, pages, recheckAfter),
		follows:       memo.New[encodedPage](s.db.Now, pages, recheckAfter),
		refs:          memo.New[string](s.db.Now, 10*pages, recheckAfter),
		items:         memo.New[encodedPage](s.db.Now, pages, recheckAfter),
		streams:       memo.NewWatchers(),
	}
}

// Caches returns what the Server and its authentication remember, and the
// watchers of open event streams, for memo.Run: without it, they remember
// nothing, and streams learn of a revoked session only at their periodic
// check. The watchers come last, so that a stream that checks its
// credential again does not find it still remembered.
func (s *Server) Caches() []memo.Fed {
	return append(s.auth.Memos(), s.items.Memo(), s.memo.unread, s.memo.notifications, s.memo.follows, s.memo.refs, s.memo.items, s.memo.streams)
}

// CacheStats returns the counts of what the Server and the services it
// serves remember, by the cache's name, for metrics.
func (s *Server) CacheStats() map[string]memo.Stats {
	return map[string]memo.Stats{
		"auth_callers":       s.auth.MemoStats(),
		"access_tokens":      s.auth.VerifiedStats(),
		"items":              s.items.MemoStats(),
		"unread_counts":      s.memo.unread.Stats(),
		"notification_pages": s.memo.notifications.Stats(),
		"follow_pages":       s.memo.follows.Stats(),
		"user_refs":          s.memo.refs.Stats(),
		"item_pages":         s.memo.items.Stats(),
	}
}

// pageKey is a cache key of a list's page.
func pageKey(parts ...string) string {
	k := ""
	for _, p := range parts {
		k += strconv.Quote(p)
	}
	return k
}
