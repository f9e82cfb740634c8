package web_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"aperture/store"
	"aperture/web"
)

// readPath is one read endpoint walked after a suspension: the route it
// exercises, the path asked, and whether it is about the suspended
// account itself (then it must be 404).
type readPath struct {
	route, path string
	page        bool // an HTML page, asked with the session cookie
	gone        bool
}

// notWalked are the GET routes the walk leaves out, and why.
var notWalked = map[string]string{
	"/healthz": "no account data", "/readyz": "no account data", "/metrics": "no account data",
	"/api/openapi.json": "the API's description", "/api/openapi.yaml": "the API's description",
	"/api/openapi-3.0.json": "the API's description", "/api/openapi-3.0.yaml": "the API's description",
	"/assets/*": "static files", "/sw.js": "static file", "/api/v1/filters": "no account data",
	"/api/v1/push/key": "the instance's public key", "/login": "a form", "/signup": "a form",
	"/api/v1/stream":           "TestStreamEndsWithItsSession",
	"/media/:a/:b/:hash/:file": "walked with the account's photo URLs",
	// The admin area lists suspended accounts on purpose (to lift the
	// suspension); it is walked for what it shows below.
	"/admin": "admin area", "/admin/jobs": "admin area", "/admin/reports": "admin area", "/admin/settings": "admin area",
	"/admin/users": "admin area", "/api/v1/admin/invites": "admin area", "/api/v1/admin/jobs/dead": "admin area",
	"/api/v1/admin/reports": "admin area", "/api/v1/admin/settings": "admin area", "/api/v1/admin/stats": "admin area",
	"/api/v1/admin/users":            "admin area",
	"/admin/cluster":                 "admin area: nodes and partitions, no account data",
	"/api/v1/admin/cluster":          "admin area: nodes and partitions, no account data",
	"/admin/alerts":                  "admin area: rules and their readings, no account data",
	"/api/v1/admin/alerts":           "admin area: rules and their readings, no account data",
	"/api/v1/admin/imports":          "admin area",
	"/api/v1/me/imports/uploads/:id": "an upload's byte count, no account data",
	"/settings/exports/:file":        "the account's own export, TestExportOverHTTP",
}

// TestSuspendedAccountVanishes suspends an account that has posts (with
// photos, a hashtag, a place and a mention), an avatar, comments and
// likes on others' posts, follows both ways and a pending follow request,
// then walks every read endpoint — JSON and pages — as anonymous, as its
// follower, as accounts it touched, as an administrator and with its own
// old session, and fetches its photo URLs: nothing of it shows, no count
// includes it, its files answer 404 without being cached, and its
// sessions are over. Lifting the suspension brings everything back but
// the sessions.
func TestSuspendedAccountVanishes(t *testing.T) {
	for _, private := range []bool{false, true} {
		name := map[bool]string{false: "public account", true: "private account"}[private]
		t.Run(name, func(t *testing.T) {
			ts := newServer(t, web.Config{})
			admin := ts.admin("boss")
			mallory, malloryRefresh := ts.signup("mallory")
			ben, _ := ts.signup("ben")
			cara, _ := ts.signup("cara")
			pia, _ := ts.signup("pia")
			ts.do("PATCH", "/api/v1/me", pia, map[string]any{"private": true})
			var avatar web.MediaView
			json.Unmarshal(ts.upload(mallory, photo(t, false), map[string]string{"filter": "moon"}).body, &avatar)
			if r := ts.do("PATCH", "/api/v1/me", mallory, map[string]any{"display_name": "Mallory Marker", "private": private,
				"avatar_media_id": avatar.ID.String()}); r.status != 200 {
				t.Fatalf("profile: %d %s", r.status, r.body)
			}
			ts.do("POST", "/api/v1/users/mallory/follow", ben, nil)
			ts.drain() // the request reaches mallory's partition
			if private {
				ts.do("POST", "/api/v1/me/follow-requests/"+ts.do("GET", "/api/v1/users/ben", "", nil).json(t)["id"].(string)+"/approve", mallory, nil)
			}
			ts.do("POST", "/api/v1/users/ben/follow", mallory, nil)
			ts.do("POST", "/api/v1/users/pia/follow", mallory, nil) // a pending request
			cp := ts.share(cara, "cara's #sunrise")
			bp := ts.share(ben, "ben's #sunrise")
			mp1 := ts.carousel(mallory, "quokkacaption #quokkatag @cara", "Quokkaville", 5.5, 5.5, "clarendon", "gingham")
			mp2 := ts.carousel(mallory, "more quokkacaption #quokkatag", "Quokkaville", 5.501, 5.5, "juno")
			var comments []string
			for _, p := range []web.PostView{cp, bp} {
				ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/like", mallory, nil)
				r := ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/comments", mallory, map[string]string{"text": "quokkacomment"})
				comments = append(comments, r.json(t)["id"].(string))
			}
			ts.do("POST", "/api/v1/posts/"+mp1.ID.String()+"/like", ben, nil)
			ts.do("POST", "/api/v1/posts/"+mp1.ID.String()+"/comments", ben, map[string]string{"text": "nice"})
			ts.drain()
			ts.explore.Refresh(time.Now())

			// Every file URL of the account: as its follower sees them
			// (signed, for a private account), as the account itself sees
			// them (with the full copy), and its avatar.
			files := map[string]bool{}
			for _, token := range []string{ben, mallory} {
				for _, p := range []web.PostView{mp1, mp2} {
					var v web.PostView
					json.Unmarshal(ts.do("GET", "/api/v1/posts/"+p.ID.String(), token, nil).body, &v)
					for _, m := range v.Media {
						for _, variant := range m.Variants {
							files[variant.URL] = true
						}
					}
				}
			}
			profile := ts.do("GET", "/api/v1/users/mallory", ben, nil).json(t)
			files[profile["avatar"].(string)] = true
			if len(files) < 10 {
				t.Fatalf("only %d file URLs: %v", len(files), files)
			}
			for u := range files {
				if r := ts.get(u, "", nil); r.status != 200 {
					t.Fatalf("before the suspension %s: %d", u, r.status)
				}
			}
			place := store.PlaceID(store.Location{Name: "Quokkaville", Lat: 5.5, Lon: 5.5}).String()

			// What would betray the account: its posts, comments, photos,
			// names and words, in any answer.
			markers := []string{mp1.ID.String(), mp2.ID.String(), comments[0], comments[1], "Mallory Marker", "quokkacomment",
				"quokkacaption", "Quokkaville", `"username":"mallory"`, `/u/mallory"`, "<b>mallory</b>", "by mallory"}
			for u := range files {
				markers = append(markers, regexp.MustCompile(`[0-9a-f]{64}`).FindString(u))
			}
			paths := []readPath{
				{route: "/api/v1/users/:username", path: "/api/v1/users/mallory", gone: true},
				{route: "/api/v1/users/:username/posts", path: "/api/v1/users/mallory/posts", gone: true},
				{route: "/api/v1/users/:username/followers", path: "/api/v1/users/mallory/followers", gone: true},
				{route: "/api/v1/users/:username/following", path: "/api/v1/users/mallory/following", gone: true},
				{route: "/api/v1/posts/:id", path: "/api/v1/posts/" + mp1.ID.String(), gone: true},
				{route: "/api/v1/posts/:id/likes", path: "/api/v1/posts/" + mp1.ID.String() + "/likes", gone: true},
				{route: "/api/v1/posts/:id/comments", path: "/api/v1/posts/" + mp2.ID.String() + "/comments", gone: true},
				{route: "/api/v1/users/:username", path: "/api/v1/users/ben"},
				{route: "/api/v1/users/:username/followers", path: "/api/v1/users/ben/followers"},
				{route: "/api/v1/users/:username/following", path: "/api/v1/users/ben/following"},
				{route: "/api/v1/users/:username/posts", path: "/api/v1/users/cara/posts"},
				{route: "/api/v1/posts/:id", path: "/api/v1/posts/" + cp.ID.String()},
				{route: "/api/v1/posts/:id/likes", path: "/api/v1/posts/" + cp.ID.String() + "/likes"},
				{route: "/api/v1/posts/:id/comments", path: "/api/v1/posts/" + bp.ID.String() + "/comments"},
				{route: "/api/v1/feed", path: "/api/v1/feed"},
				{route: "/api/v1/activity", path: "/api/v1/activity"},
				{route: "/api/v1/me", path: "/api/v1/me"},
				{route: "/api/v1/me/follow-requests", path: "/api/v1/me/follow-requests"},
				{route: "/api/v1/me/preferences", path: "/api/v1/me/preferences"},
				{route: "/api/v1/subscriptions", path: "/api/v1/subscriptions"},
				{route: "/api/v1/explore", path: "/api/v1/explore"},
				{route: "/api/v1/suggestions", path: "/api/v1/suggestions?limit=30"},
				{route: "/api/v1/tags/:tag/posts", path: "/api/v1/tags/quokkatag/posts"},
				{route: "/api/v1/search", path: "/api/v1/search?q=mall"},
				{route: "/api/v1/search", path: "/api/v1/search?q=%23quokka"},
				{route: "/api/v1/search", path: "/api/v1/search?q=quokkacaption"},
				{route: "/api/v1/places/search", path: "/api/v1/places/search?q=quokkav"},
				{route: "/api/v1/places/:id/posts", path: "/api/v1/places/" + place + "/posts", gone: true},
				{route: "/api/v1/places/nearby", path: "/api/v1/places/nearby?lat=5.5&lon=5.5&radius_km=5"},
				{route: "/api/v1/map", path: "/api/v1/map?bbox=5,5,6,6"},
				{route: "/api/v1/map", path: "/api/v1/map?bbox=-180,-90,180,90&limit=1"},
				{route: "/", path: "/", page: true},
				{route: "/explore", path: "/explore", page: true},
				{route: "/search", path: "/search?q=mall", page: true},
				{route: "/search", path: "/search?q=%23quokka", page: true},
				{route: "/search", path: "/search?q=quokkav", page: true},
				{route: "/tags/:tag", path: "/tags/quokkatag", page: true},
				{route: "/places/:id", path: "/places/" + place, page: true, gone: true},
				{route: "/map", path: "/map", page: true},
				{route: "/map", path: "/map?lat=5.5&lon=5.5&z=12", page: true},
				{route: "/p/:id", path: "/p/" + mp1.ID.String(), page: true, gone: true},
				{route: "/p/:id/likes", path: "/p/" + mp1.ID.String() + "/likes", page: true, gone: true},
				{route: "/p/:id", path: "/p/" + cp.ID.String(), page: true},
				{route: "/p/:id/likes", path: "/p/" + bp.ID.String() + "/likes", page: true},
				{route: "/u/:username", path: "/u/mallory", page: true, gone: true},
				{route: "/u/:username/followers", path: "/u/mallory/followers", page: true, gone: true},
				{route: "/u/:username/following", path: "/u/mallory/following", page: true, gone: true},
				{route: "/u/:username", path: "/u/ben", page: true},
				{route: "/u/:username/followers", path: "/u/ben/followers", page: true},
				{route: "/u/:username/following", path: "/u/ben/following", page: true},
				{route: "/activity", path: "/activity", page: true},
				{route: "/requests", path: "/requests", page: true},
				{route: "/accounts/edit", path: "/accounts/edit", page: true},
				{route: "/settings", path: "/settings", page: true},
				{route: "/api/v1/me/imports", path: "/api/v1/me/imports"},
				{route: "/api/v1/me/exports", path: "/api/v1/me/exports"},
				{route: "/new", path: "/new", page: true},
			}
			// The walk covers every read route of the server.
			walked := map[string]bool{}
			for _, p := range paths {
				walked[p.route] = true
			}
			for _, rt := range ts.srv.App().GetRoutes(true) {
				if _, why := notWalked[rt.Path]; rt.Method == "GET" && !walked[rt.Path] && !why {
					t.Errorf("GET %s is neither walked nor excused", rt.Path)
				}
			}

			// Before: the account is there to be seen (so the walk can
			// tell when it is not).
			leaks := func(body []byte) []string {
				var found []string
				for _, m := range markers {
					if m != "" && strings.Contains(string(body), m) {
						found = append(found, m)
					}
				}
				return found
			}
			seen := 0
			for _, p := range paths {
				if len(leaks(ts.do("GET", p.path, ben, nil).body)) > 0 {
					seen++
				}
			}
			if seen < 15 {
				t.Fatalf("before the suspension only %d endpoints show the account to its follower", seen)
			}

			if r := ts.do("POST", "/api/v1/admin/users/mallory/suspend", admin, nil); r.status != 200 {
				t.Fatalf("suspend: %d %s", r.status, r.body)
			}
			ts.drain()
			ts.explore.Refresh(time.Now())

			viewers := []struct{ name, token string }{
				{"anonymous", ""}, {"follower", ben}, {"commented on", cara}, {"asked to follow", pia}, {"administrator", admin},
			}
			for _, v := range viewers {
				t.Run(v.name, func(t *testing.T) {
					page := ts.visitor()
					if v.token != "" {
						page.cookies["ap_at"] = v.token
					}
					for _, p := range paths {
						var r resp
						if p.page {
							r = page.get(p.path)
						} else {
							r = ts.do("GET", p.path, v.token, nil)
						}
						signIn := r.status == http.StatusSeeOther && v.token == "" || r.status == http.StatusUnauthorized && v.token == ""
						switch {
						case p.gone && r.status != http.StatusNotFound:
							t.Errorf("GET %s: %d, want 404", p.path, r.status)
						case !p.gone && r.status != 200 && !signIn:
							t.Errorf("GET %s: %d %s", p.path, r.status, r.body)
						}
						if found := leaks(r.body); len(found) > 0 {
							t.Errorf("GET %s shows %q", p.path, found)
						}
					}
				})
			}
			t.Run("counts", func(t *testing.T) {
				for _, p := range []web.PostView{cp, bp} {
					var v web.PostView
					json.Unmarshal(ts.do("GET", "/api/v1/posts/"+p.ID.String(), "", nil).body, &v)
					if v.LikeCount != 0 || v.CommentCount != 0 {
						t.Errorf("post %s counts %d likes, %d comments, all the suspended account's", p.ID, v.LikeCount, v.CommentCount)
					}
				}
				if n := ts.do("GET", "/api/v1/users/ben", "", nil).json(t)["counts"].(map[string]any)["followers"].(float64); n != 0 {
					t.Errorf("ben counts %v followers, all suspended", n)
				}
				var tag struct{ Count int }
				decode(t, ts.do("GET", "/api/v1/tags/quokkatag/posts", "", nil), &tag)
				if tag.Count != 0 {
					t.Errorf("the tag counts %d posts", tag.Count)
				}
			})
			t.Run("files", func(t *testing.T) {
				for u := range files {
					for _, token := range []string{"", ben} {
						r := ts.get(u, token, nil)
						if r.status != 404 || r.header.Get("Cache-Control") != "no-store" || strings.HasPrefix(r.header.Get("Content-Type"), "image/") {
							t.Errorf("GET %s: %d, Cache-Control %q, Content-Type %q", u, r.status, r.header.Get("Cache-Control"), r.header.Get("Content-Type"))
						}
					}
					if r := ts.get(u, mallory, nil); r.status == 200 {
						t.Errorf("GET %s with the account's own old token: 200", u)
					}
				}
			})
			t.Run("sessions", func(t *testing.T) {
				wantProblem(t, ts.do("GET", "/api/v1/me", mallory, nil), 401)
				for _, p := range paths {
					if !p.page {
						if r := ts.do("GET", p.path, mallory, nil); r.status != 401 {
							t.Errorf("GET %s with the suspended account's token: %d", p.path, r.status)
						}
					}
				}
				wantProblem(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": malloryRefresh}), 401)
				wantProblem(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "mallory", "password": "correct horse"}), 403)
				// Its old session cookie signs nobody in.
				page := ts.visitor()
				page.cookies["ap_at"], page.cookies["ap_rt"] = mallory, malloryRefresh
				if body := string(page.get("/").body); strings.Contains(body, "Mallory Marker") || !strings.Contains(body, `action="/login"`) {
					t.Error("the suspended account's cookies still sign it in")
				}
			})
			t.Run("admin area", func(t *testing.T) {
				var users struct{ Items []web.AdminUserView }
				decode(t, ts.do("GET", "/api/v1/admin/users?q=mall", admin, nil), &users)
				if len(users.Items) != 1 || !users.Items[0].Suspended {
					t.Fatalf("the admin list: %+v", users.Items)
				}
			})

			// Lifting the suspension brings back everything but the
			// sessions.
			if r := ts.do("POST", "/api/v1/admin/users/mallory/unsuspend", admin, nil); r.status != 200 {
				t.Fatalf("unsuspend: %d %s", r.status, r.body)
			}
			ts.drain()
			t.Run("lifted", func(t *testing.T) {
				for _, path := range []string{"/api/v1/users/mallory", "/api/v1/posts/" + mp1.ID.String(), "/api/v1/places/" + place + "/posts"} {
					if r := ts.do("GET", path, ben, nil); r.status != 200 {
						t.Errorf("GET %s: %d", path, r.status)
					}
				}
				if r := ts.do("GET", "/api/v1/posts/"+bp.ID.String()+"/comments", ben, nil); !strings.Contains(string(r.body), "quokkacomment") {
					t.Error("the comment did not come back")
				}
				var v web.PostView
				json.Unmarshal(ts.do("GET", "/api/v1/posts/"+cp.ID.String(), "", nil).body, &v)
				if v.LikeCount != 1 || v.CommentCount != 1 {
					t.Errorf("counts %d, %d after the suspension was lifted", v.LikeCount, v.CommentCount)
				}
				for u := range files {
					if r := ts.get(u, ben, nil); r.status != 200 {
						t.Errorf("GET %s: %d", u, r.status)
					}
				}
				wantProblem(t, ts.do("GET", "/api/v1/me", mallory, nil), 401)
				wantProblem(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": malloryRefresh}), 401)
				if r := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "mallory", "password": "correct horse"}); r.status != 200 {
					t.Errorf("log-in after the suspension: %d %s", r.status, r.body)
				}
			})
			if bad, err := ts.st.Check(); err != nil || len(bad) > 0 {
				t.Fatalf("invariants: %v %v", bad, err)
			}
		})
	}
}

// carousel shares one photo per filter (so each is its own file) as one
// post at a place.
func (ts *testServer) carousel(token, caption, place string, lat, lon float64, filters ...string) web.PostView {
	ts.t.Helper()
	var ids []string
	for _, f := range filters {
		var m web.MediaView
		up := ts.upload(token, photo(ts.t, false), map[string]string{"filter": f})
		if err := json.Unmarshal(up.body, &m); err != nil || up.status != 201 {
			ts.t.Fatalf("upload: %d %s", up.status, up.body)
		}
		ids = append(ids, m.ID.String())
	}
	r := ts.do("POST", "/api/v1/posts", token, map[string]any{"caption": caption, "media_ids": ids,
		"location": map[string]any{"name": place, "lat": lat, "lon": lon}})
	if r.status != 201 {
		ts.t.Fatalf("post: %d %s", r.status, r.body)
	}
	var p web.PostView
	json.Unmarshal(r.body, &p)
	return p
}
