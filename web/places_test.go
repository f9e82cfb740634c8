package web_test

import (
	"math"
	"net/http"
	"strings"
	"testing"

	"aperture/store"
	"aperture/web"
)

// somePlaces shares three posts at places around Lisbon and one in Paris.
func somePlaces(ts *testServer) {
	other, _ := ts.signup("other")
	ts.shareAt(other, "coffee", "Café Lua", 38.7300, -9.1400)
	ts.shareAt(other, "tower", "Belém Tower", 38.6916, -9.2160)
	ts.shareAt(other, "coffee", "Café Paris", 48.8566, 2.3522)
	ts.drain()
}

// TestPlaceSearchNearestFirst: given a point, the place search lists
// name matches nearest first with their distance, and with no name the
// places around the point.
func TestPlaceSearchNearestFirst(t *testing.T) {
	ts := newServer(t, web.Config{})
	somePlaces(ts)
	type place struct {
		Name       string   `json:"name"`
		DistanceKm *float64 `json:"distance_km"`
	}
	list := func(query string) []place {
		t.Helper()
		var out struct{ Items []place }
		decode(t, ts.do("GET", "/api/v1/places/search?"+query, "", nil), &out)
		return out.Items
	}
	names := func(ps []place) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Name)
		}
		return strings.Join(s, ", ")
	}
	got := list("q=caf&near=38.7167,-9.14")
	if names(got) != "Café Lua, Café Paris" || got[0].DistanceKm == nil || math.Abs(*got[0].DistanceKm-1.48) > 0.05 || *got[1].DistanceKm < 1400 {
		t.Fatalf("caf near Lisbon: %+v", got)
	}
	if got := list("q=caf&near=48.85,2.35"); names(got) != "Café Paris, Café Lua" {
		t.Fatalf("caf near Paris: %s", names(got))
	}
	if got := list("near=38.7167,-9.14"); names(got) != "Café Lua, Belém Tower" {
		t.Fatalf("around Lisbon: %s", names(got))
	}
	// Without a point: by name, and no distance.
	if got := list("q=caf"); len(got) != 2 || got[0].DistanceKm != nil {
		t.Fatalf("caf anywhere: %+v", got)
	}
	for query, want := range map[string]string{
		"near=38.7":     "latitude,longitude",
		"near=91,0":     "Latitude",
		"near=a,b":      "latitude,longitude",
		"q=&near=0,181": "Longitude",
		"q=" + strings.Repeat("x", 201) + "&near=0,0": "at most",
		"q=": "Type something",
	} {
		m := wantProblem(t, ts.do("GET", "/api/v1/places/search?"+query, "", nil), http.StatusUnprocessableEntity)
		if !strings.Contains(m["detail"].(string), want) {
			t.Errorf("%s: %q lacks %q", query, m["detail"], want)
		}
	}
}

// TestNewFormPlaceByName: without JavaScript the form sends a place's
// name alone; it becomes the place of that name (the nearest to the
// photo when the photo says where it was taken), or a new place where
// the photo was taken, and is refused in words when neither is known.
func TestNewFormPlaceByName(t *testing.T) {
	ts := newServer(t, web.Config{})
	somePlaces(ts)
	v := ts.visitor()
	v.signup("ana")
	v.get("/new")
	share := func(file []byte, fields map[string]string) *store.Location {
		t.Helper()
		r := v.postPhoto(t, "/new", file, fields)
		loc := r.header.Get("Location")
		if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/p/") {
			t.Fatalf("the form answered %d %s: %.300s", r.status, loc, r.body)
		}
		id, err := store.ParseID(strings.TrimPrefix(loc, "/p/"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := ts.st.ViewPost(0, id)
		if err != nil || p.Location == nil {
			t.Fatalf("the post: %+v %v", p, err)
		}
		return p.Location
	}
	near := func(l *store.Location, name string, lat, lon float64) {
		t.Helper()
		if l.Name != name || math.Abs(l.Lat-lat) > 1e-4 || math.Abs(l.Lon-lon) > 1e-4 {
			t.Fatalf("the post is at %+v, want %s at %v, %v", l, name, lat, lon)
		}
	}
	near(share(photo(t, false), map[string]string{"place": "  café lua "}), "Café Lua", 38.73, -9.14)
	near(share(photo(t, true), map[string]string{"place": "Belém Tower"}), "Belém Tower", 38.6916, -9.2160)
	near(share(photo(t, true), map[string]string{"place": "Miradouro"}), "Miradouro", 38.71667, -9.14)
	near(share(photo(t, false), map[string]string{"place": "Pinned", "lat": "10.5", "lon": "20.25"}), "Pinned", 10.5, 20.25)

	posts := func() int64 {
		u, err := ts.st.UserByUsername("ana")
		if err != nil {
			t.Fatal(err)
		}
		return u.Counts.Posts
	}
	before := posts()
	r := v.postPhoto(t, "/new", photo(t, false), map[string]string{"place": "Nowhere"})
	if got := v.refusal(t, r); got != "No place called “Nowhere” has photos here yet, and this photo does not say where it was taken. Choose a place that others have used, or leave the location empty." {
		t.Fatalf("an unknown place without a location: %d %q", r.status, got)
	}
	r = v.postPhoto(t, "/new", photo(t, false), map[string]string{"place": "Odd", "lat": "north", "lon": "1"})
	if got := v.refusal(t, r); !strings.Contains(got, "Pick the place from the suggestions") {
		t.Fatalf("coordinates that are not numbers: %q", got)
	}
	if after := posts(); after != before || before != 4 {
		t.Fatalf("ana has %d posts after the refusals, %d before (want 4)", after, before)
	}
}
