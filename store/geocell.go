package store

import (
	"encoding/binary"
	"math"
	"sort"
)

// Map cells: for every geotagged public post, a counter per geohash cell at
// precisions 1–7 (about 5,000 km down to 150 m), kept in the same
// transaction as the post, so that a zoomed-out map is a few dozen key
// reads instead of a scan of every post in view.

const geoPrecisions = 7

const geohashAlphabet = "0123456789bcdefghjkmnpqrstuvwxyz"

// Geohash returns the geohash of a point at precision p (1–12).
func Geohash(lat, lon float64, p int) string {
	latLo, latHi, lonLo, lonHi := -90.0, 90.0, -180.0, 180.0
	out := make([]byte, 0, p)
	bit, ch, even := 0, 0, true
	for len(out) < p {
		if even {
			mid := (lonLo + lonHi) / 2
			if lon >= mid {
				ch |= 1 << (4 - bit)
				lonLo = mid
			} else {
				lonHi = mid
			}
		} else {
			mid := (latLo + latHi) / 2
			if lat >= mid {
				ch |= 1 << (4 - bit)
				latLo = mid
			} else {
				latHi = mid
			}
		}
		even = !even
		if bit < 4 {
			bit++
		} else {
			out = append(out, geohashAlphabet[ch])
			bit, ch = 0, 0
		}
	}
	return string(out)
}

// CellSize returns the width and height in degrees of a geohash cell of
// precision p.
func CellSize(p int) (w, h float64) {
	lonBits, latBits := (5*p+1)/2, 5*p/2
	return 360 / math.Pow(2, float64(lonBits)), 180 / math.Pow(2, float64(latBits))
}

func cellKey(hash string) []byte { return append([]byte{byte(len(hash))}, hash...) }

// geoCount adds d to the cells of a post's point and remembers the post as
// the cells' newest. Only public posts are counted (see publicCount).
func (t *Tx) geoCount(p *Post, d int) error {
	if p.Location == nil {
		return nil
	}
	full := Geohash(p.Location.Lat, p.Location.Lon, geoPrecisions)
	b := t.bucket(bGeoCells)
	for i := 1; i <= geoPrecisions; i++ {
		k := cellKey(full[:i])
		c := decodeCell(b.Get(k))
		c.Count += d
		if c.Count <= 0 {
			if err := t.del(bGeoCells, k); err != nil {
				return err
			}
			continue
		}
		if d > 0 && p.ID > c.Newest {
			c.Newest = p.ID
		}
		// The explicit conversions round each product before the sum, so no
		// CPU fuses them into one multiply-add with another result: apply
		// must write the same bytes on every machine.
		c.sumLat += float64(float64(d) * p.Location.Lat)
		c.sumLon += float64(float64(d) * p.Location.Lon)
		if err := t.set(bGeoCells, k, c.encode()); err != nil {
			return err
		}
	}
	return nil
}

// A cell's value: posts (4) | newest post (8) | sum of latitudes (8) |
// sum of longitudes (8), so clusters sit at their posts' centroid.
func decodeCell(v []byte) GeoCell {
	var c GeoCell
	if len(v) >= 12 {
		c.Count, c.Newest = int(binary.BigEndian.Uint32(v)), idFromKey(v[4:12])
	}
	if len(v) == 28 {
		c.sumLat = math.Float64frombits(binary.BigEndian.Uint64(v[12:]))
		c.sumLon = math.Float64frombits(binary.BigEndian.Uint64(v[20:]))
	}
	return c
}

func (c GeoCell) encode() []byte {
	v := binary.BigEndian.AppendUint32(make([]byte, 0, 28), uint32(c.Count))
	v = append(v, c.Newest.key()...)
	v = binary.BigEndian.AppendUint64(v, math.Float64bits(c.sumLat))
	return binary.BigEndian.AppendUint64(v, math.Float64bits(c.sumLon))
}

// GeoCell is a map cell with posts in it.
type GeoCell struct {
	Hash     string
	Lat, Lon float64 // the centroid of its posts
	Count    int
	Newest   ID // the newest post placed in it

	sumLat, sumLon float64
	sums           bool // every partition's part carried its sums
}

// cell returns a cell merged from every partition's part of it.
func (t *Tx) cell(hash string) (GeoCell, bool) {
	var c GeoCell
	found := false
	c.sums = true
	t.eachPart(func(pt *Tx) error {
		v := pt.bucket(bGeoCells).Get(cellKey(hash))
		if len(v) < 12 {
			return nil
		}
		part := decodeCell(v)
		found = true
		c.Count += part.Count
		c.Newest = max(c.Newest, part.Newest)
		c.sumLat += part.sumLat
		c.sumLon += part.sumLon
		c.sums = c.sums && len(v) == 28
		return nil
	})
	return c, found
}

// GeoCells returns the non-empty cells of precision p (1–7) that cover the
// box, most posts first. minLon > maxLon crosses the antimeridian.
func (s *Store) GeoCells(p int, minLat, minLon, maxLat, maxLon float64) ([]GeoCell, error) {
	p = max(1, min(geoPrecisions, p))
	w, h := CellSize(p)
	spans := [][2]float64{{minLon, maxLon}}
	if minLon > maxLon {
		spans = [][2]float64{{minLon, 180}, {-180, maxLon}}
	}
	var out []GeoCell
	err := s.view(func(tx *Tx) error {
		seen := map[string]bool{}
		for y := math.Floor((minLat + 90) / h); y*h-90 <= maxLat && y*h-90 < 90; y++ {
			lat := y*h - 90 + h/2
			for _, sp := range spans {
				for x := math.Floor((sp[0] + 180) / w); x*w-180 <= sp[1] && x*w-180 < 180; x++ {
					lon := x*w - 180 + w/2
					hash := Geohash(lat, lon, p)
					if seen[hash] {
						continue
					}
					seen[hash] = true
					if c, ok := tx.cell(hash); ok {
						c.Hash, c.Lat, c.Lon = hash, lat, lon
						if c.sums && c.Count > 0 {
							c.Lat, c.Lon = c.sumLat/float64(c.Count), c.sumLon/float64(c.Count)
						}
						out = append(out, c)
					}
				}
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out, err
}

// DistanceKm is the great-circle distance between two points in degrees
// (haversine, mean Earth radius).
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}
