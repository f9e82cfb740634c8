package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"aperture/web"
)

func (ts *testServer) shareAt(token, caption, place string, lat, lon float64) web.PostView {
	ts.t.Helper()
	up := ts.upload(token, photo(ts.t, false), nil)
	var m web.MediaView
	json.Unmarshal(up.body, &m)
	r := ts.do("POST", "/api/v1/posts", token, map[string]any{"caption": caption, "media_ids": []string{m.ID.String()},
		"location": map[string]any{"name": place, "lat": lat, "lon": lon}})
	if r.status != 201 {
		ts.t.Fatalf("post: %d %s", r.status, r.body)
	}
	var p web.PostView
	json.Unmarshal(r.body, &p)
	return p
}

func TestSearchAndPlaces(t *testing.T) {
	ts := newServer(t, web.Config{})
	alice, _ := ts.signup("alice")
	hidden, _ := ts.signup("hidden")
	ts.do("PATCH", "/api/v1/me", hidden, map[string]any{"private": true})
	stranger, _ := ts.signup("stranger")
	pub := ts.shareAt(alice, "Golden #sunset over the river", "Lisbon", 38.7223, -9.1393)
	ts.shareAt(alice, "Trams and #sunshine", "Lisbon", 38.7130, -9.1300)
	secret := ts.shareAt(hidden, "Secret #sunset spot", "Lisbon", 38.72, -9.14)
	ts.drain()

	r := ts.do("GET", "/api/v1/search?q=ali&type=users", "", nil)
	var s struct {
		Users []web.AuthorView `json:"users"`
		Tags  []struct {
			Tag   string `json:"tag"`
			Posts int    `json:"posts"`
		} `json:"tags"`
		Posts []web.PostView `json:"posts"`
	}
	json.Unmarshal(r.body, &s)
	if r.status != 200 || len(s.Users) != 1 || s.Users[0].Username != "alice" {
		t.Fatalf("users: %d %s", r.status, r.body)
	}
	ts.shareAt(alice, "Another #sunset", "Porto", 41.15, -8.61)
	ts.drain()
	json.Unmarshal(ts.do("GET", "/api/v1/search?q=%23sun&type=tags", "", nil).body, &s)
	// Counts are of public posts: the private #sunset is not among them.
	if len(s.Tags) != 2 || s.Tags[0].Tag != "sunset" || s.Tags[0].Posts != 2 || s.Tags[1].Posts != 1 {
		t.Fatalf("tags: %+v", s.Tags)
	}
	// Posts: the private one only for its owner.
	for token, want := range map[string]int{"": 2, stranger: 2, hidden: 3} {
		json.Unmarshal(ts.do("GET", "/api/v1/search?q=sunset&type=posts", token, nil).body, &s)
		if len(s.Posts) != want {
			t.Fatalf("posts for %q: %d, want %d", token[:min(8, len(token))], len(s.Posts), want)
		}
	}

	var near struct {
		Items []struct {
			ID         string  `json:"id"`
			DistanceKm float64 `json:"distance_km"`
		} `json:"items"`
	}
	json.Unmarshal(ts.do("GET", "/api/v1/places/nearby?lat=38.7223&lon=-9.1393&radius_km=5", stranger, nil).body, &near)
	if len(near.Items) != 2 || near.Items[0].ID != pub.ID.String() || near.Items[0].DistanceKm > near.Items[1].DistanceKm {
		t.Fatalf("nearby: %+v", near.Items)
	}
	for _, it := range near.Items {
		if it.ID == secret.ID.String() {
			t.Fatal("a private post is nearby for a stranger")
		}
	}

	var places struct {
		Items []web.PlaceView `json:"items"`
	}
	json.Unmarshal(ts.do("GET", "/api/v1/places/search?q=lis", "", nil).body, &places)
	if len(places.Items) == 0 || places.Items[0].Name != "Lisbon" {
		t.Fatalf("places: %+v", places.Items)
	}
	var pp struct {
		Place web.PlaceView  `json:"place"`
		Items []web.PostView `json:"items"`
	}
	json.Unmarshal(ts.do("GET", "/api/v1/places/"+places.Items[0].ID.String()+"/posts", stranger, nil).body, &pp)
	for _, p := range pp.Items {
		if p.ID == secret.ID {
			t.Fatal("a private post is on a place page for a stranger")
		}
	}
	if len(pp.Items) == 0 {
		t.Fatalf("place page: %+v", pp)
	}

	var m struct {
		Posts    []web.MapPost    `json:"posts"`
		Clusters []web.MapCluster `json:"clusters"`
	}
	json.Unmarshal(ts.do("GET", "/api/v1/map?bbox=-10,38,-9,39", "", nil).body, &m)
	if len(m.Posts) != 2 || m.Posts[0].Thumb == "" {
		t.Fatalf("map: %+v", m)
	}
	json.Unmarshal(ts.do("GET", "/api/v1/map?bbox=-10,38,-9,39&limit=1", "", nil).body, &m)
	// Clusters count public posts only; the newest public one opens.
	if len(m.Clusters) != 1 || m.Clusters[0].Count != 2 || m.Clusters[0].Post == nil || m.Clusters[0].Thumb == "" {
		t.Fatalf("clusters: %+v", m.Clusters)
	}

	// A blocked user's content never appears for the blocker.
	blocker, _ := ts.signup("blocker")
	ts.do("POST", "/api/v1/users/alice/block", blocker, nil)
	json.Unmarshal(ts.do("GET", "/api/v1/search?q=ali", blocker, nil).body, &s)
	if len(s.Users) != 0 || len(s.Posts) != 0 {
		t.Fatalf("blocked account in search: %+v %+v", s.Users, s.Posts)
	}
	json.Unmarshal(ts.do("GET", "/api/v1/search?q=sunset&type=posts", blocker, nil).body, &s)
	if len(s.Posts) != 0 {
		t.Fatalf("blocked account's posts in search: %d", len(s.Posts))
	}
	json.Unmarshal(ts.do("GET", "/api/v1/places/nearby?lat=38.7223&lon=-9.1393&radius_km=5", blocker, nil).body, &near)
	if len(near.Items) != 0 {
		t.Fatalf("blocked account's posts nearby: %+v", near.Items)
	}
	json.Unmarshal(ts.do("GET", "/api/v1/map?bbox=-10,38,-9,39", blocker, nil).body, &m)
	if len(m.Posts) != 0 {
		t.Fatalf("blocked account's posts on the map: %+v", m.Posts)
	}
	json.Unmarshal(ts.do("GET", "/api/v1/places/"+places.Items[0].ID.String()+"/posts", blocker, nil).body, &pp)
	if len(pp.Items) != 0 {
		t.Fatalf("blocked account's posts on a place page: %d", len(pp.Items))
	}

	// Bad input is a 422 with a sentence, never a 500.
	for _, path := range []string{
		"/api/v1/search?q=", "/api/v1/search?q=" + strings.Repeat("a", 300), "/api/v1/search?q=x&type=cats",
		"/api/v1/places/nearby?lat=91&lon=0", "/api/v1/places/nearby?lat=0&lon=0&radius_km=0",
		"/api/v1/places/nearby?lat=0&lon=0&radius_km=20001", "/api/v1/map?bbox=10,10,0", "/api/v1/map?bbox=0,50,10,40",
		"/api/v1/places/search?q=",
	} {
		wantProblem(t, ts.do("GET", path, "", nil), 422)
	}
	for _, q := range []string{"%2Bcaption%3Ax", "*", "a%20OR%20b%5E3", "%22unbalanced"} {
		if r := ts.do("GET", "/api/v1/search?q="+q, "", nil); r.status != 200 {
			t.Fatalf("query %s: %d %s", q, r.status, r.body)
		}
	}
	if r := ts.do("GET", "/api/v1/map?bbox=170,-40,-170,-10", "", nil); r.status != 200 {
		t.Fatalf("antimeridian box: %d", r.status)
	}
}
