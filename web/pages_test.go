package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"aperture/web"
)

// visitor is a browser without JavaScript, for the HTML pages over the
// real fiber app: it keeps cookies and the page's CSRF token.
type visitor struct {
	ts      *testServer
	cookies map[string]string
	csrf    string
}

func (ts *testServer) visitor() *visitor { return &visitor{ts: ts, cookies: map[string]string{}} }

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func (v *visitor) send(req *http.Request) resp {
	v.ts.t.Helper()
	var parts []string
	for k, c := range v.cookies {
		parts = append(parts, k+"="+c)
	}
	req.Header.Set("Cookie", strings.Join(parts, "; "))
	req.Header.Set("Accept", "text/html")
	r := v.ts.send(req, "")
	for _, sc := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(sc)
		if err != nil {
			continue
		}
		if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Unix() < 10) {
			delete(v.cookies, c.Name)
		} else {
			v.cookies[c.Name] = c.Value
		}
	}
	if m := csrfMeta.FindSubmatch(r.body); m != nil {
		v.csrf = string(m[1])
	}
	return r
}

func (v *visitor) get(path string) resp {
	v.ts.t.Helper()
	return v.send(httptest.NewRequest("GET", path, nil))
}

// post submits a form; the CSRF token is added unless noCSRF.
func (v *visitor) post(path string, form url.Values, noCSRF bool) resp {
	v.ts.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !noCSRF {
		form.Set("csrf", v.csrf)
	}
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return v.send(req)
}

func (v *visitor) signup(name string) {
	v.ts.t.Helper()
	v.get("/signup")
	r := v.post("/signup", url.Values{"username": {name}, "password": {"correct horse battery"}}, false)
	if r.status != http.StatusSeeOther || v.cookies["ap_at"] == "" {
		v.ts.t.Fatalf("signup form: %d %s", r.status, r.body)
	}
}

// TestEveryPageRenders walks every page signed out and signed in.
func TestEveryPageRenders(t *testing.T) {
	ts := newServer(t, web.Config{})
	tok, _ := ts.signup("owner")
	p := ts.share(tok, "Hello #sunset @owner https://example.org/x")
	ts.drain()
	guest, me := ts.visitor(), ts.visitor()
	me.signup("viewer")
	place := "/places/" + placeOf(t, ts, p)
	pages := []string{"/", "/explore", "/search?q=own", "/search?q=%23sun", "/tags/sunset", place, "/map", "/map?lat=38.7&lon=-9.1&z=12",
		"/p/" + p.ID.String(), "/p/" + p.ID.String() + "/likes", "/u/owner", "/u/owner/followers", "/u/owner/following",
		"/login", "/signup"}
	for _, path := range pages {
		for who, v := range map[string]*visitor{"guest": guest, "viewer": me} {
			r := v.get(path)
			if path == "/login" || path == "/signup" {
				if who == "viewer" && r.status == http.StatusSeeOther {
					continue // signed in already
				}
			}
			if r.status != 200 || !strings.Contains(string(r.body), "</html>") {
				t.Fatalf("%s as %s: %d %s\n%s", path, who, r.status, r.body, ts.log.String())
			}
		}
	}
	for _, path := range []string{"/activity", "/requests", "/accounts/edit", "/new", "/settings"} {
		if r := me.get(path); r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if r := guest.get(path); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
			t.Fatalf("%s as guest: %d %s", path, r.status, r.header.Get("Location"))
		}
	}
	r := guest.get("/p/" + p.ID.String())
	body := string(r.body)
	for _, want := range []string{`<a href="/tags/sunset">#sunset</a>`, `<a href="/u/owner">@owner</a>`,
		`<a href="https://example.org/x" rel="nofollow noopener ugc" target="_blank">`, `srcset="`, `src="data:image/png;base64,`} {
		if !strings.Contains(body, want) {
			t.Errorf("post page lacks %s", want)
		}
	}
	if r := guest.get("/no/such/page"); r.status != 404 || !strings.Contains(string(r.body), "not here") {
		t.Fatalf("404 page: %d %s", r.status, r.body)
	}
	if r := guest.get("/p/12345"); r.status != 404 {
		t.Fatalf("missing post: %d", r.status)
	}
}

func placeOf(t *testing.T, ts *testServer, p web.PostView) string {
	t.Helper()
	r := ts.do("GET", "/api/v1/places/search?q=Lisbon", "", nil)
	m := r.json(t)
	items, _ := m["items"].([]any)
	if len(items) == 0 {
		t.Fatalf("no place: %s", r.body)
	}
	return items[0].(map[string]any)["id"].(string)
}

// TestFormsWithoutJavaScript: every action works as a plain form post,
// and is refused without the page's CSRF token.
func TestFormsWithoutJavaScript(t *testing.T) {
	ts := newServer(t, web.Config{})
	tok, _ := ts.signup("ana")
	p := ts.share(tok, "a photo")
	ben := ts.visitor()
	ben.signup("ben")
	id := p.ID.String()
	ben.get("/p/" + id)

	if r := ben.post("/u/ana/follow", nil, true); r.status != http.StatusForbidden || !strings.Contains(string(r.body), "CSRF token") {
		t.Fatalf("follow without token: %d", r.status)
	}
	if u, _ := ts.st.UserByUsername("ana"); u.Counts.Followers != 0 {
		t.Fatal("a follow without token went through")
	}
	steps := []struct{ path, field, value string }{
		{"/u/ana/follow", "", ""}, {"/p/" + id + "/like", "", ""}, {"/p/" + id + "/comments", "text", "Lovely #light"},
	}
	for _, s := range steps {
		form := url.Values{}
		if s.field != "" {
			form.Set(s.field, s.value)
		}
		r := ben.post(s.path, form, false)
		if r.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", s.path, r.status, r.body)
		}
	}
	ts.drain() // the follow reaches ana's partition through the outbox
	got, _ := ts.st.ViewPost(0, p.ID)
	if got.LikeCount != 1 || got.CommentCount != 1 {
		t.Fatalf("likes %d comments %d", got.LikeCount, got.CommentCount)
	}
	if u, _ := ts.st.UserByUsername("ana"); u.Counts.Followers != 1 {
		t.Fatal("the follow form did nothing")
	}
	// A refused action comes back with the API's sentence.
	r := ben.post("/p/"+id+"/comments", url.Values{"text": {strings.Repeat("x", 3000)}}, false)
	if r.status != http.StatusSeeOther {
		t.Fatalf("long comment: %d", r.status)
	}
	page := ben.get(r.header.Get("Location"))
	if !strings.Contains(string(page.body), `class="flash"`) || !strings.Contains(string(page.body), "more than 2200 characters") {
		t.Fatalf("no flash with the reason (to %s): %s", r.header.Get("Location"), page.body)
	}
	// Unlike, log out: the session's tokens stop working.
	if r := ben.post("/p/"+id+"/unlike", nil, false); r.status != http.StatusSeeOther {
		t.Fatal(r.status)
	}
	old := ben.cookies["ap_at"]
	ben.post("/logout", nil, false)
	if ben.cookies["ap_at"] != "" {
		t.Fatal("logout kept the cookie")
	}
	if r := ts.do("GET", "/api/v1/me", old, nil); r.status != 401 {
		t.Fatalf("the old token still works: %d", r.status)
	}
}

// TestLoginForm: refusals show the API's sentence on the form; a good
// log-in sets HttpOnly, SameSite=Lax cookies and follows a local next.
func TestLoginForm(t *testing.T) {
	ts := newServer(t, web.Config{})
	ts.signup("ana")
	v := ts.visitor()
	v.get("/login")
	r := v.post("/login", url.Values{"username": {"ana"}, "password": {"wrong password"}}, false)
	if r.status != 401 || !strings.Contains(string(r.body), "The username or password is incorrect.") {
		t.Fatalf("bad password: %d %s", r.status, r.body)
	}
	r = v.post("/login", url.Values{"username": {"ana"}, "password": {"correct horse"}, "next": {"//evil.example/"}}, false)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q", r.status, r.header.Get("Location"))
	}
	for _, sc := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "ap_at=") || strings.HasPrefix(sc, "ap_rt=") {
			if !strings.Contains(sc, "HttpOnly") || !strings.Contains(strings.ToLower(sc), "samesite=lax") {
				t.Fatalf("cookie without HttpOnly/SameSite: %s", sc)
			}
		}
	}
	if r := v.get("/"); !strings.Contains(string(r.body), `data-me="ana"`) {
		t.Fatal("not signed in after the form")
	}
	// An expired or garbled access cookie is renewed from the refresh
	// cookie, once, even for requests racing with the same cookie.
	v.cookies["ap_at"] = "garbled"
	a, b := v.get("/"), v.get("/")
	if !strings.Contains(string(a.body), `data-me="ana"`) || !strings.Contains(string(b.body), `data-me="ana"`) {
		t.Fatal("the refresh cookie did not renew the session")
	}
	// The API accepts the cookie session, but needs the token to change things.
	req := httptest.NewRequest("POST", "/api/v1/activity/read", nil)
	if r := v.send(req); r.status != http.StatusForbidden {
		t.Fatalf("cookie API call without CSRF: %d", r.status)
	}
	req = httptest.NewRequest("POST", "/api/v1/activity/read", nil)
	req.Header.Set("X-CSRF-Token", v.csrf)
	if r := v.send(req); r.status != http.StatusNoContent {
		t.Fatalf("cookie API call with CSRF: %d %s", r.status, r.body)
	}
}

// TestMapTiles: with a tile server configured the map draws its tiles and
// the CSP lets them in; without one it draws the built-in land.
func TestMapTiles(t *testing.T) {
	ts := newServer(t, web.Config{MapTiles: "https://tiles.example.org/{z}/{x}/{y}.png", MapAttribution: "© Example"})
	r := ts.visitor().get("/map?lat=0&lon=0&z=3")
	body := string(r.body)
	if !strings.Contains(body, `href="https://tiles.example.org/3/3/3.png"`) || !strings.Contains(body, "© Example") || strings.Contains(body, `class="land"`) {
		t.Fatalf("tiles not drawn: %s", body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: blob: https://tiles.example.org;") {
		t.Fatalf("CSP: %s", csp)
	}
	plain := newServer(t, web.Config{}).visitor().get("/map")
	if !strings.Contains(string(plain.body), `class="land"`) || strings.Contains(plain.header.Get("Content-Security-Policy"), "tiles") {
		t.Fatal("the built-in map is missing")
	}
}

// TestAssetBudget: the JavaScript and CSS a browser downloads stay under
// 60 KB compressed, and assets are cached for good by their version.
func TestAssetBudget(t *testing.T) {
	ts := newServer(t, web.Config{})
	page := ts.visitor().get("/login")
	refs := regexp.MustCompile(`/assets/[a-z]+\.(?:js|css)\?v=[0-9a-f]+`).FindAllString(string(page.body), -1)
	refs = append(refs, "/assets/upload.js", "/assets/map.js", "/assets/settings.js", "/assets/sw.js") // loaded by the pages that need them
	total := 0
	for _, ref := range refs {
		r := ts.get(ref, "", map[string]string{"Accept-Encoding": "gzip"})
		if r.status != 200 || r.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: %d, encoding %q", ref, r.status, r.header.Get("Content-Encoding"))
		}
		if strings.Contains(ref, "?v=") != strings.Contains(r.header.Get("Cache-Control"), "immutable") {
			t.Fatalf("%s: cache-control %q", ref, r.header.Get("Cache-Control"))
		}
		if again := ts.get(ref, "", map[string]string{"If-None-Match": r.header.Get("ETag")}); again.status != 304 {
			t.Fatalf("%s: revalidation %d", ref, again.status)
		}
		t.Logf("%s: %d bytes gzipped", ref, len(r.body))
		total += len(r.body)
	}
	t.Logf("JS + CSS: %d bytes gzipped", total)
	if len(refs) < 4 || total > 60_000 {
		t.Fatalf("JS + CSS are %d bytes compressed over %d files; the budget is 60 KB", total, len(refs))
	}
}

// TestSettingsForm: the preferences form saves what the API reads back.
func TestSettingsForm(t *testing.T) {
	ts := newServer(t, web.Config{})
	ts.signup("cy")
	v := ts.visitor()
	v.signup("ana")
	v.get("/settings")
	form := url.Values{"push": {"comment", "mention"}, "muted": {"cy"}, "quiet_from": {"22:00"}, "quiet_to": {"07:00"}, "utc_offset": {"60"}}
	if r := v.post("/settings", form, false); r.status != http.StatusSeeOther {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	page := string(v.get("/settings").body)
	for _, want := range []string{`value="comment" checked`, `value="cy"`, `value="22:00"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("settings page lacks %s", want)
		}
	}
	if strings.Contains(page, `value="like" checked`) {
		t.Fatal("likes still pushed")
	}
	if r := v.get("/sw.js"); r.status != 200 || !strings.Contains(string(r.body), "showNotification") {
		t.Fatalf("service worker: %d", r.status)
	}
}
