package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/userd/userd/internal/feature/notify"
)

// fanOut opens n notification streams, as many for each user as a user may
// hold open (notify.MaxPerUser) over the users whose tokens and ids it is
// given, sends each of those users one notification in one request of the
// administrator's (admin), and measures how long each stream takes to
// deliver it: RPS is deliveries per second of the whole fan-out, P50/P99
// the delivery latencies, Errors the streams that got nothing within 30 s.
func fanOut(ctx context.Context, base, admin string, tokens, ids []string, n int) (result, error) {
	users := min((n+notify.MaxPerUser-1)/notify.MaxPerUser, len(tokens))
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n + 10}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var ready, got sync.WaitGroup
	arrived := make([]time.Time, n)
	ready.Add(n)
	got.Add(n)
	for i := range n {
		go func() {
			defer got.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/me/notifications/stream", nil)
			req.Header.Set("Authorization", "Bearer "+tokens[i%users])
			res, err := client.Do(req)
			if err != nil {
				ready.Done()
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			opened := false
			for sc.Scan() {
				if !opened && sc.Text() == "" { // the opening comment's end
					opened = true
					ready.Done()
				}
				if strings.HasPrefix(sc.Text(), "event: notification") {
					arrived[i] = time.Now()
					return
				}
			}
			if !opened {
				ready.Done()
			}
		}()
	}
	ready.Wait()
	body, err := json.Marshal(map[string]any{"user_ids": ids[:users], "type": "bench.fanout", "title": "fan-out"})
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	res, err := client.Do(mustRequest(ctx, "POST", base+"/v1/admin/notifications", admin, string(body)))
	if err != nil {
		return result{}, err
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		return result{}, fmt.Errorf("send notification: %s", res.Status)
	}
	waited := make(chan struct{})
	go func() { got.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		cancel()
		<-waited
	}
	var lat []time.Duration
	for _, at := range arrived {
		if !at.IsZero() {
			lat = append(lat, at.Sub(start))
		}
	}
	slices.Sort(lat)
	r := result{Requests: int64(len(lat)), Errors: int64(n - len(lat))}
	if len(lat) > 0 {
		r.P50, r.P99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
		r.RPS = float64(len(lat)) / lat[len(lat)-1].Seconds()
	}
	return r, nil
}

func mustRequest(ctx context.Context, method, url, tok, body string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		panic(err) // the harness's own URLs
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}
