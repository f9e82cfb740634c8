package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	webpush "github.com/SherClockHolmes/webpush-go"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/gofiber/fiber/v2"

	"aperture/feed"
	"aperture/media"
	"aperture/search"
	"aperture/store"
	"aperture/store/storetest"
	"aperture/transfer"
	"aperture/web"
	"aperture/web/auth"
)

var cheap = &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

type testServer struct {
	t       testing.TB
	srv     *web.Server
	st      *store.Store
	log     *syncBuffer
	media   *media.Processor
	pool    *feed.Pool
	explore *feed.Explore
	hub     *feed.Hub
}

// drain waits until the background jobs are done.
func (ts *testServer) drain() {
	ts.t.Helper()
	ts.pool.Wake()
	for range 3000 {
		if st, _ := ts.st.OutboxStats(); st.Depth == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	ts.t.Fatal("outbox did not drain")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The webhook sender of test servers may call 127.0.0.1 (the test's own
// receivers) and resolves names with a stub: tests change these.
var (
	webhookAllow   = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	webhookResolve = func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, ok := stubDNS[host]; ok {
			return []netip.Addr{netip.MustParseAddr(a)}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.53.0.1:53", IsNotFound: true}
	}
	stubDNS = map[string]string{"hooks.example": "127.0.0.1", "inside.example": "10.0.0.1"}
)

// One VAPID key pair for all test servers.
var vapidPrivate, vapidPublic = func() (string, string) {
	priv, pub, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		panic(err)
	}
	return priv, pub
}()

func newServer(tb testing.TB, cfg web.Config) *testServer {
	tb.Helper()
	return newServerWith(tb, cfg, media.Config{})
}

func newServerWithMedia(tb testing.TB, mc media.Config) *testServer {
	tb.Helper()
	return newServerWith(tb, web.Config{}, mc)
}

func newServerWith(tb testing.TB, cfg web.Config, mc media.Config) *testServer {
	tb.Helper()
	return newServerDeps(tb, cfg, mc, nil)
}

// newServerDeps is newServerWith whose dependencies edit changes before
// the server is made (to add a cluster's status or limiter, say).
func newServerDeps(tb testing.TB, cfg web.Config, mc media.Config, edit func(*web.Deps)) *testServer {
	tb.Helper()
	dir := tb.TempDir()
	st, err := storetest.Open(dir, store.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	svc, err := auth.NewService(st, auth.FileKeys(filepath.Join(dir, "keys.json")), auth.Config{Argon2: cheap}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	cfg.Version = "test"
	proc := media.New(mc, media.FileBlobs{Dir: filepath.Join(dir, "media")})
	idx, err := search.Open(filepath.Join(dir, "search"), st, cfg.Logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { idx.Close() })
	pool := feed.NewPool(st, feed.Config{Poll: 5 * time.Millisecond}, cfg.Logger)
	pool.HandleBatch(store.JobIndexPost, idx.HandlePosts)
	pool.HandleBatch(store.JobIndexUser, idx.HandleUsers)
	hub := feed.NewHub()
	pool.Hub = hub
	webhooks := &feed.Webhooks{St: st, Allow: webhookAllow, Resolve: webhookResolve, Timeout: 2 * time.Second}
	webhooks.Register(pool)
	pusher := &feed.Pusher{St: st, PublicKey: vapidPublic, PrivateKey: vapidPrivate, Subscriber: "mailto:admin@aperture.test", Net: webhooks}
	pusher.Register(pool)
	imports := filepath.Join(dir, "imports")
	importer := &transfer.Importer{Store: st, Media: proc, Dir: imports, Step: 2, PlaceName: func(lat, lon float64) string { return idx.PlaceNear(lat, lon, 1) }}
	pool.Handle(store.JobImport, importer.Handle)
	exports := filepath.Join(dir, "exports")
	pool.Handle(store.JobExport, (&transfer.Exporter{Store: st, Media: proc, Dir: exports, Instance: "https://aperture.test"}).Handle)
	pool.Start()
	tb.Cleanup(pool.Stop)
	explore := &feed.Explore{St: st}
	deps := web.Deps{Store: st, Auth: svc, Media: proc, MediaKey: []byte("0123456789abcdef0123456789abcdef"), Wake: pool.Wake,
		Explore: explore, Search: idx, Hub: hub, Webhooks: webhooks, Push: pusher, Imports: imports, Exports: exports}
	if edit != nil {
		edit(&deps)
	}
	return &testServer{t: tb, srv: web.New(cfg, deps), st: st, log: logs, media: proc, pool: pool, explore: explore, hub: hub}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		tb.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// do sends a request through the real fiber app.
func (ts *testServer) do(method, path, token string, body any) resp {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return ts.send(req, token)
}

// send runs a request through the real fiber app, with a bearer token if
// given.
func (ts *testServer) send(req *http.Request, token string) resp {
	ts.t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := ts.srv.App().Test(req, -1)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (ts *testServer) signup(name string) (access, refresh string) {
	ts.t.Helper()
	r := ts.do("POST", "/api/v1/auth/signup", "", map[string]string{"username": name, "password": "correct horse"})
	if r.status != 201 {
		ts.t.Fatalf("signup %s: %d %s", name, r.status, r.body)
	}
	m := r.json(ts.t)
	return m["access_token"].(string), m["refresh_token"].(string)
}

// wantProblem checks a problem+json answer with a status and a sentence.
func wantProblem(tb testing.TB, r resp, status int) map[string]any {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		tb.Fatalf("content type %q: %s", ct, r.body)
	}
	m := r.json(tb)
	detail, _ := m["detail"].(string)
	if int(m["status"].(float64)) != status || m["title"] == "" || m["type"] == "" || len(detail) < 10 || !strings.HasSuffix(detail, ".") {
		tb.Fatalf("not a problem with a sentence: %s", r.body)
	}
	if m["request_id"] == "" || m["request_id"] != r.header.Get("X-Request-ID") {
		tb.Fatalf("problem without the request ID: %s", r.body)
	}
	return m
}

func TestAccountsHappyPath(t *testing.T) {
	ts := newServer(t, web.Config{})
	r := ts.do("POST", "/api/v1/auth/signup", "", map[string]string{"username": "Alice", "password": "correct horse", "email": "alice@example.org", "display_name": "Alice"})
	if r.status != 201 {
		t.Fatalf("signup: %d %s", r.status, r.body)
	}
	m := r.json(t)
	user := m["user"].(map[string]any)
	if user["username"] != "alice" || user["email"] != "alice@example.org" || m["token_type"] != "Bearer" || m["expires_in"].(float64) != 900 {
		t.Fatalf("signup body %s", r.body)
	}
	id, ok := user["id"].(string)
	if !ok || id == "" {
		t.Fatalf("id must be a string: %s", r.body)
	}
	access := m["access_token"].(string)

	r = ts.do("GET", "/api/v1/me", access, nil)
	if r.status != 200 || r.json(t)["id"] != id {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	r = ts.do("PATCH", "/api/v1/me", access, map[string]any{"bio": "Light chaser", "private": true, "website": "example.org"})
	if m := r.json(t); r.status != 200 || m["bio"] != "Light chaser" || m["private"] != true || m["website"] != "https://example.org" {
		t.Fatalf("patch me: %d %s", r.status, r.body)
	}

	r = ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "ALICE", "password": "correct horse"})
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	refresh := r.json(t)["refresh_token"].(string)
	r = ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh})
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	newAccess := r.json(t)["access_token"].(string)

	// Public profile: anonymous has no relationship; signed in has one.
	r = ts.do("GET", "/api/v1/users/Alice", "", nil)
	if m := r.json(t); r.status != 200 || m["username"] != "alice" || m["bio"] != "Light chaser" || m["relationship"] != nil || m["email"] != nil {
		t.Fatalf("anonymous profile: %d %s", r.status, r.body)
	}
	r = ts.do("GET", "/api/v1/users/alice", newAccess, nil)
	if m := r.json(t); r.status != 200 || m["relationship"] == nil {
		t.Fatalf("profile: %d %s", r.status, r.body)
	}

	r = ts.do("POST", "/api/v1/auth/logout", newAccess, nil)
	if r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	wantProblem(t, ts.do("GET", "/api/v1/me", newAccess, nil), 401)
	// The first session (from sign-up) is still open.
	if r := ts.do("GET", "/api/v1/me", access, nil); r.status != 200 {
		t.Fatalf("other session affected by logout: %d", r.status)
	}
}

func TestBadInputs(t *testing.T) {
	ts := newServer(t, web.Config{})
	access, _ := ts.signup("taken")
	big := `{"username":"` + strings.Repeat("a", 1<<20) + `","password":"correct horse"}`
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		field                     string
	}{
		{"malformed json", "POST", "/api/v1/auth/signup", "", `{"username":`, 400, ""},
		{"wrong types", "POST", "/api/v1/auth/signup", "", `{"username":5,"password":true}`, 422, "username"},
		{"empty body", "POST", "/api/v1/auth/signup", "", nil, 400, ""},
		{"1 MiB body", "POST", "/api/v1/auth/signup", "", big, 413, ""},
		{"over-long username", "POST", "/api/v1/auth/signup", "", map[string]string{"username": strings.Repeat("a", 31), "password": "correct horse"}, 422, "username"},
		{"bad characters", "POST", "/api/v1/auth/signup", "", map[string]string{"username": "a-b", "password": "correct horse"}, 422, "username"},
		{"short password", "POST", "/api/v1/auth/signup", "", map[string]string{"username": "newbie", "password": "short"}, 422, "password"},
		{"reserved name", "POST", "/api/v1/auth/signup", "", map[string]string{"username": "admin", "password": "correct horse"}, 422, "username"},
		{"unknown field", "POST", "/api/v1/auth/signup", "", map[string]string{"username": "x", "password": "correct horse", "role": "admin"}, 422, "role"},
		{"duplicate username", "POST", "/api/v1/auth/signup", "", map[string]string{"username": "TAKEN", "password": "correct horse"}, 409, ""},
		{"wrong password", "POST", "/api/v1/auth/login", "", map[string]string{"username": "taken", "password": "wrong password"}, 401, ""},
		{"unknown user", "POST", "/api/v1/auth/login", "", map[string]string{"username": "ghost", "password": "wrong password"}, 401, ""},
		{"bad refresh", "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": "nope"}, 401, ""},
		{"no token", "GET", "/api/v1/me", "", nil, 401, ""},
		{"garbage token", "GET", "/api/v1/me", "garbage", nil, 401, ""},
		{"bad website", "PATCH", "/api/v1/me", access, map[string]string{"website": "javascript:alert(1)"}, 422, "website"},
		{"long bio", "PATCH", "/api/v1/me", access, map[string]string{"bio": strings.Repeat("é", 151)}, 422, "bio"},
		{"unknown user profile", "GET", "/api/v1/users/nobody", "", nil, 404, ""},
		{"unknown route", "GET", "/api/v1/nothing", "", nil, 404, ""},
		{"wrong method", "DELETE", "/api/v1/me", access, nil, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := wantProblem(t, ts.do(tc.method, tc.path, tc.token, tc.body), tc.status)
			if tc.field != "" {
				errs, _ := m["errors"].([]any)
				found := false
				for _, e := range errs {
					found = found || e.(map[string]any)["field"] == tc.field
				}
				if !found {
					t.Fatalf("no error for field %s: %v", tc.field, m)
				}
			}
		})
	}
	// Wrong password and unknown user are told the same sentence.
	a := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "taken", "password": "wrong password"}).json(t)
	b := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "ghost", "password": "wrong password"}).json(t)
	if a["detail"] != b["detail"] {
		t.Fatalf("login errors differ: %q vs %q", a["detail"], b["detail"])
	}
	// Nothing stored was lost or changed by the bad requests.
	u, err := ts.st.UserByUsername("taken")
	if err != nil || u.Website != "" || u.Bio != "" {
		t.Fatalf("stored user changed: %+v %v", u, err)
	}
}

func TestAuthRateLimit(t *testing.T) {
	ts := newServer(t, web.Config{AuthPerIP: 100, AuthPerUser: 3})
	ts.signup("target")
	body := map[string]string{"username": "target", "password": "guess guess"}
	for i := range 2 {
		if r := ts.do("POST", "/api/v1/auth/login", "", body); r.status != 401 {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	r := ts.do("POST", "/api/v1/auth/login", "", body)
	m := wantProblem(t, r, 429)
	if r.header.Get("Retry-After") == "" || r.header.Get("X-RateLimit-Limit") != "3" {
		t.Fatalf("429 without Retry-After/X-RateLimit-*: %v %v", r.header, m)
	}
	// Another username is not limited by this one's attempts.
	ts.signup("other")

	ip := newServer(t, web.Config{AuthPerIP: 2, AuthPerUser: 100})
	ip.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "a", "password": "x"})
	ip.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "b", "password": "x"})
	wantProblem(t, ip.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "c", "password": "x"}), 429)
}

func TestSecurityHeadersAndRequestID(t *testing.T) {
	ts := newServer(t, web.Config{})
	r := ts.do("GET", "/healthz", "", nil)
	if r.status != 200 || r.json(t)["status"] != "ok" {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	for h, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "frame-ancestors 'none'",
		"Referrer-Policy":         "strict-origin-when-cross-origin",
	} {
		if !strings.Contains(r.header.Get(h), want) {
			t.Errorf("%s = %q, want %q", h, r.header.Get(h), want)
		}
	}
	if strings.Contains(r.header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Error("CSP allows inline scripts")
	}
	if len(r.header.Get("X-Request-ID")) != 16 {
		t.Errorf("request ID %q", r.header.Get("X-Request-ID"))
	}
	if !strings.Contains(ts.log.String(), `"request_id":"`+r.header.Get("X-Request-ID")+`"`) {
		t.Errorf("access log lacks the request: %s", ts.log.String())
	}
}

func TestPanicBecomesProblem(t *testing.T) {
	var reports []web.ErrorReport
	var mu sync.Mutex
	ts := newServer(t, web.Config{ReportError: func(r web.ErrorReport) { mu.Lock(); reports = append(reports, r); mu.Unlock() }})
	ts.srv.App().Get("/test/panic", func(*fiber.Ctx) error { panic("kaboom") })
	r := ts.do("GET", "/test/panic", "", nil)
	m := wantProblem(t, r, 500)
	if strings.Contains(string(r.body), "kaboom") {
		t.Fatal("panic text leaked to the client")
	}
	logs := ts.log.String()
	if !strings.Contains(logs, "kaboom") || !strings.Contains(logs, "goroutine") || !strings.Contains(logs, m["request_id"].(string)) {
		t.Fatalf("panic not logged with stack and request ID: %s", logs)
	}
	// The server keeps serving.
	if r := ts.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Fatal("server dead after panic")
	}
	// The error tracker got it once, with the request ID and the stack.
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 1 || reports[0].RequestID != m["request_id"] || !strings.Contains(string(reports[0].Stack), "goroutine") ||
		!strings.Contains(reports[0].Err.Error(), "kaboom") || reports[0].Route != "/test/panic" {
		t.Fatalf("reports: %+v", reports)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	ts := newServer(t, web.Config{})
	ts.signup("metered")
	if r := ts.do("GET", "/readyz", "", nil); r.status != 200 {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}
	r := ts.do("GET", "/metrics", "", nil)
	body := string(r.body)
	for _, want := range []string{
		`aperture_http_requests_total{method="POST",route="/api/v1/auth/signup",status="201"} 1`,
		"aperture_http_request_duration_seconds_bucket",
		"aperture_signups_total 1",
		"aperture_db_size_bytes",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("metrics content type %q", r.header.Get("Content-Type"))
	}
}

// TestOpenAPIDescribesEveryRoute compares the served document with the
// API routes the fiber app really has.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	ts := newServer(t, web.Config{})
	r := ts.do("GET", "/api/openapi.json", "", nil)
	if r.status != 200 {
		t.Fatalf("openapi: %d", r.status)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, rt := range ts.srv.App().GetRoutes(true) {
		if rt.Method == "HEAD" || rt.Path == "/api/openapi.json" || rt.Path == "/api/openapi.yaml" || strings.HasPrefix(rt.Path, "/api/openapi") {
			continue
		}
		if !strings.HasPrefix(rt.Path, "/api/") && !strings.HasPrefix(rt.Path, "/media/") && !slices.Contains([]string{"/healthz", "/readyz", "/metrics"}, rt.Path) {
			continue // the HTML pages and their forms are not the API
		}
		path := fiberToOpenAPI(rt.Path)
		if !documented[rt.Method+" "+path] {
			t.Errorf("route %s %s is not in the OpenAPI document", rt.Method, path)
		}
	}
	for _, must := range []string{"POST /api/v1/auth/signup", "POST /api/v1/auth/login", "POST /api/v1/auth/refresh",
		"POST /api/v1/auth/logout", "GET /api/v1/me", "PATCH /api/v1/me", "GET /api/v1/users/{username}",
		"GET /healthz", "GET /readyz", "GET /metrics"} {
		if !documented[must] {
			t.Errorf("%s missing from the document", must)
		}
	}
}

func fiberToOpenAPI(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}
