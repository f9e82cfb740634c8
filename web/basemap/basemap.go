// Package basemap draws the land of the world as SVG path data, from the
// Natural Earth shapes of the world-atlas package (ISC licence, see
// LICENSE.world-atlas; Natural Earth is in the public domain), so that the
// photo map needs no tile server and works offline.
package basemap

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

//go:embed land-110m.json
var land110m []byte

//go:embed land-50m.json
var land50m []byte

// Ring is one closed outline of land, in degrees.
type Ring struct {
	Points                         [][2]float64 // lon, lat
	MinLon, MinLat, MaxLon, MaxLat float64
}

// Land is a set of outlines at one level of detail.
type Land struct{ Rings []Ring }

// Coarse returns the 1:110m outlines (for whole-world views) and Fine the
// 1:50m ones; each is decoded once.
func Coarse() *Land { return coarse() }

// Fine returns the 1:50m outlines.
func Fine() *Land { return fine() }

var coarse = once(land110m)
var fine = once(land50m)

func once(data []byte) func() *Land {
	var l *Land
	return func() *Land {
		if l == nil {
			var err error
			if l, err = Decode(data); err != nil {
				panic("basemap: embedded shapes: " + err.Error())
			}
		}
		return l
	}
}

type topology struct {
	Transform struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]float64 `json:"arcs"`
	Objects map[string]struct {
		Geometries []struct {
			Type string          `json:"type"`
			Arcs json.RawMessage `json:"arcs"`
		} `json:"geometries"`
	} `json:"objects"`
}

// Decode reads a quantized TopoJSON topology of (multi)polygons. It
// returns an error for malformed JSON or an arc index out of range.
func Decode(data []byte) (*Land, error) {
	var t topology
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, err
	}
	arcs := make([][][2]float64, len(t.Arcs))
	sx, sy := t.Transform.Scale[0], t.Transform.Scale[1]
	tx, ty := t.Transform.Translate[0], t.Transform.Translate[1]
	for i, a := range t.Arcs {
		var x, y float64
		pts := make([][2]float64, len(a))
		for j, d := range a {
			x, y = x+d[0], y+d[1]
			pts[j] = [2]float64{x*sx + tx, y*sy + ty}
		}
		arcs[i] = pts
	}
	land := &Land{}
	addRing := func(idx []int) error {
		var r Ring
		for k, i := range idx {
			rev := i < 0
			if rev {
				i = ^i
			}
			if i >= len(arcs) {
				return fmt.Errorf("arc %d of %d", i, len(arcs))
			}
			a := arcs[i]
			for j := range a {
				p := a[j]
				if rev {
					p = a[len(a)-1-j]
				}
				if k > 0 && j == 0 {
					continue // the previous arc ended here
				}
				r.Points = append(r.Points, p)
			}
		}
		if len(r.Points) < 3 {
			return nil
		}
		unwrap(&r)
		r.MinLon, r.MinLat, r.MaxLon, r.MaxLat = 180, 90, -180, -90
		for _, p := range r.Points {
			r.MinLon, r.MaxLon = math.Min(r.MinLon, p[0]), math.Max(r.MaxLon, p[0])
			r.MinLat, r.MaxLat = math.Min(r.MinLat, p[1]), math.Max(r.MaxLat, p[1])
		}
		land.Rings = append(land.Rings, r)
		return nil
	}
	for _, obj := range t.Objects {
		for _, g := range obj.Geometries {
			var polys [][][]int
			switch g.Type {
			case "Polygon":
				var p [][]int
				if err := json.Unmarshal(g.Arcs, &p); err != nil {
					return nil, err
				}
				polys = [][][]int{p}
			case "MultiPolygon":
				if err := json.Unmarshal(g.Arcs, &polys); err != nil {
					return nil, err
				}
			}
			for _, poly := range polys {
				for _, ring := range poly {
					if err := addRing(ring); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return land, nil
}

// unwrap makes a ring that crosses the antimeridian continuous: Natural
// Earth's outlines jump from 180° to -180° there, and drawn flat such a
// jump is a line across the whole map (Chukotka's at 65-71° N, Fiji's at
// 16° S). Its longitudes continue past 180° instead (Path draws every ring
// at its copies 360° apart too). A ring that goes once round the globe
// (Antarctica) is closed along its pole.
func unwrap(r *Ring) {
	off := 0.0
	prev := r.Points[0][0]
	for i := 1; i < len(r.Points); i++ {
		lon := r.Points[i][0]
		switch d := lon - prev; {
		case d > 180:
			off -= 360
		case d < -180:
			off += 360
		}
		prev = lon
		r.Points[i][0] = lon + off
	}
	if off != 0 {
		pole := -90.0
		if r.Points[0][1] > 0 {
			pole = 90
		}
		first, last := r.Points[0][0], r.Points[len(r.Points)-1][0]
		r.Points = append(r.Points, [2]float64{last, pole}, [2]float64{first, pole})
	}
	// Keep the middle of the ring on the globe's usual side.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range r.Points {
		lo, hi = math.Min(lo, p[0]), math.Max(hi, p[0])
	}
	shift := 0.0
	switch mid := (lo + hi) / 2; {
	case mid < -180:
		shift = 360
	case mid > 180:
		shift = -360
	}
	if shift != 0 {
		for i := range r.Points {
			r.Points[i][0] += shift
		}
	}
}

// Path returns SVG path data of the rings that meet the box (degrees,
// minLon may be below -180 or maxLon above 180 for views across the
// antimeridian), each point passed through project and points closer
// than tol to the last one kept dropped. Holes draw with the even-odd
// rule.
func (l *Land) Path(minLon, minLat, maxLon, maxLat float64, project func(lon, lat float64) (x, y float64), tol float64) string {
	var b []byte
	for _, shift := range []float64{-360, 0, 360} {
		lo, hi := minLon-shift, maxLon-shift
		for _, r := range l.Rings {
			if r.MaxLon < lo || r.MinLon > hi || r.MaxLat < minLat || r.MinLat > maxLat {
				continue
			}
			var lx, ly float64
			n := 0
			for i, p := range r.Points {
				x, y := project(p[0]+shift, p[1])
				if i > 0 && i < len(r.Points)-1 && math.Abs(x-lx) < tol && math.Abs(y-ly) < tol {
					continue
				}
				if n == 0 {
					b = append(b, 'M')
				} else {
					b = append(b, 'L')
				}
				b = strconv.AppendFloat(b, x, 'f', 1, 64)
				b = append(b, ' ')
				b = strconv.AppendFloat(b, y, 'f', 1, 64)
				lx, ly = x, y
				n++
			}
			b = append(b, 'Z')
		}
	}
	return string(b)
}
