package web_test

import (
	"net/http"
	"strings"
	"testing"

	"aperture/web"
)

// A newcomer is offered accounts to follow: those followed by whom they
// follow ("Followed by ana"), then popular ones; never private ones or
// those already followed. The API lists them, the home page shows them
// (on an empty feed, and beside a full one) with a Follow button that
// works without JavaScript, and a followed account leaves the list.
func TestSuggestions(t *testing.T) {
	ts := newServer(t, web.Config{})
	newbie, _ := ts.signup("newbie")
	ana, _ := ts.signup("ana")
	for _, name := range []string{"ben", "dan"} {
		ts.signup(name)
	}
	cat, _ := ts.signup("cat")
	if r := ts.do("PATCH", "/api/v1/me", cat, map[string]any{"private": true}); r.status != 200 {
		t.Fatalf("making cat private: %d %s", r.status, r.body)
	}
	ts.do("POST", "/api/v1/users/ana/follow", newbie, nil)
	for _, name := range []string{"ben", "cat", "dan"} {
		ts.do("POST", "/api/v1/users/"+name+"/follow", ana, nil)
	}
	ts.drain()

	if r := ts.do("GET", "/api/v1/suggestions", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous suggestions: %d", r.status)
	}
	reasons := func() map[string]string {
		t.Helper()
		r := ts.do("GET", "/api/v1/suggestions", newbie, nil)
		if r.status != 200 {
			t.Fatalf("suggestions: %d %s", r.status, r.body)
		}
		out := map[string]string{}
		for _, it := range r.json(t)["items"].([]any) {
			m := it.(map[string]any)
			out[m["username"].(string)] = m["reason"].(string)
		}
		return out
	}
	got := reasons()
	if got["ben"] != "Followed by ana" || got["dan"] != "Followed by ana" {
		t.Fatalf("suggestions %v, want ben and dan followed by ana", got)
	}
	for _, never := range []string{"cat", "ana", "newbie"} {
		if _, ok := got[never]; ok {
			t.Fatalf("%s suggested: %v", never, got)
		}
	}

	v := ts.loggedIn("newbie")
	home := string(v.get("/").body)
	if !strings.Contains(home, "Welcome to aperture") || !strings.Contains(home, `action="/u/ben/follow"`) || !strings.Contains(home, "Followed by ana") {
		t.Fatalf("the empty feed offers no one to follow:\n%s", home)
	}
	ts.share(ana, "Harbour at dawn")
	ts.drain()
	home = string(v.get("/").body)
	if !strings.Contains(home, "Harbour at dawn") || !strings.Contains(home, "Suggested for you") || !strings.Contains(home, `action="/u/dan/follow"`) {
		t.Fatalf("a full feed has no suggestions beside it:\n%s", home)
	}

	// The button, without JavaScript: a form post, then back.
	if r := v.post("/u/ben/follow", nil, false); r.status != http.StatusSeeOther {
		t.Fatalf("following from the home page: %d %s", r.status, r.body)
	}
	ts.drain()
	if got := reasons(); got["ben"] != "" || got["dan"] == "" {
		t.Fatalf("after following ben: %v", got)
	}
}
