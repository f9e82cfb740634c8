package web_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"aperture/web"
)

// TestActionLimits: every limited action answers 429 with Retry-After and
// X-RateLimit-* once over its rate, per account, and recovers after the
// window.
func TestActionLimits(t *testing.T) {
	one := web.Rate{N: 1, Per: 400 * time.Millisecond}
	ts := newServer(t, web.Config{Limits: web.Limits{Posts: one, Comments: one, Likes: one, Follows: one, Uploads: one, Reads: web.Rate{N: 2, Per: 400 * time.Millisecond}}})
	tok, _ := ts.signup("ana")
	other, _ := ts.signup("ben")
	p := ts.share(tok, "first") // spends ana's upload and post
	time.Sleep(450 * time.Millisecond)
	id := p.ID.String()
	for _, a := range []struct{ name, method, path string }{
		{"posts", "POST", "/api/v1/posts"},
		{"comments", "POST", "/api/v1/posts/" + id + "/comments"},
		{"likes", "POST", "/api/v1/posts/" + id + "/like"},
		{"follows", "POST", "/api/v1/users/ben/follow"},
		{"uploads", "POST", "/api/v1/media"},
		{"reads", "GET", "/api/v1/feed"},
	} {
		var r resp
		for range 3 {
			r = ts.do(a.method, a.path, tok, map[string]string{"text": "hi"})
			if r.status == http.StatusTooManyRequests {
				break
			}
		}
		m := wantProblem(t, r, http.StatusTooManyRequests)
		if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || r.header.Get("X-RateLimit-Limit") == "" ||
			r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("%s: headers %v", a.name, r.header)
		}
		if d := m["detail"].(string); d != "You are doing that too often; wait 1 second and try again." {
			t.Fatalf("%s: %q", a.name, d)
		}
		// Another account is not held back by ana's use.
		if r := ts.do(a.method, a.path, other, map[string]string{"text": "hi"}); r.status == http.StatusTooManyRequests {
			t.Fatalf("%s: ben was limited by ana's requests", a.name)
		}
	}
	time.Sleep(450 * time.Millisecond)
	if r := ts.do("POST", "/api/v1/posts/"+id+"/like", tok, nil); r.status != 200 {
		t.Fatalf("after the window: %d %s", r.status, r.body)
	}
	// The HTML forms count against the same limits.
	v := ts.visitor()
	v.signup("cy")
	v.get("/p/" + id)
	time.Sleep(450 * time.Millisecond)
	v.post("/p/"+id+"/like", nil, false)
	if r := v.post("/p/"+id+"/unlike", nil, false); r.status != http.StatusTooManyRequests {
		t.Fatalf("form over the limit: %d", r.status)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]web.Rate{"100/1h": {100, time.Hour}, "off": {}, "0": {}, "5/30s": {5, 30 * time.Second}} {
		if got, err := web.ParseRate(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"100", "x/1h", "5/never", "-1/1h"} {
		if _, err := web.ParseRate(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}
