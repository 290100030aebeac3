package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// requests counts HTTP requests by method, route and status, and times
// them by method and route. Each combination's counter and histogram are
// looked up once and kept in a map that is replaced, never changed, so
// that a request reads it without a lock or an allocation.
type requests struct {
	count    *prometheus.CounterVec
	duration *prometheus.HistogramVec

	seen atomic.Pointer[map[requestKey]requestObservers]
	mu   sync.Mutex // serialises replacements of seen
}

// requestKey names a request's series: the route's pattern as the mux has
// it, the method's label and the status. Each is one of few values, so the
// map stays small.
type requestKey struct {
	pattern string
	method  string
	status  int
}

type requestObservers struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// buckets are the bounds of the latency histogram, in seconds: from a
// cached read (under a millisecond) to a slow export.
var buckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func newRequests() *requests {
	r := &requests{
		count: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "userd_http_requests_total",
			Help: "HTTP requests served, by method, route pattern (never the path) and status."}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "userd_http_request_duration_seconds",
			Help: "How long HTTP requests took, by method and route pattern; event streams count until they end.", Buckets: buckets},
			[]string{"method", "route"}),
	}
	r.seen.Store(&map[requestKey]requestObservers{})
	return r
}

// observe counts and times a request. pattern is the mux's pattern of the
// route that served it ("GET /v1/me"; empty when none did).
func (r *requests) observe(method, pattern string, status int, took time.Duration) {
	k := requestKey{pattern: pattern, method: methodLabel(method), status: status}
	o, ok := (*r.seen.Load())[k]
	if !ok {
		o = r.add(k)
	}
	o.count.Inc()
	o.duration.Observe(took.Seconds())
}

// add finds the series of k and keeps them in a new map.
func (r *requests) add(k requestKey) requestObservers {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.seen.Load()
	if o, ok := old[k]; ok {
		return o
	}
	route := routeLabel(k.pattern)
	o := requestObservers{
		count:    r.count.WithLabelValues(k.method, route, strconv.Itoa(k.status)),
		duration: r.duration.WithLabelValues(k.method, route),
	}
	next := make(map[requestKey]requestObservers, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = o
	r.seen.Store(&next)
	return o
}

// methodLabel returns a standard method as it is, and OTHER for any other,
// so that clients cannot make series at will.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// routeLabel returns the path part of a mux pattern ("GET /v1/users/{id}"
// gives "/v1/users/{id}"), or "none" when no route served the request.
func routeLabel(pattern string) string {
	if pattern == "" {
		return "none"
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return strings.TrimLeft(pattern[i+1:], " \t")
	}
	return pattern
}
