package metrics

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestObserveRequest: requests are counted by method, the route's path
// and status; an unknown method is OTHER, a request no route served is
// "none", and the series are made once.
func TestObserveRequest(t *testing.T) {
	m := New(Sources{})
	m.ObserveRequest("GET", "GET /v1/users/{id}", 200, time.Millisecond)
	m.ObserveRequest("GET", "GET /v1/users/{id}", 200, time.Millisecond)
	m.ObserveRequest("BREW", "/", 404, time.Millisecond)
	m.ObserveRequest("PROPFIND", "/", 404, time.Millisecond)
	m.ObserveRequest("GET", "", 405, time.Millisecond)
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		if f.GetName() != "userd_http_requests_total" {
			continue
		}
		for _, s := range f.Metric {
			l := s.Label // sorted by name: method, route, status
			got = append(got, fmt.Sprintf("%s %s %s %v", l[0].GetValue(), l[1].GetValue(), l[2].GetValue(), s.Counter.GetValue()))
		}
	}
	want := []string{"GET /v1/users/{id} 200 2", "GET none 405 1", "OTHER / 404 2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("userd_http_requests_total (-want +got):\n%s", d)
	}
	if n := len(*m.requests.seen.Load()); n != 3 {
		t.Errorf("%d series kept; want 3", n)
	}
}

// BenchmarkObserveRequest: what ServeHTTP adds to each request. It
// allocates nothing once a route's series exist.
func BenchmarkObserveRequest(b *testing.B) {
	m := New(Sources{})
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest("GET", "GET /v1/me", 200, time.Millisecond)
	}
}

// TestObserveRequestConcurrently: requests on several routes at once are
// each counted once, while their series are being made.
func TestObserveRequestConcurrently(t *testing.T) {
	m := New(Sources{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				m.ObserveRequest("GET", fmt.Sprintf("GET /v1/route-%d", (g+i)%10), 200+i%3, time.Millisecond)
			}
		})
	}
	wg.Wait()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	series := 0
	for _, f := range fams {
		if f.GetName() == "userd_http_requests_total" {
			for _, s := range f.Metric {
				total += s.Counter.GetValue()
				series++
			}
		}
	}
	if total != 8*500 || series != 30 || len(*m.requests.seen.Load()) != 30 {
		t.Fatalf("%v requests in %d series (%d kept); want 4000 in 30", total, series, len(*m.requests.seen.Load()))
	}
}
