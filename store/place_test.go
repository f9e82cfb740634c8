package store_test

import (
	"context"
	"math"
	"testing"

	"aperture/store"
)

func TestGeohashAndCells(t *testing.T) {
	if h := store.Geohash(42.6, -5.6, 5); h != "ezs42" {
		t.Fatalf("geohash %s, want ezs42", h)
	}
	if h := store.Geohash(57.64911, 10.40744, 11); h != "u4pruydqqvj" {
		t.Fatalf("geohash %s", h)
	}
	ctx := context.Background()
	s := MustOpen(t, "")
	u := mustCreate(t, s, "placer")
	var posts []*store.Post
	for i, loc := range []store.Location{{Name: "Suva", Lat: -18.12, Lon: 178.45}, {Name: "Suva", Lat: -18.13, Lon: 178.44}, {Name: "Apia", Lat: -13.83, Lon: -171.76}, {Name: "Oslo", Lat: 59.91, Lon: 10.75}} {
		m, _ := store.Exec(ctx, s, store.CreateMedia{Meta: store.At(t0), OwnerID: u.ID, Hash: hashOf(i)})
		p, err := store.Exec(ctx, s, store.CreatePost{Meta: store.At(t0), AuthorID: u.ID, MediaIDs: []store.ID{m.ID}, Location: &loc})
		if err != nil {
			t.Fatal(err)
		}
		posts = append(posts, p)
	}
	// Across the antimeridian, coarse cells: Suva's two posts and Apia.
	cells, err := s.GeoCells(2, -40, 170, -5, -170)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range cells {
		total += c.Count
	}
	if total != 3 || cells[0].Count != 2 || cells[0].Newest != posts[1].ID {
		t.Fatalf("cells %+v", cells)
	}
	// Clusters sit at their posts' centroid, not the cell's centre.
	if c := cells[0]; math.Abs(c.Lat - -18.125) > 1e-9 || math.Abs(c.Lon-178.445) > 1e-9 {
		t.Fatalf("centroid %v,%v", c.Lat, c.Lon)
	}
	store.Exec(ctx, s, store.DeletePost{Meta: store.At(t0), ActorID: u.ID, PostID: posts[0].ID})
	cells, _ = s.GeoCells(2, -40, 170, -5, -170)
	total = 0
	for _, c := range cells {
		total += c.Count
	}
	if total != 2 {
		t.Fatalf("after delete %+v", cells)
	}
	world, _ := s.GeoCells(1, -90, -180, 90, 180)
	if len(world) != 3 {
		t.Fatalf("world cells %+v", world)
	}
}

func hashOf(i int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 64)
	for j := range b {
		b[j] = hex[(i+j)%16]
	}
	return string(b)
}
