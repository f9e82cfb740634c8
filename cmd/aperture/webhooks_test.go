package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWebhookDeliveryFlow subscribes to a hashtag on the real binary,
// shares posts with it, and measures deliveries per second and the time
// from a post's acknowledgement to its delivery.
func TestWebhookDeliveryFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("a timing run")
	}
	const posts = 200
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			io.WriteString(w, r.URL.Query().Get("hub.challenge"))
			return
		}
		b, _ := io.ReadAll(r.Body)
		i := strings.Index(string(b), `"post_id":"`)
		mu.Lock()
		arrived[string(b[i+11:i+11+strings.IndexByte(string(b[i+11:]), '"')])] = time.Now()
		mu.Unlock()
	}))
	defer srv.Close()
	p := start(t, t.TempDir(), "--webhook-allow", "127.0.0.1")
	_, m := call(t, p, "POST", "/api/v1/auth/signup", "", map[string]string{"username": "hooker", "password": "correct horse battery"})
	tok := m["access_token"].(string)
	if code, m := call(t, p, "POST", "/api/v1/subscriptions", tok, map[string]any{"object": "tag", "tag": "live", "callback_url": srv.URL}); code != 201 {
		t.Fatalf("subscribe: %d %v", code, m)
	}
	media := make([]string, posts)
	for i := range media {
		media[i] = uploadPhoto(t, p, tok)
	}
	acked := map[string]time.Time{}
	start := time.Now()
	for i := range posts {
		code, m := call(t, p, "POST", "/api/v1/posts", tok, map[string]any{"caption": fmt.Sprintf("#live %d", i), "media_ids": []string{media[i]}})
		if code != 201 {
			t.Fatalf("post: %d %v", code, m)
		}
		acked[m["id"].(string)] = time.Now()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(arrived)
		mu.Unlock()
		if n == posts || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrived) != posts {
		t.Fatalf("%d of %d delivered", len(arrived), posts)
	}
	var lat []time.Duration
	last := start
	for id, at := range arrived {
		lat = append(lat, at.Sub(acked[id]))
		if at.After(last) {
			last = at
		}
	}
	slices.Sort(lat)
	t.Logf("%d posts → %d deliveries in %s (%.0f deliveries/s); post to delivery p50 %s, p99 %s", posts, len(arrived),
		last.Sub(start).Round(time.Millisecond), float64(posts)/last.Sub(start).Seconds(),
		lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond))
}
