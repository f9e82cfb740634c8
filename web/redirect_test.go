package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"aperture/web"
)

// wantSafeRedirect checks that an answer sends the browser nowhere but
// this site and carries no header that a hostile value planted.
func wantSafeRedirect(t *testing.T, r resp, what string) {
	t.Helper()
	if loc := r.header.Get("Location"); loc != "" && !web.ResolvesHome(loc) {
		t.Errorf("%s: Location %q leaves the site", what, loc)
	}
	if r.header.Get("X-Injected") != "" {
		t.Errorf("%s: an injected header arrived", what)
	}
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.Contains(c, "planted") {
			t.Errorf("%s: a planted cookie arrived: %s", what, c)
		}
	}
	if len(r.header.Values("Location")) > 1 {
		t.Errorf("%s: %d Location headers", what, len(r.header.Values("Location")))
	}
}

// postWith submits a form with a Referer header.
func (v *visitor) postWith(path string, form url.Values, referer string) resp {
	v.ts.t.Helper()
	form.Set("csrf", v.csrf)
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	return v.send(req)
}

var nextField = regexp.MustCompile(`<input type="hidden" name="next" value="([^"]*)">`)

// TestLoginNextStaysLocal drives every hostile "next" through the log-in
// and sign-up pages and forms: the browser is only ever sent to this site,
// and nothing in "next" becomes a header of its own.
func TestLoginNextStaysLocal(t *testing.T) {
	ts := newServer(t, web.Config{AuthPerIP: 1 << 20, AuthPerUser: 1 << 20})
	ts.signup("walker")
	in := ts.visitor()
	in.signup("insider")
	for i, next := range web.HostileNexts {
		name := fmt.Sprintf("%d %.30q", i, next)
		t.Run(name, func(t *testing.T) {
			q := "?next=" + url.QueryEscape(next)
			for _, page := range []string{"/login", "/signup"} {
				out := ts.visitor()
				r := out.get(page + q)
				if r.status != http.StatusOK {
					t.Fatalf("GET %s signed out: %d", page, r.status)
				}
				if m := nextField.FindSubmatch(r.body); m != nil && len(m[1]) > 0 && !web.ResolvesHome(html.UnescapeString(string(m[1]))) {
					t.Errorf("GET %s: the form carries next=%q", page, m[1])
				}
				wantSafeRedirect(t, in.get(page+q), "GET "+page+" signed in")
			}
			// Raw query bytes, as a hand-written link would carry them.
			req := httptest.NewRequest("GET", "/login?next=/x", nil)
			req.URL.RawQuery = "next=" + strings.NewReplacer(" ", "%20", "#", "%23", "&", "%26").Replace(next)
			wantSafeRedirect(t, in.send(req), "GET /login raw")

			out := ts.visitor()
			out.get("/login")
			r := out.post("/login", url.Values{"username": {"walker"}, "password": {"correct horse"}, "next": {next}}, false)
			if r.status != http.StatusSeeOther {
				t.Fatalf("POST /login: %d %s", r.status, r.body)
			}
			wantSafeRedirect(t, r, "POST /login")

			out = ts.visitor()
			out.get("/signup")
			r = out.post("/signup", url.Values{"username": {fmt.Sprintf("joiner%d", i)}, "password": {"correct horse"}, "next": {next}}, false)
			if r.status != http.StatusSeeOther {
				t.Fatalf("POST /signup: %d %s", r.status, r.body)
			}
			wantSafeRedirect(t, r, "POST /signup")

			// A page that needs a session sends the browser to log in
			// with where it was going.
			wantSafeRedirect(t, ts.visitor().get("/accounts/edit?"+url.QueryEscape(next)), "GET /accounts/edit signed out")
		})
	}
}

// TestFormsGoBackLocally posts every form of the pages (API routes
// aside) with each hostile "next" field and Referer header: wherever the
// form sends the browser afterwards is on this site, whether the action
// worked or was refused, and no header is injected.
func TestFormsGoBackLocally(t *testing.T) {
	ts := newServer(t, web.Config{AuthPerIP: 1 << 20, AuthPerUser: 1 << 20})
	ts.admin("chief")
	tok, _ := ts.signup("poster")
	p := ts.share(tok, "a post to act on")
	param := regexp.MustCompile(`:[a-z_]+`)
	n := 0
	for _, rt := range ts.srv.App().GetRoutes(true) {
		if rt.Method != "POST" || strings.HasPrefix(rt.Path, "/api/") || rt.Path == "/login" || rt.Path == "/signup" || rt.Path == "/new" ||
			rt.Path == "/accounts/edit" {
			continue // the API, the sign-in forms (above) and the forms that render a page on refusal
		}
		path := param.ReplaceAllStringFunc(rt.Path, func(s string) string {
			if s == ":username" {
				return "poster"
			}
			return p.ID.String()
		})
		n++
		t.Run(path, func(t *testing.T) {
			v := ts.visitor()
			v.get("/login")
			if r := v.post("/login", url.Values{"username": {"chief"}, "password": {"correct horse"}}, false); r.status != http.StatusSeeOther {
				t.Fatalf("admin log-in form: %d", r.status)
			}
			v.get("/")
			for _, bad := range web.HostileNexts {
				r := v.postWith(path, url.Values{"next": {bad}, "text": {"hi"}, "reason": {"rude"}}, "")
				if r.status != http.StatusSeeOther {
					t.Fatalf("POST %s: %d %s", path, r.status, r.body)
				}
				wantSafeRedirect(t, r, fmt.Sprintf("POST %s next=%.40q", path, bad))
				for _, ref := range []string{bad, "http://example.com" + bad, "https://evil.example" + bad} {
					if strings.ContainsFunc(ref, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
						continue // no client sends these in a header
					}
					r := v.postWith(path, url.Values{"text": {"hi"}}, ref)
					wantSafeRedirect(t, r, fmt.Sprintf("POST %s Referer=%.40q", path, ref))
				}
			}
		})
	}
	if n < 20 {
		t.Fatalf("only %d forms found", n)
	}
}
