package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"aperture/web"
)

// oldMarker is what once stood for the token in cached cards.
const oldMarker = "APERTURE-CSRF-MARKER"

// likeForm matches a card's like form carrying token.
func likeForm(token string) *regexp.Regexp {
	return regexp.MustCompile(`<form class="like" method="post" action="/p/\d+/like" data-like>\s*<input type="hidden" name="csrf" value="` +
		regexp.QuoteMeta(token) + `">`)
}

// TestCSRFTokenOnlyWhereTemplatesPutIt: the browser's CSRF token appears
// in a page only in the places its templates print it (the meta tag and
// the forms' hidden fields), whatever people write in captions, comments,
// bios, names, alt texts and place names, and whether a feed card comes
// from the cache or not; the cached card carries each browser's own token.
func TestCSRFTokenOnlyWhereTemplatesPutIt(t *testing.T) {
	ts := newServer(t, web.Config{})
	v := ts.visitor()
	v.signup("writer")
	tok := ts.login("writer")
	texts := []string{oldMarker, "{{.CSRF}}", "csrf", `" name="csrf" value="`, "%s", "$CSRF"}
	all := strings.Join(texts, " ")
	if r := ts.do("PATCH", "/api/v1/me", tok, map[string]any{"display_name": oldMarker + " {{.CSRF}}", "bio": all}); r.status != 200 {
		t.Fatalf("profile: %d %s", r.status, r.body)
	}
	up := ts.upload(tok, photo(t, false), map[string]string{"alt": "alt " + all})
	var m web.MediaView
	if err := json.Unmarshal(up.body, &m); err != nil || up.status != 201 {
		t.Fatalf("upload: %d %s", up.status, up.body)
	}
	r := ts.do("POST", "/api/v1/posts", tok, map[string]any{"caption": "caption " + all + " #sunset", "media_ids": []string{m.ID.String()},
		"location": map[string]any{"name": "place " + oldMarker, "lat": 38.72, "lon": -9.14}})
	if r.status != 201 {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	var p web.PostView
	json.Unmarshal(r.body, &p)
	if r := ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/comments", tok, map[string]string{"text": "comment " + all}); r.status != 201 {
		t.Fatalf("comment: %d %s", r.status, r.body)
	}
	ts.drain()
	places := ts.do("GET", "/api/v1/places/search?q=place", "", nil).json(t)["items"].([]any)
	if len(places) != 1 {
		t.Fatalf("places: %v", places)
	}
	place := places[0].(map[string]any)["id"].(string)

	// check returns how many forms of the page carry the token, failing
	// if the token appears anywhere else or the written text is gone.
	check := func(t *testing.T, r resp, token string, shown ...string) int {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		body := string(r.body)
		forms := strings.Count(body, `name="csrf" value="`+token+`"`)
		rest := strings.ReplaceAll(body, `name="csrf" value="`+token+`"`, "")
		rest = strings.ReplaceAll(rest, `<meta name="csrf-token" content="`+token+`">`, "")
		if strings.Contains(rest, token) {
			i := strings.Index(rest, token)
			t.Fatalf("the token appears outside the forms: …%s…", rest[max(0, i-120):min(len(rest), i+60)])
		}
		for _, s := range shown {
			if !strings.Contains(body, s) {
				t.Errorf("the page lost %q", s)
			}
		}
		return forms
	}
	pages := []struct {
		path  string
		shown []string
		forms int // at least this many forms carry the token
	}{
		{"/", []string{"caption " + oldMarker, "place " + oldMarker, "alt " + oldMarker}, 1},
		{"/", []string{"caption " + oldMarker}, 1}, // now from the cache
		{"/p/" + p.ID.String(), []string{"caption " + oldMarker, "comment " + oldMarker, "place " + oldMarker}, 3},
		{"/u/writer", []string{oldMarker + " {{.CSRF}}", "alt " + oldMarker}, 1},
		{"/tags/sunset", []string{"alt " + oldMarker}, 0},
		{"/places/" + place, []string{"place " + oldMarker, "alt " + oldMarker}, 0},
		{"/search?q=" + oldMarker, nil, 0},
		{"/accounts/edit", []string{oldMarker + " {{.CSRF}}"}, 1},
	}
	for _, pg := range pages {
		t.Run(pg.path, func(t *testing.T) {
			r := v.get(pg.path)
			if n := check(t, r, v.csrf, pg.shown...); n < pg.forms {
				t.Fatalf("%d forms carry the token, want at least %d", n, pg.forms)
			}
			if pg.path == "/" && !likeForm(v.csrf).Match(r.body) {
				t.Fatal("the card's like form lacks the token")
			}
		})
	}
	t.Run("next page of the feed", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Fetch", "items")
		if r := v.send(req); check(t, r, v.csrf, "caption "+oldMarker) < 1 || !likeForm(v.csrf).Match(r.body) {
			t.Fatal("the card's like form lacks the token")
		}
	})
	t.Run("another browser", func(t *testing.T) {
		old := v.csrf
		delete(v.cookies, "ap_n") // a new nonce, so a new token
		r := v.get("/")
		if v.csrf == old || strings.Contains(string(r.body), old) {
			t.Fatal("the cached card kept the first browser's token")
		}
		if check(t, r, v.csrf, "caption "+oldMarker) < 1 || !likeForm(v.csrf).Match(r.body) {
			t.Fatal("the card's like form lacks the new token")
		}
	})
}
