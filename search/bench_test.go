package search_test

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"aperture/search"
	"aperture/store"
	"aperture/store/storetest"
)

// BenchmarkQueries measures query latency on a seeded data directory
// (APERTURE_BENCH_DATA, e.g. the 1,000,000-post dataset of make
// bench-flows, reindexed): hashtag term (bleve, and the store's tag index
// that the API uses for a lone #tag), two-word match, nearby 10 km sorted
// by distance, and map clusters from the store's cell counters. It reports
// p50 and p99 per kind.
func BenchmarkQueries(b *testing.B) {
	dir := os.Getenv("APERTURE_BENCH_DATA")
	if dir == "" {
		b.Skip("set APERTURE_BENCH_DATA to a seeded and reindexed data directory (make bench-search does)")
	}
	st, err := storetest.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	idx, err := search.Open(filepath.Join(dir, "search"), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	if !idx.Ready() {
		b.Fatal("the index is being rebuilt; run aperture reindex first")
	}
	rng := rand.New(rand.NewSource(1))
	tags := []string{"sunset", "travel", "nature", "cityscape", "goldenhour", "coffee"}
	words := []string{"golden light", "quiet morning", "colours work", "corner accident", "view though"}
	cities := [][2]float64{{38.72, -9.14}, {35.68, 139.65}, {40.71, -74.01}, {52.52, 13.40}, {-33.87, 151.21}}
	boxes := []string{"-10,35,30,60", "-180,-90,180,90", "100,-50,180,0", "-130,20,-60,55"}
	kinds := []struct {
		name string
		run  func() error
	}{
		{"hashtag-term", func() error { _, err := idx.Posts("#"+tags[rng.Intn(len(tags))], 20); return err }},
		{"hashtag-page-bbolt", func() error {
			_, _, err := st.TagPosts(0, tags[rng.Intn(len(tags))], store.Page{Limit: 20})
			return err
		}},
		{"two-word-match", func() error { _, err := idx.Posts(words[rng.Intn(len(words))], 20); return err }},
		{"nearby-10km", func() error {
			c := cities[rng.Intn(len(cities))]
			ids, err := idx.Near(c[0], c[1], 10, 20)
			if err != nil {
				return err
			}
			// The answer is real: 20 posts, nearest first.
			if len(ids) != 20 {
				return fmt.Errorf("nearby %v: %d posts", c, len(ids))
			}
			last := 0.0
			for _, id := range ids {
				p, _, err := st.PostForIndex(id)
				if err != nil || p.Location == nil {
					return fmt.Errorf("post %s: %v", id, err)
				}
				d := store.DistanceKm(c[0], c[1], p.Location.Lat, p.Location.Lon)
				if d < last-1e-6 || d > 10 {
					return fmt.Errorf("nearby %v: %.3f km after %.3f km", c, d, last)
				}
				last = d
			}
			return nil
		}},
		{"map-clusters", func() error {
			box, _ := search.ParseBox(boxes[rng.Intn(len(boxes))])
			_, err := st.GeoCells(box.Precision(), box.MinLat, box.MinLon, box.MaxLat, box.MaxLon)
			return err
		}},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := k.run(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
