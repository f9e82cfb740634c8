package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"aperture/web"
)

// TestErrorTracker: a report reaches a Sentry-compatible endpoint (run on
// 127.0.0.1) with the request ID, route, user and error.
func TestErrorTracker(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.WriteHeader(200)
	}))
	defer srv.Close()
	dsn := strings.Replace(srv.URL, "http://", "http://publickey@", 1) + "/42"
	report, flush, err := errorTracker(dsn, "test")
	if err != nil {
		t.Fatal(err)
	}
	report(web.ErrorReport{RequestID: "req-123", UserID: "77", Method: "GET", Route: "/api/v1/feed", Status: 500, Err: errors.New("disk on fire")})
	flush()
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(bodies, "\n")
	for _, want := range []string{"disk on fire", "req-123", "GET /api/v1/feed", `"id":"77"`} {
		if !strings.Contains(all, want) {
			t.Fatalf("the event lacks %q: %s", want, all)
		}
	}
	if _, _, err := errorTracker("not a dsn", "test"); err == nil {
		t.Fatal("a malformed DSN was accepted")
	}
}
