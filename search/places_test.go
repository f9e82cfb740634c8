package search_test

import (
	"errors"
	"slices"
	"testing"

	"aperture/search"
	"aperture/store"
)

// TestPlacesNearestFirst: with a point, name matches come nearest first
// wherever they are, and an empty name finds the places around it.
func TestPlacesNearestFirst(t *testing.T) {
	e := newEnv(t, "")
	u := e.user("ana")
	here := city{"Lisbon", 38.7223, -9.1393}
	spots := []city{
		{"Café Lua", 38.7300, -9.1400},      // ~0.9 km
		{"Café Sol", 38.9000, -9.3000},      // ~24 km
		{"Café Porto", 41.1579, -8.6291},    // ~274 km
		{"Belém Tower", 38.6916, -9.2160},   // ~7 km
		{"Café Paris", 48.8566, 2.3522},     // ~1,450 km
		{"Sintra Palace", 38.7979, -9.3906}, // ~23 km
	}
	for _, s := range spots {
		e.post(u, "at "+s.Name, s.loc())
	}
	e.drain()
	names := func(ids []store.ID) []string {
		var out []string
		for _, id := range ids {
			pl, err := e.st.PublicPlace(id)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pl.Name)
		}
		return out
	}

	ids, err := e.idx.PlacesNear("café", here.Lat, here.Lon, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(ids), []string{"Café Lua", "Café Sol", "Café Porto", "Café Paris"}; !slices.Equal(got, want) {
		t.Fatalf("café near Lisbon: %q, want %q", got, want)
	}
	// From Paris, the same search starts there.
	ids, _ = e.idx.PlacesNear("café", 48.85, 2.35, 2)
	if got := names(ids); !slices.Equal(got, []string{"Café Paris", "Café Porto"}) {
		t.Fatalf("café near Paris: %q", got)
	}
	// No name: what is within NearbyPlacesKm, nearest first.
	ids, _ = e.idx.PlacesNear("", here.Lat, here.Lon, 10)
	if got, want := names(ids), []string{"Café Lua", "Belém Tower", "Sintra Palace", "Café Sol"}; !slices.Equal(got, want) {
		t.Fatalf("around Lisbon: %q, want %q", got, want)
	}
	// The nearest name for a bare point, when one is close enough.
	if got := e.idx.PlaceNear(38.7290, -9.1400, 1); got != "Café Lua" {
		t.Fatalf("the place at Café Lua's door is %q", got)
	}
	if got := e.idx.PlaceNear(38.80, -9.00, 1); got != "" {
		t.Fatalf("a point kilometres from any place is named %q", got)
	}
	// A point off the Earth is refused in words.
	if _, err := e.idx.PlacesNear("", 91, 0, 10); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("latitude 91: %v", err)
	}
	if _, err := e.idx.PlacesNear(string(make([]byte, search.MaxQuery+1)), 0, 0, 10); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("an over-long query: %v", err)
	}
}

// TestPlaceNamed finds a place by its exact name (case aside), the
// nearest of several namesakes, and nothing for a name no place has.
func TestPlaceNamed(t *testing.T) {
	e := newEnv(t, "")
	u := e.user("ana")
	e.post(u, "one", city{"Central Park", 40.7829, -73.9654}.loc())
	e.post(u, "two", city{"Central Park", 43.6426, -79.3871}.loc()) // Toronto has one too
	e.post(u, "three", city{"Central Parkway", 40.0, -74.0}.loc())
	e.drain()
	pl, err := e.idx.PlaceNamed("central park", 43.6, -79.4, true)
	if err != nil || pl.Name != "Central Park" || pl.Lat < 43 {
		t.Fatalf("near Toronto: %+v %v", pl, err)
	}
	pl, err = e.idx.PlaceNamed(" CENTRAL PARK ", 40.7, -74, true)
	if err != nil || pl.Lat > 41 {
		t.Fatalf("near New York: %+v %v", pl, err)
	}
	if pl, err = e.idx.PlaceNamed("Central Parkway", 0, 0, false); err != nil || pl.Name != "Central Parkway" {
		t.Fatalf("by name alone: %+v %v", pl, err)
	}
	if _, err := e.idx.PlaceNamed("Central", 40.7, -74, true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a part of a name is not a place: %v", err)
	}
	if _, err := e.idx.PlaceNamed("  ", 0, 0, false); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("an empty name: %v", err)
	}
}
