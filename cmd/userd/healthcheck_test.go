package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestHealthcheck: ready when /readyz answers 200 (at the port of an
// every-interface --addr, on loopback), an error when it answers 503 or
// nothing listens.
func TestHealthcheck(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	port := srv.Listener.Addr().String()[strings.LastIndex(srv.Listener.Addr().String(), ":"):]
	var out bytes.Buffer
	if err := healthcheck(context.Background(), []string{"--addr", "0.0.0.0" + port}, &out); err != nil || out.String() != "ready\n" {
		t.Fatalf("ready server: %v %q", err, out.String())
	}
	status.Store(http.StatusServiceUnavailable)
	if err := healthcheck(context.Background(), []string{"--addr", "127.0.0.1" + port}, &out); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("not ready: %v", err)
	}
	srv.Close()
	if err := healthcheck(context.Background(), []string{"--addr", "127.0.0.1" + port}, &out); err == nil {
		t.Fatal("nothing listening: no error")
	}
}
