package web_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"aperture/store"
	"aperture/web"
)

// TestAggregatesShowOnlyWhatViewersMaySee: a tag, a place and map
// clusters that only non-public posts support (a private account's, a
// suspended or deleted one's) are counted and shown to no one who may not
// see those posts — in typeahead, tag and place pages, place search,
// /search, the map, explore and nearby, as JSON and as pages — while the
// same posts of a public account are (the control case).
func TestAggregatesShowOnlyWhatViewersMaySee(t *testing.T) {
	tinyhaven := store.Location{Name: "Tinyhaven", Lat: 10.5, Lon: 20.5}
	for _, tc := range []struct {
		name string
		// before runs before sam posts, after after.
		before, after func(ts *testServer, admin, sam, fay string)
		public        bool // sam's posts are public content
		followerSees  bool // sam's follower fay may see them
	}{
		{name: "a public account (control)", public: true, followerSees: true},
		{name: "a private account", followerSees: true, before: func(ts *testServer, _, sam, _ string) {
			ts.do("PATCH", "/api/v1/me", sam, map[string]any{"private": true})
		}},
		{name: "an account gone private after posting", followerSees: true, after: func(ts *testServer, _, sam, _ string) {
			ts.do("PATCH", "/api/v1/me", sam, map[string]any{"private": true})
		}},
		{name: "a suspended account", after: func(ts *testServer, admin, _, _ string) {
			ts.do("POST", "/api/v1/admin/users/sam/suspend", admin, nil)
		}},
		{name: "an account suspended on a report", after: func(ts *testServer, admin, _, fay string) {
			r := ts.do("POST", "/api/v1/reports", fay, map[string]any{"username": "sam", "reason": "Spam."})
			var rep web.ReportView
			json.Unmarshal(r.body, &rep)
			ts.do("POST", "/api/v1/admin/reports/"+rep.ID.String()+"/resolve", admin, map[string]string{"action": "remove"})
		}},
		{name: "a deleted account", after: func(ts *testServer, admin, _, _ string) {
			ts.do("DELETE", "/api/v1/admin/users/sam", admin, nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newServer(t, web.Config{})
			admin := ts.admin("boss")
			sam, _ := ts.signup("sam")
			fay, _ := ts.signup("fay")
			stan, _ := ts.signup("stan")
			olga, _ := ts.signup("olga")
			if tc.before != nil {
				tc.before(ts, admin, sam, fay)
			}
			ts.do("POST", "/api/v1/users/sam/follow", fay, nil)
			ts.drain() // the follow reaches sam's partition
			if reqs := listIDs(t, ts.do("GET", "/api/v1/me/follow-requests", sam, nil)); len(reqs) == 1 {
				ts.do("POST", "/api/v1/me/follow-requests/"+reqs[0]+"/approve", sam, nil)
			}
			ts.shareAt(sam, "Dawn #quokkaflare", tinyhaven.Name, tinyhaven.Lat, tinyhaven.Lon)
			ts.shareAt(sam, "Dusk #quokkaflare", tinyhaven.Name, tinyhaven.Lat+0.001, tinyhaven.Lon)
			ts.shareAt(olga, "Noon #quokkaday", "Olgaville", -20, -40)
			if tc.after != nil {
				tc.after(ts, admin, sam, fay)
			}
			ts.drain()
			ts.explore.Refresh(time.Now())
			place := store.PlaceID(tinyhaven).String()

			for _, v := range []struct {
				name, token string
				follower    bool
			}{{"anonymous", "", false}, {"a stranger", stan, false}, {"the follower", fay, true}} {
				t.Run(v.name, func(t *testing.T) {
					sees := tc.public || v.follower && tc.followerSees
					n := 0 // sam's posts the viewer sees
					if sees {
						n = 2
					}
					count := 0 // what a count of public content says
					if tc.public {
						count = 2
					}
					var s struct {
						Users []web.AuthorView `json:"users"`
						Tags  []store.TagCount `json:"tags"`
						Posts []web.PostView   `json:"posts"`
					}
					decode(t, ts.do("GET", "/api/v1/search?q=%23quokka&type=tags", v.token, nil), &s)
					if got := tagCount(s.Tags, "quokkaflare"); got != count || tagCount(s.Tags, "quokkaday") != 1 {
						t.Errorf("typeahead: %+v, want quokkaflare %d", s.Tags, count)
					}
					decode(t, ts.do("GET", "/api/v1/search?q=quokkaflare", v.token, nil), &s)
					if tagCount(s.Tags, "quokkaflare") != count || len(s.Posts) != n {
						t.Errorf("search: %d tags, %d posts; want %d posts", len(s.Tags), len(s.Posts), n)
					}
					var tag struct {
						Count int            `json:"count"`
						Items []web.PostView `json:"items"`
					}
					decode(t, ts.do("GET", "/api/v1/tags/quokkaflare/posts", v.token, nil), &tag)
					if tag.Count != n || len(tag.Items) != n {
						t.Errorf("tag page: count %d with %d posts, want %d", tag.Count, len(tag.Items), n)
					}
					var places struct{ Items []web.PlaceView }
					decode(t, ts.do("GET", "/api/v1/places/search?q=tinyhaven", v.token, nil), &places)
					if found := len(places.Items) > 0; found != tc.public {
						t.Errorf("place search: %+v", places.Items)
					}
					r := ts.do("GET", "/api/v1/places/"+place+"/posts", v.token, nil)
					if !sees {
						wantProblem(t, r, 404)
					} else {
						var pp struct {
							Place web.PlaceView  `json:"place"`
							Items []web.PostView `json:"items"`
						}
						decode(t, r, &pp)
						if pp.Place.Name != "Tinyhaven" || pp.Place.Posts != 2 || len(pp.Items) != 2 {
							t.Errorf("place page: %+v with %d posts", pp.Place, len(pp.Items))
						}
					}
					var m struct {
						Posts    []web.MapPost    `json:"posts"`
						Clusters []web.MapCluster `json:"clusters"`
					}
					decode(t, ts.do("GET", "/api/v1/map?bbox=-180,-90,180,90&limit=1", v.token, nil), &m)
					onMap := len(m.Posts) // a map of one post shows it, not a cluster
					for _, c := range m.Clusters {
						onMap += c.Count
					}
					if onMap != count+1 {
						t.Errorf("the world map counts %d posts, want %d", onMap, count+1)
					}
					decode(t, ts.do("GET", "/api/v1/map?bbox=20,10,21,11", v.token, nil), &m)
					if len(m.Posts) != count {
						t.Errorf("map: %d posts at Tinyhaven, want %d", len(m.Posts), count)
					}
					var near struct{ Items []web.PostView }
					decode(t, ts.do("GET", "/api/v1/places/nearby?lat=10.5&lon=20.5&radius_km=5", v.token, nil), &near)
					if len(near.Items) != n {
						t.Errorf("nearby: %d posts, want %d", len(near.Items), n)
					}
					explore := ts.do("GET", "/api/v1/explore", v.token, nil)
					if got := strings.Count(string(explore.body), `"username":"sam"`); got != count {
						t.Errorf("explore: %d of sam's posts, want %d", got, count)
					}

					// The pages, which call the same operations.
					page := ts.visitor()
					if v.token != "" {
						page.cookies["ap_at"] = v.token
					}
					body := string(page.get("/search?q=" + url.QueryEscape("#quokka")).body)
					if strings.Contains(body, "<b>#quokkaflare</b>") != tc.public || !strings.Contains(body, "<b>#quokkaday</b>") {
						t.Errorf("search page shows the tag: %v", !tc.public)
					}
					body = string(page.get("/search?q=tinyhaven").body)
					if strings.Contains(body, "<b>Tinyhaven</b>") != tc.public {
						t.Errorf("search page shows the place: %v", !tc.public)
					}
					if body := string(page.get("/tags/quokkaflare").body); !strings.Contains(body, "<b>"+strconv.Itoa(n)+"</b>") {
						t.Errorf("tag page counts other than %d", n)
					}
					r = page.get("/places/" + place)
					if (r.status == 200) != sees || strings.Contains(string(r.body), "Tinyhaven") != sees {
						t.Errorf("place page: %d, shows the place: %v; want %v", r.status, strings.Contains(string(r.body), "Tinyhaven"), sees)
					}
					if body := string(page.get("/map").body); strings.Contains(body, "Tinyhaven") != tc.public {
						t.Errorf("map page shows Tinyhaven: %v", !tc.public)
					}
				})
			}
			if bad, err := ts.st.Check(); err != nil || len(bad) > 0 {
				t.Fatalf("invariants: %v %v", bad, err)
			}
		})
	}
}

func decode(t *testing.T, r resp, v any) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
}

func tagCount(tags []store.TagCount, tag string) int {
	for _, tc := range tags {
		if tc.Tag == tag {
			return tc.Posts
		}
	}
	return 0
}
