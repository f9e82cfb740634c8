package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"aperture/feed"
	"aperture/web"
)

// receiver is a webhook callback on 127.0.0.1 that echoes challenges
// (when echo is set) and records deliveries.
type receiver struct {
	*httptest.Server
	mu         sync.Mutex
	echo       bool
	deliveries []*http.Request
	bodies     [][]byte
}

func newReceiver(t *testing.T, echo bool) *receiver {
	r := &receiver{echo: echo}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet {
			if r.echo && req.URL.Query().Get("hub.mode") == "subscribe" {
				io.WriteString(w, req.URL.Query().Get("hub.challenge"))
				return
			}
			w.WriteHeader(http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.deliveries, r.bodies = append(r.deliveries, req), append(r.bodies, b)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

// TestSubscriptions: verification first, then signed deliveries of
// matching posts only; callbacks pointing at private addresses are
// refused without a connection.
func TestSubscriptions(t *testing.T) {
	ts := newServer(t, web.Config{})
	watcher, _ := ts.signup("watcher")
	ana, _ := ts.signup("ana")
	good := newReceiver(t, true)

	// A callback that does not echo the challenge is refused; nothing is stored.
	silent := newReceiver(t, false)
	wantProblem(t, ts.do("POST", "/api/v1/subscriptions", watcher, map[string]any{"object": "tag", "tag": "sunset", "callback_url": silent.URL + "/hook"}), 422)
	if r := ts.do("GET", "/api/v1/subscriptions", watcher, nil); !strings.Contains(string(r.body), `"items":[]`) {
		t.Fatalf("a refused subscription was stored: %s", r.body)
	}

	r := ts.do("POST", "/api/v1/subscriptions", watcher, map[string]any{"object": "tag", "tag": "#Sunset", "callback_url": good.URL + "/hook"})
	if r.status != 201 {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}
	var sub web.SubscriptionView
	json.Unmarshal(r.body, &sub)
	if len(sub.Secret) < 32 || sub.Status != "active" || sub.Tag != "sunset" {
		t.Fatalf("subscription: %+v", sub)
	}
	geo := ts.do("POST", "/api/v1/subscriptions", watcher, map[string]any{"object": "geo", "lat": 38.72, "lon": -9.14, "radius_km": 5, "callback_url": good.URL + "/geo"})
	if geo.status != 201 {
		t.Fatalf("geo: %d %s", geo.status, geo.body)
	}

	ts.share(ana, "no tag here") // in Lisbon: the geography matches
	p := ts.shareAt(ana, "golden #sunset", "Tokyo", 35.68, 139.69)
	ts.drain()
	deadline := time.Now().Add(5 * time.Second)
	for {
		good.mu.Lock()
		n := len(good.deliveries)
		good.mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	good.mu.Lock()
	defer good.mu.Unlock()
	if len(good.deliveries) != 2 {
		t.Fatalf("%d deliveries, want 2 (the tag and the place)", len(good.deliveries))
	}
	for i, req := range good.deliveries {
		var n feed.Notification
		json.Unmarshal(good.bodies[i], &n)
		if req.URL.Path == "/hook" {
			if n.PostID != p.ID || n.Object != "tag" || n.ObjectID != "sunset" || n.Author != "ana" {
				t.Fatalf("tag notification: %+v", n)
			}
			m := hmac.New(sha256.New, []byte(sub.Secret))
			m.Write(good.bodies[i])
			if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); req.Header.Get("X-Aperture-Signature") != want {
				t.Fatalf("signature %q, want %q", req.Header.Get("X-Aperture-Signature"), want)
			}
		} else if n.Object != "geo" || n.Caption != "no tag here" {
			t.Fatalf("geo notification: %+v", n)
		}
	}
}

// TestSubscriptionSSRF: loopback, private, link-local and metadata
// addresses, names that resolve to them and redirects to them are refused
// unless allowed; the tests' own 127.0.0.1 is allowed only by the list.
func TestSubscriptionSSRF(t *testing.T) {
	saved := webhookAllow
	webhookAllow = nil
	ts := newServer(t, web.Config{})
	webhookAllow = saved
	tok, _ := ts.signup("watcher")
	good := newReceiver(t, true)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.0.0.1/hook", http.StatusFound)
	}))
	defer redirect.Close()
	for _, cb := range []string{good.URL, "http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]:9/hook",
		"http://inside.example/hook", "http://10.1.2.3/hook", "http://0.0.0.0:9/", redirect.URL} {
		r := ts.do("POST", "/api/v1/subscriptions", tok, map[string]any{"object": "tag", "tag": "x", "callback_url": cb})
		m := wantProblem(t, r, 422)
		if d := m["detail"].(string); !strings.Contains(d, "not public") {
			t.Fatalf("%s: %q", cb, d)
		}
	}
	// With the allow list a redirect is still not followed.
	ts2 := newServer(t, web.Config{})
	tok2, _ := ts2.signup("watcher")
	r := ts2.do("POST", "/api/v1/subscriptions", tok2, map[string]any{"object": "tag", "tag": "x", "callback_url": redirect.URL})
	if d := wantProblem(t, r, 422)["detail"].(string); !strings.Contains(d, "302") {
		t.Fatalf("redirect: %q", d)
	}
	// A name that resolves to an allowed address works.
	u := strings.Replace(good.URL, "127.0.0.1", "hooks.example", 1)
	if r := ts2.do("POST", "/api/v1/subscriptions", tok2, map[string]any{"object": "tag", "tag": "x", "callback_url": u}); r.status != 201 {
		t.Fatalf("allowed name: %d %s", r.status, r.body)
	}
}

// TestSubscriptionProblemsShowNoAddresses: whatever stops a callback's
// verification — an address that is not public, however it is written or
// reached, a name that does not resolve, a closed port — the problem's
// detail says so in a sentence that carries no internal address, no
// resolver address and no raw network error.
func TestSubscriptionProblemsShowNoAddresses(t *testing.T) {
	saved := webhookAllow
	webhookAllow = nil
	ts := newServer(t, web.Config{})
	webhookAllow = saved
	tok, _ := ts.signup("watcher")
	ts2 := newServer(t, web.Config{}) // 127.0.0.1 allowed, to reach a closed port
	tok2, _ := ts2.signup("watcher")
	closed := httptest.NewServer(http.NotFoundHandler())
	port := closed.URL[strings.LastIndex(closed.URL, ":")+1:]
	closed.Close()
	leaks := regexp.MustCompile(`(\d{1,3}\.){3}\d{1,3}|([0-9a-fA-F]{0,4}:){2,}|dial tcp|lookup |connect:|x509|tls:`)
	cases := []struct {
		ts      *testServer
		tok, cb string
		says    string
	}{
		{ts, tok, "http://10.1.2.3/hook", "The callback's address is not public"},
		{ts, tok, "http://198.18.0.1/hook", "The callback's address is not public"},
		{ts, tok, "http://240.0.0.1/hook", "The callback's address is not public"},
		{ts, tok, "http://100.64.0.1/hook", "The callback's address is not public"},
		{ts, tok, "http://[64:ff9b::a9fe:a9fe]/latest/meta-data", "The callback's address is not public"},
		{ts, tok, "http://[::ffff:169.254.169.254]/latest/meta-data", "The callback's address is not public"},
		{ts, tok, "http://[2002:a00:1::1]/hook", "The callback's address is not public"},
		{ts, tok, "http://[::127.0.0.1]:9/hook", "The callback's address is not public"},
		{ts, tok, "http://[fd00::1]/hook", "The callback's address is not public"},
		{ts, tok, "http://inside.example/hook", "The callback's host inside.example resolves to an address that is not public"},
		{ts, tok, "http://nowhere.example/hook", "there is no host called nowhere.example"},
		{ts2, tok2, "http://hooks.example:" + port + "/hook", "hooks.example refused the connection"},
		{ts2, tok2, "http://127.0.0.1:" + port + "/hook", "the host refused the connection"},
	}
	for _, tc := range cases {
		t.Run(tc.cb, func(t *testing.T) {
			r := tc.ts.do("POST", "/api/v1/subscriptions", tc.tok, map[string]any{"object": "tag", "tag": "x", "callback_url": tc.cb})
			d := wantProblem(t, r, 422)["detail"].(string)
			if !strings.Contains(d, tc.says) {
				t.Fatalf("detail %q, want it to say %q", d, tc.says)
			}
			if m := leaks.FindString(d); m != "" {
				t.Fatalf("detail %q carries %q", d, m)
			}
		})
	}
}
