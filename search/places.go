package search

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"aperture/store"
)

// NearbyPlacesKm is how far PlacesNear looks when it is given no name:
// the places a photo's own location suggests.
const NearbyPlacesKm = 50

// Places returns up to limit place IDs whose name matches q (typeahead).
func (x *Index) Places(q string, limit int) ([]store.ID, error) {
	q, err := CleanQuery(q)
	if err != nil {
		return nil, err
	}
	return x.ids(bleve.NewSearchRequestOptions(typed("place", placeName(q)), limit, 0, false), "l:")
}

// PlacesNear returns up to limit place IDs nearest a point first: those
// whose name matches q wherever they are, or with q empty every place
// within NearbyPlacesKm. It returns an ErrInvalid error for a point off
// the Earth or an over-long query.
func (x *Index) PlacesNear(q string, lat, lon float64, limit int) ([]store.ID, error) {
	if err := CheckPoint(lat, lon); err != nil {
		return nil, err
	}
	var match query.Query
	if q != "" {
		var err error
		if q, err = CleanQuery(q); err != nil {
			return nil, err
		}
		match = placeName(q)
	} else {
		gq := bleve.NewGeoDistanceQuery(lon, lat, strconv.Itoa(NearbyPlacesKm)+"km")
		gq.SetField("geo")
		match = gq
	}
	req := bleve.NewSearchRequestOptions(typed("place", match), limit, 0, false)
	req.Score = bleve.ScoreNone
	byDistance, err := search.NewSortGeoDistance("geo", "km", lon, lat, false)
	if err != nil {
		return nil, err
	}
	req.SortByCustom(search.SortOrder{byDistance})
	return x.ids(req, "l:")
}

// PlaceNamed returns the public place called name (case aside): of
// several, the one nearest lat, lon when near is set, else the most
// relevant. It returns an ErrNotFound error when there is none, and an
// ErrInvalid one for an empty or over-long name.
func (x *Index) PlaceNamed(name string, lat, lon float64, near bool) (*store.Place, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, store.Invalid("place", "Name the place.")
	}
	var ids []store.ID
	var err error
	if near {
		ids, err = x.PlacesNear(name, lat, lon, 20)
	} else {
		ids, err = x.Places(name, 20)
	}
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if pl, err := x.st.PublicPlace(id); err == nil && strings.EqualFold(pl.Name, name) {
			return pl, nil
		}
	}
	return nil, fmt.Errorf("no place is called %q: %w", name, store.ErrNotFound)
}

// placeName matches place names that start with q or contain its words.
func placeName(q string) query.Query {
	pre := bleve.NewPrefixQuery(lower(q))
	pre.SetField("name_kw")
	pre.SetBoost(2)
	name := bleve.NewMatchQuery(q)
	name.SetField("name")
	return bleve.NewDisjunctionQuery(pre, name)
}

// PlaceNear returns the name of the public place nearest a point, if one
// is within withinKm, or "" (an importer names a bare point with it).
func (x *Index) PlaceNear(lat, lon, withinKm float64) string {
	ids, err := x.PlacesNear("", lat, lon, 1)
	if err != nil || len(ids) == 0 {
		return ""
	}
	pl, err := x.st.PublicPlace(ids[0])
	if err != nil || DistanceKm(lat, lon, pl.Lat, pl.Lon) > withinKm {
		return ""
	}
	return pl.Name
}
