package web

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"aperture/search"
	"aperture/store"
)

type searchInput struct {
	Q     string `query:"q" maxLength:"10240" doc:"What to look for: a name, #tag or words"`
	Type  string `query:"type" enum:"users,tags,posts," doc:"One kind of result; all three when absent"`
	Limit int    `query:"limit" minimum:"1" maximum:"50" default:"10"`
}

type searchOutput struct {
	Body struct {
		Users []AuthorView     `json:"users"`
		Tags  []store.TagCount `json:"tags"`
		Posts []PostView       `json:"posts"`
	}
}

// PlaceView is a place, as its public posts show it.
type PlaceView struct {
	ID    store.ID `json:"id"`
	Name  string   `json:"name"`
	Lat   float64  `json:"lat" doc:"The centroid of its public posts"`
	Lon   float64  `json:"lon"`
	Posts int64    `json:"posts" doc:"Its public posts; on the page of a place without any, the posts there that you may see"`
	// DistanceKm is set when the places were asked for near a point.
	DistanceKm *float64 `json:"distance_km,omitempty" doc:"From the point given as near, when one was"`
}

type nearbyInput struct {
	Lat      float64 `query:"lat" required:"true"`
	Lon      float64 `query:"lon" required:"true"`
	RadiusKm float64 `query:"radius_km" default:"10" doc:"Up to 20,000 km"`
	Limit    int     `query:"limit" minimum:"1" maximum:"100" default:"20"`
}

// NearbyView is a post with its distance from the point asked about.
type NearbyView struct {
	PostView
	DistanceKm float64 `json:"distance_km"`
}

// MarshalJSON writes the post's fields and distance_km in one object (the
// embedded PostView's own MarshalJSON would otherwise drop the distance).
func (n NearbyView) MarshalJSON() ([]byte, error) {
	b, err := n.PostView.MarshalJSON()
	if err != nil || len(b) < 2 {
		return b, err
	}
	out := append(append([]byte{}, b[:len(b)-1]...), `,"distance_km":`...)
	out = strconv.AppendFloat(out, n.DistanceKm, 'f', -1, 64)
	return append(out, '}'), nil
}

type nearbyOutput struct{ Body List[NearbyView] }

type placeSearchInput struct {
	Q     string `query:"q" maxLength:"10240" doc:"The name, or part of it; may be empty when near is given"`
	Near  string `query:"near" maxLength:"64" doc:"A point as lat,lon: places nearest it first, each with distance_km; with q empty, the places within 50 km"`
	Limit int    `query:"limit" minimum:"1" maximum:"50" default:"10"`
}

type placesOutput struct{ Body List[PlaceView] }

type placePostsInput struct {
	ID string `path:"id" maxLength:"20"`
	PageParams
}

type placePostsOutput struct {
	Body struct {
		Place PlaceView  `json:"place"`
		Items []PostView `json:"items"`
		Next  *string    `json:"next"`
	}
}

type mapInput struct {
	BBox  string `query:"bbox" required:"true" doc:"minLon,minLat,maxLon,maxLat; minLon > maxLon crosses the antimeridian"`
	Limit int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

// MapPost is a geotagged post on the map.
type MapPost struct {
	ID    store.ID `json:"id"`
	Lat   float64  `json:"lat"`
	Lon   float64  `json:"lon"`
	Place string   `json:"place"`
	Thumb string   `json:"thumb"`
}

// MapCluster is a cell of the map holding several posts.
type MapCluster struct {
	Lat   float64   `json:"lat"`
	Lon   float64   `json:"lon"`
	Count int       `json:"count"`
	Thumb string    `json:"thumb,omitempty"`
	Post  *store.ID `json:"post,omitempty" doc:"A post in the cell, to open"`
}

type mapOutput struct {
	Body struct {
		Posts    []MapPost    `json:"posts"`
		Clusters []MapCluster `json:"clusters"`
	}
}

func (s *Server) registerSearch(api huma.API) {
	tags := []string{"search"}
	huma.Register(api, s.op(huma.Operation{
		OperationID: "search", Method: http.MethodGet, Path: "/api/v1/search", Tags: tags,
		Summary: "Search people, hashtags and posts (typeahead: \"ali\" finds alice, \"#sun\" finds sunset)", Errors: []int{401, 422},
	}), s.searchQuery)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "places-nearby", Method: http.MethodGet, Path: "/api/v1/places/nearby", Tags: tags,
		Summary: "Posts near a point, nearest first, with distance_km", Errors: []int{401, 422},
	}), func(ctx context.Context, in *nearbyInput) (*nearbyOutput, error) {
		c, _ := viewer(ctx)
		ids, err := s.search.Near(in.Lat, in.Lon, in.RadiusKm, 3*in.Limit)
		if err != nil {
			return nil, err
		}
		page, err := s.st.Posts(c.UserID, ids)
		if err != nil {
			return nil, err
		}
		if len(page.Posts) > in.Limit {
			page.Posts = page.Posts[:in.Limit]
		}
		out := &nearbyOutput{Body: List[NearbyView]{Items: []NearbyView{}}}
		for i, v := range s.renderHydrated(ctx, c.UserID, page.Posts, page.Hydrated) {
			l := page.Posts[i].Location
			d := search.DistanceKm(in.Lat, in.Lon, l.Lat, l.Lon)
			out.Body.Items = append(out.Body.Items, NearbyView{PostView: v, DistanceKm: math.Round(d*100) / 100})
		}
		return out, nil
	})

	huma.Register(api, s.op(huma.Operation{
		OperationID: "places-search", Method: http.MethodGet, Path: "/api/v1/places/search", Tags: tags,
		Summary: "Places with public posts, by name (typeahead)", Errors: []int{401, 422},
	}), s.placeSearch)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "place-posts", Method: http.MethodGet, Path: "/api/v1/places/{id}/posts", Tags: tags,
		Summary:     "A place and its posts, newest first",
		Description: "The place as its public posts show it (name, centroid, count); a place without public posts is shown only to viewers who may see some of its posts, with their count, and is 404 to anyone else.",
		Errors:      []int{401, 404, 422},
	}), s.placePosts)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "map", Method: http.MethodGet, Path: "/api/v1/map", Tags: tags,
		Summary:     "Geotagged public posts in a box, or clusters of them",
		Description: "At most limit posts; when the box holds more, grid clusters {lat,lon,count,thumb,post} by geohash cell (about an eighth of the box wide) instead, so a zoomed-out map stays light. Clusters count and place public posts only (of accounts neither private nor suspended); thumbnails only posts the viewer may see.",
		Errors:      []int{401, 422},
	}), s.mapQuery)
}

func placeView(pl *store.Place) PlaceView {
	return PlaceView{ID: pl.ID, Name: pl.Name, Lat: pl.Lat, Lon: pl.Lon, Posts: pl.Posts}
}

// singleTag reports whether q is one hashtag ("#sunset"), and which.
func singleTag(q string) (string, bool) {
	q = strings.TrimSpace(q)
	if len(q) < 2 || q[0] != '#' || strings.ContainsAny(q[1:], " \t#") {
		return "", false
	}
	return strings.ToLower(q[1:]), true
}

// mapQuery answers GET /api/v1/map and the map page.
func (s *Server) mapQuery(ctx context.Context, in *mapInput) (*mapOutput, error) {
	c, _ := viewer(ctx)
	box, err := search.ParseBox(in.BBox)
	if err != nil {
		return nil, err
	}
	// Clusters come from the store's per-cell counters; only a box
	// with few posts asks the index for them.
	cells, err := s.st.GeoCells(box.Precision(), box.MinLat, box.MinLon, box.MaxLat, box.MaxLon)
	if err != nil {
		return nil, err
	}
	total := 0
	var ids []store.ID
	for _, c := range cells {
		total += c.Count
		ids = append(ids, c.Newest)
	}
	clustered := total > in.Limit
	if !clustered {
		if ids, err = s.search.Map(box, in.Limit); err != nil {
			return nil, err
		}
	}
	page, err := s.st.Posts(c.UserID, ids)
	if err != nil {
		return nil, err
	}
	visible := map[store.ID]*store.Post{}
	for _, p := range page.Posts {
		visible[p.ID] = p
	}
	thumb := func(p *store.Post) string {
		if len(p.MediaIDs) == 0 {
			return ""
		}
		m, ok := page.Media[p.MediaIDs[0]]
		author := page.Authors[p.AuthorID]
		if !ok || author == nil {
			return ""
		}
		return s.urls.url(m.Hash, "thumb", !author.Private, now(ctx))
	}
	out := &mapOutput{}
	out.Body.Posts, out.Body.Clusters = []MapPost{}, []MapCluster{}
	if !clustered {
		for _, id := range ids {
			if p, ok := visible[id]; ok && p.Location != nil {
				out.Body.Posts = append(out.Body.Posts, MapPost{ID: id, Lat: p.Location.Lat, Lon: p.Location.Lon, Place: p.Location.Name, Thumb: thumb(p)})
			}
		}
		return out, nil
	}
	for _, cell := range cells {
		mc := MapCluster{Lat: cell.Lat, Lon: cell.Lon, Count: cell.Count}
		if p, ok := visible[cell.Newest]; ok {
			id := p.ID
			mc.Thumb, mc.Post = thumb(p), &id
		}
		out.Body.Clusters = append(out.Body.Clusters, mc)
	}
	return out, nil
}

// searchQuery answers GET /api/v1/search and the search page.
func (s *Server) searchQuery(ctx context.Context, in *searchInput) (*searchOutput, error) {
	c, _ := viewer(ctx)
	out := &searchOutput{}
	out.Body.Users, out.Body.Tags, out.Body.Posts = []AuthorView{}, []store.TagCount{}, []PostView{}
	limit := max(1, in.Limit)
	if in.Type == "" || in.Type == "users" {
		ids, err := s.search.Users(in.Q, limit)
		if err != nil {
			return nil, err
		}
		users, err := s.st.UsersVisibleTo(c.UserID, ids)
		if err != nil {
			return nil, err
		}
		if out.Body.Users, err = s.renderUsers(users, now(ctx)); err != nil {
			return nil, err
		}
	}
	if in.Type == "" || in.Type == "tags" {
		if _, err := search.CleanQuery(in.Q); err != nil {
			return nil, err
		}
		t, err := s.st.TagsWithPrefix(in.Q, limit)
		if err != nil {
			return nil, err
		}
		out.Body.Tags = append(out.Body.Tags, t...)
	}
	if tag, ok := singleTag(in.Q); ok && (in.Type == "" || in.Type == "posts") {
		// A lone #tag is answered from the store's time-ordered tag
		// index: newest first, and fast however popular the tag.
		page, _, err := s.st.TagPosts(c.UserID, tag, store.Page{Limit: limit})
		if err != nil {
			return nil, err
		}
		out.Body.Posts = s.renderHydrated(ctx, c.UserID, page.Posts, page.Hydrated)
	} else if in.Type == "" || in.Type == "posts" {
		ids, err := s.search.Posts(in.Q, 3*limit)
		if err != nil {
			return nil, err
		}
		page, err := s.st.Posts(c.UserID, ids)
		if err != nil {
			return nil, err
		}
		if len(page.Posts) > limit {
			page.Posts = page.Posts[:limit]
		}
		out.Body.Posts = s.renderHydrated(ctx, c.UserID, page.Posts, page.Hydrated)
	}
	return out, nil
}

// placePosts answers GET /api/v1/places/{id}/posts and the place page.
func (s *Server) placePosts(ctx context.Context, in *placePostsInput) (*placePostsOutput, error) {
	c, _ := viewer(ctx)
	id, err := parseID("place", in.ID)
	if err != nil {
		return nil, err
	}
	pg, err := in.page()
	if err != nil {
		return nil, err
	}
	pl, page, err := s.st.PlacePosts(c.UserID, id, pg)
	if err != nil {
		return nil, err
	}
	out := &placePostsOutput{}
	out.Body.Place = placeView(pl)
	out.Body.Items = s.renderHydrated(ctx, c.UserID, page.Posts, page.Hydrated)
	out.Body.Next = cursor(page.Next)
	return out, nil
}

// placeSearch answers GET /api/v1/places/search and the search page's places.
func (s *Server) placeSearch(ctx context.Context, in *placeSearchInput) (*placesOutput, error) {
	var ids []store.ID
	var err error
	lat, lon, near := 0.0, 0.0, in.Near != ""
	if near {
		if lat, lon, err = parseNear(in.Near); err != nil {
			return nil, err
		}
		ids, err = s.search.PlacesNear(strings.TrimSpace(in.Q), lat, lon, in.Limit)
	} else {
		ids, err = s.search.Places(in.Q, in.Limit)
	}
	if err != nil {
		return nil, err
	}
	out := &placesOutput{Body: List[PlaceView]{Items: []PlaceView{}}}
	for _, id := range ids {
		pl, err := s.st.PublicPlace(id)
		if err != nil {
			continue
		}
		v := placeView(pl)
		if near {
			d := math.Round(search.DistanceKm(lat, lon, pl.Lat, pl.Lon)*100) / 100
			v.DistanceKm = &d
		}
		out.Body.Items = append(out.Body.Items, v)
	}
	return out, nil
}

// parseNear reads a point given as "lat,lon". It returns an ErrInvalid
// error for anything else or a point off the Earth.
func parseNear(s string) (lat, lon float64, err error) {
	a, b, ok := strings.Cut(s, ",")
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, store.Invalid("near", "Give the point as latitude,longitude in degrees, like 38.72,-9.14.")
	}
	return lat, lon, search.CheckPoint(lat, lon)
}
