package basemap

import (
	"math"
	"strings"
	"testing"
)

func TestLandDecodes(t *testing.T) {
	for name, l := range map[string]*Land{"110m": Coarse(), "50m": Fine()} {
		if len(l.Rings) < 100 {
			t.Fatalf("%s: %d rings", name, len(l.Rings))
		}
		// Every outline stays on the globe, but for those that cross the
		// antimeridian: they run on past 180° rather than jump across the
		// map, and no step of any outline is wider than a few degrees
		// (but along a pole, which closes Antarctica).
		for i, r := range l.Rings {
			if mid := (r.MinLon + r.MaxLon) / 2; mid < -180 || mid > 180 || r.MaxLon-r.MinLon > 360.001 || r.MinLat < -90.001 || r.MaxLat > 90.001 {
				t.Fatalf("%s: ring %d out of range: %v…%v", name, i, r.MinLon, r.MaxLon)
			}
			for j := 1; j < len(r.Points); j++ {
				atPole := math.Abs(r.Points[j][1]) > 89.9 && math.Abs(r.Points[j-1][1]) > 89.9
				if d := r.Points[j][0] - r.Points[j-1][0]; (d > 10 || d < -10) && !atPole {
					t.Fatalf("%s: ring %d jumps %.1f° at %v", name, i, d, r.Points[j])
				}
			}
		}
	}
}

// contains reports whether a point is inside any ring (even-odd).
func (l *Land) contains(lon, lat float64) bool {
	in := false
	for _, r := range l.Rings {
		if lon < r.MinLon || lon > r.MaxLon || lat < r.MinLat || lat > r.MaxLat {
			continue
		}
		p := r.Points
		for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
			if (p[i][1] > lat) != (p[j][1] > lat) && lon < (p[j][0]-p[i][0])*(lat-p[i][1])/(p[j][1]-p[i][1])+p[i][0] {
				in = !in
			}
		}
	}
	return in
}

// TestLandIsWhereItShouldBe: cities are on land, mid-ocean points are not.
func TestLandIsWhereItShouldBe(t *testing.T) {
	land := Fine()
	for _, c := range []struct {
		name     string
		lon, lat float64
		want     bool
	}{
		{"Paris", 2.35, 48.86, true}, {"Nairobi", 36.82, -1.29, true}, {"Denver", -104.99, 39.74, true},
		{"Alice Springs", 133.88, -23.7, true}, {"Ulaanbaatar", 106.9, 47.9, true},
		{"mid-Atlantic", -35, 30, false}, {"mid-Pacific", -150, 0, false}, {"Indian Ocean", 80, -30, false},
	} {
		if got := land.contains(c.lon, c.lat); got != c.want {
			t.Errorf("%s: on land = %v", c.name, got)
		}
	}
}

func TestPathClipsAndSimplifies(t *testing.T) {
	ident := func(lon, lat float64) (float64, float64) { return lon, -lat }
	world := Coarse().Path(-180, -90, 180, 90, ident, 0)
	europe := Coarse().Path(-10, 35, 30, 60, ident, 0)
	coarse := Coarse().Path(-180, -90, 180, 90, ident, 5)
	if !strings.HasPrefix(world, "M") || len(europe) >= len(world) || len(coarse) >= len(world) {
		t.Fatalf("world %d, europe %d, simplified %d bytes", len(world), len(europe), len(coarse))
	}
	// A view across the antimeridian draws Fiji's islands, on both sides.
	fiji := Fine().Path(170, -25, 190, -10, ident, 0)
	if fiji == "" || !strings.Contains(fiji, "M18") {
		t.Fatalf("no land east of 180° in %q…", fiji[:min(80, len(fiji))])
	}
}
