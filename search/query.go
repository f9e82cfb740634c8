package search

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"aperture/store"
)

// MaxQuery is the longest query accepted, in bytes.
const MaxQuery = 200

// CleanQuery returns q trimmed, or an ErrInvalid error for an empty or
// over-long query. Queries are never parsed as bleve query syntax: they
// become match and prefix queries, so "+", ":", "*" and the like are just
// characters.
func CleanQuery(q string) (string, error) {
	q = strings.TrimSpace(q)
	switch {
	case q == "":
		return "", store.Invalid("q", "Type something to search for.")
	case len(q) > MaxQuery || !utf8.ValidString(q):
		return "", store.Invalid("q", "Search for at most %d characters.", MaxQuery)
	}
	return q, nil
}

func typed(t string, q query.Query) query.Query {
	tq := bleve.NewTermQuery(t)
	tq.SetField("type")
	return bleve.NewConjunctionQuery(tq, q)
}

func (x *Index) ids(req *bleve.SearchRequest, prefix string) ([]store.ID, error) {
	res, err := x.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	var out []store.ID
	for _, h := range res.Hits {
		if id, err := store.ParseID(strings.TrimPrefix(h.ID, prefix)); err == nil {
			out = append(out, id)
		}
	}
	return out, nil
}

// Users returns up to limit user IDs matching q: usernames starting with
// it (typeahead: "ali" finds alice) first, then names and bios.
func (x *Index) Users(q string, limit int) ([]store.ID, error) {
	q, err := CleanQuery(strings.TrimPrefix(strings.TrimSpace(q), "@"))
	if err != nil {
		return nil, err
	}
	pre := bleve.NewPrefixQuery(lower(q))
	pre.SetField("username")
	pre.SetBoost(3)
	name := bleve.NewMatchQuery(q)
	name.SetField("name")
	name.SetBoost(2)
	namePre := bleve.NewPrefixQuery(lower(q))
	namePre.SetField("name")
	bio := bleve.NewMatchQuery(q)
	bio.SetField("bio")
	req := bleve.NewSearchRequestOptions(typed("user", bleve.NewDisjunctionQuery(pre, name, namePre, bio)), limit, 0, false)
	return x.ids(req, "u:")
}

// Posts returns up to limit post IDs matching q in caption, hashtags or
// place, most relevant first.
func (x *Index) Posts(q string, limit int) ([]store.ID, error) {
	q, err := CleanQuery(q)
	if err != nil {
		return nil, err
	}
	caption := bleve.NewMatchQuery(q)
	caption.SetField("caption")
	tag := bleve.NewTermQuery(lower(strings.TrimPrefix(q, "#")))
	tag.SetField("tags")
	tag.SetBoost(2)
	place := bleve.NewMatchQuery(q)
	place.SetField("place")
	req := bleve.NewSearchRequestOptions(typed("post", bleve.NewDisjunctionQuery(caption, tag, place)), limit, 0, false)
	return x.ids(req, "p:")
}

// CheckPoint returns an ErrInvalid error unless lat and lon are degrees on
// Earth.
func CheckPoint(lat, lon float64) error {
	if math.IsNaN(lat) || lat < -90 || lat > 90 {
		return store.Invalid("lat", "Latitude must be between -90 and 90.")
	}
	if math.IsNaN(lon) || lon < -180 || lon > 180 {
		return store.Invalid("lon", "Longitude must be between -180 and 180.")
	}
	return nil
}

// Near returns up to limit post IDs within radiusKm of a point, nearest
// first. It searches growing rings — first one sized from the store's
// density counters to hold about twice the page, then 1%, 3%, 10%, 30% of
// the radius, then all of it — and stops at the first that holds limit
// posts: those are the nearest, and sorting a small ring is far cheaper
// than a crowded city.
func (x *Index) Near(lat, lon, radiusKm float64, limit int) ([]store.ID, error) {
	if err := CheckPoint(lat, lon); err != nil {
		return nil, err
	}
	if math.IsNaN(radiusKm) || radiusKm <= 0 || radiusKm > 20000 {
		return nil, store.Invalid("radius_km", "The radius must be more than 0 and at most 20,000 km.")
	}
	tried := 0.0
	for _, r := range append(x.guessRadius(lat, lon, radiusKm, limit), radiusKm/100, radiusKm/30, radiusKm/10, radiusKm/3) {
		if r < 0.05 || r >= radiusKm || r <= tried {
			continue
		}
		tried = r
		ids, total, err := x.near(lat, lon, r, limit)
		if err != nil || total >= limit {
			return ids, err
		}
	}
	ids, _, err := x.near(lat, lon, radiusKm, limit)
	return ids, err
}

// guessRadius estimates, from the store's map-cell counters around the
// point, the radius that holds about twice limit posts, so that a crowded
// city usually needs one small ring. It returns nothing when the
// neighbourhood is sparse.
func (x *Index) guessRadius(lat, lon, radiusKm float64, limit int) []float64 {
	const p = 5 // cells of about 4.9 × 4.9 km
	w, h := store.CellSize(p)
	cells, err := x.st.GeoCells(p, lat-h/2, lon-w/2, lat+h/2, lon+w/2)
	if err != nil || len(cells) == 0 {
		return nil
	}
	n := 0
	for _, c := range cells {
		n += c.Count
	}
	kmLat := h * 111.2
	kmLon := w * 111.2 * math.Max(0.01, math.Cos(lat*math.Pi/180))
	density := float64(n) / (float64(len(cells)) * kmLat * kmLon) // posts per km²
	if density <= 0 {
		return nil
	}
	return []float64{math.Sqrt(2 * float64(limit) / (math.Pi * density))}
}

// near is one ring of Near; it also returns how many posts the ring holds.
func (x *Index) near(lat, lon, radiusKm float64, limit int) ([]store.ID, int, error) {
	gq := bleve.NewGeoDistanceQuery(lon, lat, strconv.FormatFloat(radiusKm, 'f', 3, 64)+"km")
	gq.SetField("geo")
	req := bleve.NewSearchRequestOptions(typed("post", gq), limit, 0, false)
	req.Score = bleve.ScoreNone // ordered by distance: relevance would be wasted work
	sortGeo, err := search.NewSortGeoDistance("geo", "km", lon, lat, false)
	if err != nil {
		return nil, 0, err
	}
	req.SortByCustom(search.SortOrder{sortGeo})
	res, err := x.idx.Search(req)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	var out []store.ID
	for _, h := range res.Hits {
		if id, err := store.ParseID(strings.TrimPrefix(h.ID, "p:")); err == nil {
			out = append(out, id)
		}
	}
	return out, int(res.Total), nil
}

// Box is a map viewport in degrees. MinLon > MaxLon means the box crosses
// the antimeridian.
type Box struct {
	MinLon, MinLat, MaxLon, MaxLat float64
}

// ParseBox parses "minLon,minLat,maxLon,maxLat". It returns an ErrInvalid
// error for anything else, for values off the Earth, or for minLat >
// maxLat.
func ParseBox(s string) (Box, error) {
	bad := store.Invalid("bbox", "Give the box as minLon,minLat,maxLon,maxLat in degrees, like -10,35,30,60.")
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return Box{}, bad
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Box{}, bad
		}
		v[i] = f
	}
	b := Box{v[0], v[1], v[2], v[3]}
	if CheckPoint(b.MinLat, b.MinLon) != nil || CheckPoint(b.MaxLat, b.MaxLon) != nil {
		return Box{}, store.Invalid("bbox", "Longitudes must be within -180..180 and latitudes within -90..90.")
	}
	if b.MinLat > b.MaxLat {
		return Box{}, store.Invalid("bbox", "minLat must not be above maxLat.")
	}
	return b, nil
}

// width returns the box's width in degrees of longitude.
func (b Box) width() float64 {
	if b.MinLon <= b.MaxLon {
		return b.MaxLon - b.MinLon
	}
	return 360 - b.MinLon + b.MaxLon
}

func (b Box) query() query.Query {
	box := func(minLon, maxLon float64) query.Query {
		q := bleve.NewGeoBoundingBoxQuery(minLon, b.MaxLat, maxLon, b.MinLat)
		q.SetField("geo")
		return q
	}
	if b.MinLon <= b.MaxLon {
		return box(b.MinLon, b.MaxLon)
	}
	return bleve.NewDisjunctionQuery(box(b.MinLon, 180), box(-180, b.MaxLon))
}

// Map returns up to limit public geotagged posts in the box, newest
// first. (When a box holds more, the web layer draws clusters from the
// store's per-cell counters instead.)
func (x *Index) Map(b Box, limit int) ([]store.ID, error) {
	pub := bleve.NewBoolFieldQuery(true)
	pub.SetField("public")
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(typed("post", b.query()), pub), limit, 0, false)
	req.SortBy([]string{"-created"})
	req.Score = bleve.ScoreNone // ordered by time
	return x.ids(req, "p:")
}

// Precision returns the geohash precision whose cells are about an eighth
// of the box wide, for clusters.
func (b Box) Precision() int {
	p := 1
	for p < 7 {
		if w, _ := store.CellSize(p + 1); w < b.width()/8 {
			break
		}
		p++
	}
	return p
}

// DistanceKm is the great-circle distance between two points in degrees
// (store.DistanceKm: haversine, mean Earth radius).
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	return store.DistanceKm(lat1, lon1, lat2, lon2)
}
