package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// apiKey creates an API key carrying the given permissions through the
// administration API, as an administrator (the session admin) would, and
// returns the key.
func apiKey(ctx context.Context, base, admin, name string, permissions ...string) (string, error) {
	body, err := json.Marshal(map[string]any{"name": name, "permissions": permissions})
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(mustRequest(ctx, "POST", base+"/v1/admin/api-keys", admin, string(body)))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		Key string `json:"key"`
	}
	if err := jsonDecode(res, &out); err != nil || res.StatusCode != http.StatusCreated || out.Key == "" {
		return "", fmt.Errorf("create api key: %s %v", res.Status, err)
	}
	return out.Key, nil
}

// apiKeyWorkload runs W9: GET /v1/admin/users/{id} round the seeded users
// ids, authenticated by the administrator's session token and by an API key
// that carries users:read (made through the administration API by that
// administrator). The target is issue 15's: a request by a key costs no
// more than one by a session, so the key's rate is set against the
// session's. The two alternate in four legs of d/2 (session, key, key,
// session), so that the load of anything else on the machine, and the
// server's warming, fall on both alike; each side's figures are of its two
// legs together. Under -pprof each side's first leg is profiled.
func apiKeyWorkload(ctx context.Context, tg *target, ids []string, conns int, d time.Duration, floor result) ([]row, error) {
	key, err := apiKey(ctx, tg.base, tg.session, "bench W9", "users:read")
	if err != nil {
		return nil, err
	}
	users := func(bearer string) request {
		return func(i int64) (*http.Request, error) {
			return get(tg.base, "/v1/admin/users/"+ids[i%int64(len(ids))], bearer)(i)
		}
	}
	sides := []struct {
		name string
		mk   request
		runs runs
	}{{"W9 admin user, session", users(tg.session), runs{}}, {"W9 admin user, API key", users(key), runs{}}}
	// One request with each first, so that neither side's figures hold
	// what only a credential's first use does: reading it, and writing its
	// last use (the session's first use was the key's creation). Without
	// it, the key's first leg would begin with every connection reading the
	// key and writing last_used_at at once.
	for _, side := range sides {
		if r := loadN(ctx, 1, 1, side.mk); r.Errors != 0 {
			return nil, fmt.Errorf("%s: the first request failed", side.name)
		}
	}
	resetPeak(tg.pid)
	legs := make([]string, 4)
	for leg, side := range []int{0, 1, 1, 0} {
		wait := func() {}
		if leg < 2 {
			wait = tg.profile(sides[side].name, d/2)
		}
		r := loadAll(ctx, conns, d/2, sides[side].mk)
		sides[side].runs = sides[side].runs.add(r)
		legs[leg] = fmt.Sprintf("%s %.0f", []string{"session", "key"}[side], summarize(r).RPS)
		wait()
	}
	rss := peakRSS(tg.pid)
	fmt.Fprintf(os.Stderr, "  %-24s %s req/s\n", "W9 legs", strings.Join(legs, ", "))
	session, byKey := summarize(sides[0].runs), summarize(sides[1].runs)
	fmt.Fprintf(os.Stderr, "  %-24s %s\n", sides[0].name, session)
	fmt.Fprintf(os.Stderr, "  %-24s %s\n", sides[1].name, byKey)
	ratio := byKey.RPS / session.RPS
	fmt.Fprintf(os.Stderr, "  %-24s %.2f of the session's req/s; p50 %.2f, p99 %.2f of the session's\n", "W9 key / session", ratio,
		float64(byKey.P50)/float64(session.P50), float64(byKey.P99)/float64(session.P99))
	return []row{
		{Workload: "W9 admin user (session)", Engine: tg.engine, result: session, Ratio: session.RPS / floor.RPS, RatioOf: "floor",
			Target: "-", Holds: session.Errors == 0, PeakRSSMB: rss},
		{Workload: "W9 admin user (API key)", Engine: tg.engine, result: byKey, Ratio: ratio, RatioOf: "session",
			Target: "≥0.95", Holds: ratio >= 0.95 && byKey.Errors == 0 && session.Errors == 0, PeakRSSMB: rss},
	}, nil
}
