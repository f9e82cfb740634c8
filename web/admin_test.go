package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"aperture/store"
	"aperture/web"
)

// admin makes an administrator and signs in.
func (ts *testServer) admin(name string) string {
	ts.t.Helper()
	hash, _ := argon2id.CreateHash("correct horse", cheap)
	if _, err := store.Exec(context.Background(), ts.st, store.CreateUser{Meta: store.At(time.Now()), Username: name, PasswordHash: hash, Admin: true}); err != nil {
		ts.t.Fatal(err)
	}
	r := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "correct horse"})
	if r.status != 200 {
		ts.t.Fatalf("admin login: %d %s", r.status, r.body)
	}
	return r.json(ts.t)["access_token"].(string)
}

// TestAdminRoutesNeedAnAdmin: every admin route, API and page, refuses a
// signed-in account that is not an administrator.
func TestAdminRoutesNeedAnAdmin(t *testing.T) {
	ts := newServer(t, web.Config{})
	tok, _ := ts.signup("plain")
	v := ts.visitor()
	v.signup("plainweb")
	param := regexp.MustCompile(`:[a-z_]+`)
	n := 0
	for _, rt := range ts.srv.App().GetRoutes(true) {
		if rt.Method == "HEAD" || !(strings.HasPrefix(rt.Path, "/api/v1/admin") || strings.HasPrefix(rt.Path, "/admin")) {
			continue
		}
		path := param.ReplaceAllString(rt.Path, "1")
		path = strings.ReplaceAll(path, "/users/1", "/users/plain")
		n++
		if strings.HasPrefix(path, "/api/") {
			var body any
			switch {
			case strings.HasSuffix(path, "/resolve"):
				body = map[string]string{"action": "dismiss"}
			case strings.HasSuffix(path, "/settings") && rt.Method == "PUT":
				body = map[string]any{"registration": "open", "max_upload_mb": 0}
			}
			r := ts.do(rt.Method, path, tok, body)
			if r.status != http.StatusForbidden {
				t.Errorf("%s %s as a non-admin: %d %s", rt.Method, path, r.status, r.body)
			}
			continue
		}
		var r resp
		if rt.Method == "GET" {
			r = v.get(path)
		} else {
			r = v.post(path, nil, false)
		}
		if r.status != http.StatusForbidden {
			t.Errorf("%s %s page as a non-admin: %d", rt.Method, path, r.status)
		}
	}
	if n < 15 {
		t.Fatalf("only %d admin routes found", n)
	}
}

// TestAdminDeleteUser: a deleted account's posts leave feeds, search and
// the map; the account can no longer sign in.
func TestAdminDeleteUser(t *testing.T) {
	ts := newServer(t, web.Config{})
	adm := ts.admin("boss")
	ana, _ := ts.signup("ana")
	ben, _ := ts.signup("ben")
	ts.do("POST", "/api/v1/users/ana/follow", ben, nil)
	p := ts.shareAt(ana, "zanzibarine evening", "Stone Town", -6.16, 39.19)
	ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/comments", ana, map[string]string{"text": "mine"})
	ts.drain()
	has := func(path, token string) bool {
		r := ts.do("GET", path, token, nil)
		return strings.Contains(string(r.body), p.ID.String())
	}
	checks := map[string]string{"feed": "/api/v1/feed", "search": "/api/v1/search?q=zanzibarine&type=posts", "map": "/api/v1/map?bbox=38,-7,40,-5"}
	for what, path := range checks {
		if !has(path, ben) {
			t.Fatalf("before: the post is not in %s", what)
		}
	}
	if r := ts.do("DELETE", "/api/v1/admin/users/ana", adm, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	ts.drain()
	for what, path := range checks {
		if has(path, ben) {
			t.Fatalf("after deletion the post is still in %s", what)
		}
	}
	if r := ts.do("GET", "/api/v1/users/ana", ben, nil); r.status != 404 {
		t.Fatalf("profile: %d", r.status)
	}
	if r := ts.do("GET", "/api/v1/me", ana, nil); r.status != 401 {
		t.Fatalf("the deleted account's token: %d", r.status)
	}
	if u, _ := ts.st.UserByUsername("ben"); u.Counts.Following != 0 {
		t.Fatalf("ben still follows %d", u.Counts.Following)
	}
	if bad, _ := ts.st.Check(); len(bad) > 0 {
		t.Fatalf("invariants: %v", bad)
	}
}

// TestAdminSuspendReportsSettings covers suspension, reports and the
// registration policy.
func TestAdminSuspendReportsSettings(t *testing.T) {
	ts := newServer(t, web.Config{})
	adm := ts.admin("boss")
	ana, _ := ts.signup("ana")
	ben, _ := ts.signup("ben")
	p := ts.share(ana, "something rude")

	// Suspension hides the account and stops its sign-in.
	if r := ts.do("POST", "/api/v1/admin/users/ana/suspend", adm, nil); r.status != 200 || !strings.Contains(string(r.body), `"suspended":true`) {
		t.Fatalf("suspend: %d %s", r.status, r.body)
	}
	if r := ts.do("GET", "/api/v1/posts/"+p.ID.String(), ben, nil); r.status != 404 {
		t.Fatalf("a suspended account's post: %d", r.status)
	}
	if r := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "ana", "password": "correct horse"}); r.status != 403 {
		t.Fatalf("suspended log-in: %d %s", r.status, r.body)
	}
	ts.do("POST", "/api/v1/admin/users/ana/unsuspend", adm, nil)
	if r := ts.do("GET", "/api/v1/posts/"+p.ID.String(), ben, nil); r.status != 200 {
		t.Fatalf("after unsuspending: %d", r.status)
	}
	// The suspension ended ana's sessions; she signs in again.
	if r := ts.do("GET", "/api/v1/me", ana, nil); r.status != 401 {
		t.Fatalf("a session from before the suspension: %d", r.status)
	}
	r := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "ana", "password": "correct horse"})
	if r.status != 200 {
		t.Fatalf("log-in after unsuspending: %d %s", r.status, r.body)
	}
	ana = r.json(t)["access_token"].(string)

	// Reports: filed by anyone, resolved by an admin.
	id := p.ID
	r = ts.do("POST", "/api/v1/reports", ben, map[string]any{"post_id": id.String(), "reason": "It is rude."})
	if r.status != 201 {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	var rep web.ReportView
	json.Unmarshal(r.body, &rep)
	if r := ts.do("GET", "/api/v1/admin/reports", adm, nil); !strings.Contains(string(r.body), "It is rude.") {
		t.Fatalf("reports list: %s", r.body)
	}
	if r := ts.do("POST", "/api/v1/admin/reports/"+rep.ID.String()+"/resolve", adm, map[string]string{"action": "remove"}); r.status != 200 {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	ts.drain() // the removal reaches the post's partition through the outbox
	if r := ts.do("GET", "/api/v1/posts/"+p.ID.String(), ben, nil); r.status != 404 {
		t.Fatalf("a removed post: %d", r.status)
	}
	wantProblem(t, ts.do("POST", "/api/v1/reports", ben, map[string]any{"username": "ana", "reason": " "}), 422)

	// Registration: closed, then by invitation.
	if r := ts.do("PUT", "/api/v1/admin/settings", adm, map[string]any{"registration": "closed", "max_upload_mb": 0}); r.status != 200 {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	wantProblem(t, ts.do("POST", "/api/v1/auth/signup", "", map[string]string{"username": "cy", "password": "correct horse"}), 403)
	ts.do("PUT", "/api/v1/admin/settings", adm, map[string]any{"registration": "invite", "max_upload_mb": 0})
	wantProblem(t, ts.do("POST", "/api/v1/auth/signup", "", map[string]string{"username": "cy", "password": "correct horse"}), 422)
	code := ts.do("POST", "/api/v1/admin/invites", adm, nil).json(t)["code"].(string)
	if r := ts.do("POST", "/api/v1/auth/signup", "", map[string]string{"username": "cy", "password": "correct horse", "invite": code}); r.status != 201 {
		t.Fatalf("invited sign-up: %d %s", r.status, r.body)
	}
	wantProblem(t, ts.do("POST", "/api/v1/auth/signup", "", map[string]string{"username": "dee", "password": "correct horse", "invite": code}), 422)
	// The upload limit.
	ts.do("PUT", "/api/v1/admin/settings", adm, map[string]any{"registration": "open", "max_upload_mb": 1})
	big := make([]byte, 1<<20+10)
	copy(big, photo(t, false))
	if r := ts.upload(ana, big, nil); r.status != 413 {
		t.Fatalf("over the instance's upload limit: %d %s", r.status, r.body)
	}
}

// TestAdminPages: the dashboard (with a sampled minute), accounts,
// reports, failed jobs and settings render for an administrator, and
// their forms work.
func TestAdminPages(t *testing.T) {
	ts := newServer(t, web.Config{})
	ts.admin("boss")
	tok, _ := ts.signup("ana")
	ts.share(tok, "hello")
	ts.do("POST", "/api/v1/reports", tok, map[string]any{"username": "boss", "reason": "testing"})
	ts.srv.SampleNow()
	v := ts.visitor()
	v.get("/login")
	if r := v.post("/login", url.Values{"username": {"boss"}, "password": {"correct horse"}}, false); r.status != 303 {
		t.Fatalf("admin login: %d", r.status)
	}
	for _, path := range []string{"/admin", "/admin/users", "/admin/users?q=an", "/admin/reports", "/admin/reports?all=1", "/admin/jobs", "/admin/settings"} {
		r := v.get(path)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if path == "/admin" && !strings.Contains(string(r.body), `class="chart"`) {
			t.Fatal("the dashboard has no charts")
		}
	}
	if r := v.post("/admin/users/ana/suspend", nil, false); r.status != 303 {
		t.Fatalf("suspend form: %d", r.status)
	}
	if u, _ := ts.st.UserByUsername("ana"); !u.Suspended {
		t.Fatal("the suspend form did nothing")
	}
	if r := v.post("/admin/settings", url.Values{"registration": {"invite"}, "max_upload_mb": {"5"}}, false); r.status != 303 {
		t.Fatalf("settings form: %d", r.status)
	}
	if st, _ := ts.st.Settings(); st.Registration != "invite" || st.MaxUploadMB != 5 {
		t.Fatalf("settings: %+v", st)
	}
}
