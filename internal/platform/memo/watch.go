package memo

import (
	"sync"

	"github.com/userd/userd"
)

// Watchers tells work that stands on some keys when a transaction of any
// process invalidates one of them, for what must stop rather than forget
// when its ground changes: an event stream whose session ends. Run feeds it
// like a Cache.
type Watchers struct {
	mu    sync.Mutex
	byKey map[string]map[*Watch]struct{}
	all   map[*Watch]struct{}
}

// Watch is one watcher's interest in some keys, from Watchers.Watch until
// Stop.
type Watch struct {
	c    chan struct{}
	ws   *Watchers
	keys []string
}

// NewWatchers returns Watchers with no one watching. They hear nothing
// until Run feeds them.
func NewWatchers() *Watchers {
	return &Watchers{byKey: map[string]map[*Watch]struct{}{}, all: map[*Watch]struct{}{}}
}

// Watch starts watching keys (and EveryKey, which names all of them).
func (ws *Watchers) Watch(keys ...string) *Watch {
	w := &Watch{c: make(chan struct{}, 1), ws: ws, keys: keys}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.all[w] = struct{}{}
	for _, k := range keys {
		if ws.byKey[k] == nil {
			ws.byKey[k] = map[*Watch]struct{}{}
		}
		ws.byKey[k][w] = struct{}{}
	}
	return w
}

// C receives after one of the watched keys, or EveryKey, was invalidated,
// and when invalidations may have been missed (Run's subscription broke, or
// listens again after it broke): the watcher should check again what it
// stands on. Signals that come before the watcher receives merge into one.
// Invalidations of this process arrive before the writing transaction
// returns; those of others as the database delivers them.
func (w *Watch) C() <-chan struct{} { return w.c }

// Stop ends the watch: no signal is sent to C once it returns.
func (w *Watch) Stop() {
	ws := w.ws
	ws.mu.Lock()
	defer ws.mu.Unlock()
	delete(ws.all, w)
	for _, k := range w.keys {
		delete(ws.byKey[k], w)
		if len(ws.byKey[k]) == 0 {
			delete(ws.byKey, k)
		}
	}
}

// signal tells w to check again, without waiting for it.
func (w *Watch) signal() {
	select {
	case w.c <- struct{}{}:
	default: // a signal is already pending
	}
}

// invalidate signals the watchers of key, or all of them for EveryKey.
func (ws *Watchers) invalidate(key string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	watchers := ws.byKey[key]
	if key == userd.EveryKey {
		watchers = ws.all
	}
	for w := range watchers {
		w.signal()
	}
}

// setLive signals every watcher: whether the subscription broke or listens
// anew, invalidations may have been missed.
func (ws *Watchers) setLive(bool) {
	ws.invalidate(userd.EveryKey)
}
