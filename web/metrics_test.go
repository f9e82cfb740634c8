package web_test

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"aperture/web"
)

// TestMetricsToken: with a metrics token, /metrics answers 401 (with a
// challenge) to every request without exactly that bearer token, a
// signed-in account's included, and 200 with it.
func TestMetricsToken(t *testing.T) {
	const token = "mt-7f3a9c1e2b4d6f80"
	ts := newServer(t, web.Config{MetricsToken: token})
	session, _ := ts.signup("watcher")
	refused := map[string]string{
		"no header":           "",
		"wrong token":         "Bearer mt-0000000000000000",
		"token prefix":        "Bearer " + token[:10],
		"token and more":      "Bearer " + token + "x",
		"basic scheme":        "Basic " + token,
		"bare token":          token,
		"a session token":     "Bearer " + session,
		"empty bearer":        "Bearer ",
		"token in other case": "Bearer " + strings.ToUpper(token),
	}
	for name, h := range refused {
		t.Run(name, func(t *testing.T) {
			r := ts.get("/metrics", "", map[string]string{"Authorization": h})
			wantProblem(t, r, 401)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") || strings.Contains(string(r.body), "go_goroutines") {
				t.Fatalf("refusal: %v %s", r.header, r.body)
			}
		})
	}
	for _, h := range []string{"Bearer " + token, "bearer " + token, "  Bearer   " + token + "  "} {
		r := ts.get("/metrics", "", map[string]string{"Authorization": h})
		if r.status != 200 || !strings.Contains(string(r.body), "go_goroutines") {
			t.Fatalf("%q: %d %.200s", h, r.status, r.body)
		}
	}
	for _, p := range []string{"/metrics/", "/METRICS"} {
		if r := ts.get(p, "", map[string]string{"Authorization": "Bearer " + token}); r.status != 200 {
			t.Fatalf("%s with the token: %d", p, r.status)
		}
		wantProblem(t, ts.get(p, "", nil), 401)
	}
	// Without a token the route stays open, as before.
	if r := newServer(t, web.Config{}).get("/metrics", "", nil); r.status != 200 {
		t.Fatalf("open metrics: %d", r.status)
	}
}

// TestMetricsElsewhere: with their own listener the metrics leave the
// app (404), and MetricsHandler serves them, refusing requests without
// the token when there is one.
func TestMetricsElsewhere(t *testing.T) {
	for _, token := range []string{"", "mt-elsewhere-token-1"} {
		ts := newServer(t, web.Config{MetricsElsewhere: true, MetricsToken: token})
		wantProblem(t, ts.get("/metrics", "", map[string]string{"Authorization": "Bearer " + token}), 404)
		h := ts.srv.MetricsHandler()
		serve := func(method, path, auth string) (int, string, string) {
			req := httptest.NewRequest(method, path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			b, _ := io.ReadAll(rec.Body)
			return rec.Code, rec.Header().Get("Content-Type"), string(b)
		}
		if code, ctype, body := serve("GET", "/metrics", "Bearer "+token); code != 200 || !strings.HasPrefix(ctype, "text/plain") ||
			!strings.Contains(body, "aperture_http_requests_total") {
			t.Fatalf("token %q: %d %s %.200s", token, code, ctype, body)
		}
		for _, c := range []struct {
			method, path, auth string
			status             int
		}{
			{"GET", "/", "Bearer " + token, 404},
			{"GET", "/api/v1/me", "Bearer " + token, 404},
			{"POST", "/metrics", "Bearer " + token, 405},
		} {
			if code, _, body := serve(c.method, c.path, c.auth); code != c.status || !json.Valid([]byte(body)) {
				t.Fatalf("%s %s: %d %s", c.method, c.path, code, body)
			}
		}
		if token != "" {
			for _, auth := range []string{"", "Bearer nope", "Basic " + token} {
				if code, _, _ := serve("GET", "/metrics", auth); code != 401 {
					t.Fatalf("%q: %d", auth, code)
				}
			}
		}
	}
}
