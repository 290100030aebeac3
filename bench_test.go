package userd

import (
	"testing"
	"time"
)

func BenchmarkGrantsHas(b *testing.B) {
	g := Grants{Permissions: []string{"account:read", "account:write", "activity_logs:read", "notifications:send", "roles:read", "roles:write", "users:read", "users:write"}}
	for b.Loop() {
		if !g.Has("users:write") {
			b.Fatal("missing")
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	now := time.Now()
	for b.Loop() {
		NewID(now)
	}
}
