package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"aperture/web/basemap"
)

// The photo map is drawn on the server as SVG in Web Mercator: land from
// the embedded Natural Earth shapes (or tiles from a configured server),
// and the posts or clusters of GET /api/v1/map as links. It works without
// JavaScript; map.js adds dragging and wheel zoom.

const (
	mapW, mapH       = 1024, 640
	minZoom, maxZoom = 2, 17
	tileSize         = 256
)

// mapView is one drawn map.
type mapView struct {
	Lat, Lon  float64
	Zoom      int
	W, H      int
	Land      string
	Tiles     []mapTile
	Markers   []mapMarker
	ZoomIn    string
	ZoomOut   string
	Pan       map[string]string
	BBox      string
	Attribute string
}

type mapTile struct {
	URL  string
	X, Y float64
}

type mapMarker struct {
	X, Y  float64
	R     float64
	Count int
	Href  string
	Thumb string
	Label string
}

// projector maps degrees to pixels of the view centred on lat, lon at zoom.
type projector struct {
	world, cx, cy float64
}

func newProjector(lat, lon float64, zoom int) projector {
	p := projector{world: tileSize * math.Exp2(float64(zoom))}
	p.cx, p.cy = p.worldXY(lon, lat)
	return p
}

func (p projector) worldXY(lon, lat float64) (float64, float64) {
	lat = math.Max(-85.0511, math.Min(85.0511, lat))
	s := math.Sin(lat * math.Pi / 180)
	return (lon + 180) / 360 * p.world, (0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)) * p.world
}

// xy returns view pixels (origin top-left).
func (p projector) xy(lon, lat float64) (float64, float64) {
	x, y := p.worldXY(lon, lat)
	return x - p.cx + mapW/2, y - p.cy + mapH/2
}

// lonLat inverts xy.
func (p projector) lonLat(x, y float64) (float64, float64) {
	wx, wy := x+p.cx-mapW/2, y+p.cy-mapH/2
	lon := wx/p.world*360 - 180
	n := math.Pi - 2*math.Pi*wy/p.world
	return lon, 180 / math.Pi * math.Atan(math.Sinh(n))
}

func mapLink(lat, lon float64, z int) string {
	return fmt.Sprintf("/map?lat=%.5f&lon=%.5f&z=%d", lat, lon, z)
}

func wrapLon(lon float64) float64 {
	return math.Mod(math.Mod(lon+180, 360)+360, 360) - 180
}

// mapParams reads ?lat=&lon=&z=, defaulting to the whole world.
func mapParams(c *fiber.Ctx) (lat, lon float64, z int) {
	lat, lon, z = 20, 0, minZoom
	if v, err := strconv.ParseFloat(c.Query("lat"), 64); err == nil && !math.IsNaN(v) {
		lat = math.Max(-80, math.Min(80, v))
	}
	if v, err := strconv.ParseFloat(c.Query("lon"), 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		lon = wrapLon(v)
	}
	if v, err := strconv.Atoi(c.Query("z")); err == nil {
		z = max(minZoom, min(maxZoom, v))
	}
	return lat, lon, z
}

func (s *Server) mapPage(c *fiber.Ctx, ctx context.Context) error {
	lat, lon, z := mapParams(c)
	v, err := s.drawMap(ctx, lat, lon, z)
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "map", &view{Title: "Photo map", Nav: "map", Data: v})
}

func (s *Server) drawMap(ctx context.Context, lat, lon float64, z int) (*mapView, error) {
	p := newProjector(lat, lon, z)
	west, north := p.lonLat(0, 0)
	east, south := p.lonLat(mapW, mapH)
	v := &mapView{Lat: lat, Lon: lon, Zoom: z, W: mapW, H: mapH, Pan: map[string]string{}}
	if s.cfg.MapTiles != "" {
		v.Tiles, v.Attribute = s.tiles(p, z), s.cfg.MapAttribution
	} else {
		land := basemap.Coarse()
		if z >= 4 {
			land = basemap.Fine()
		}
		v.Land = land.Path(west, south, east, north, p.xy, 0.8)
		v.Attribute = "Land: Natural Earth"
	}
	// The box asked of the map query, across the antimeridian if need be.
	bw, be := wrapLon(west), wrapLon(east)
	if east-west >= 360 {
		bw, be = -180, 180
	}
	v.BBox = fmt.Sprintf("%.5f,%.5f,%.5f,%.5f", bw, south, be, north)
	out, err := s.mapQuery(ctx, &mapInput{BBox: v.BBox, Limit: 60})
	if err != nil {
		return nil, err
	}
	// Draw a point at whichever copy of its longitude is in view.
	place := func(plon, plat float64) (float64, float64) {
		x, y := p.xy(plon, plat)
		for x < -20 {
			x += p.world
		}
		for x > mapW+20 {
			x -= p.world
		}
		return x, y
	}
	for _, m := range out.Body.Posts {
		x, y := place(m.Lon, m.Lat)
		v.Markers = append(v.Markers, mapMarker{X: x, Y: y, R: 22, Count: 1, Href: "/p/" + m.ID.String(), Thumb: m.Thumb, Label: "A photo at " + m.Place})
	}
	for _, cl := range out.Body.Clusters {
		x, y := place(cl.Lon, cl.Lat)
		mk := mapMarker{X: x, Y: y, R: 12 + 3*math.Log2(float64(cl.Count)), Count: cl.Count,
			Href: mapLink(cl.Lat, cl.Lon, min(maxZoom, z+2)), Label: fmt.Sprintf("%d photos here; zoom in", cl.Count)}
		if cl.Count == 1 && cl.Post != nil {
			mk.Href, mk.Thumb, mk.R, mk.Label = "/p/"+cl.Post.String(), cl.Thumb, 22, "A photo here"
		}
		v.Markers = append(v.Markers, mk)
	}
	v.ZoomIn, v.ZoomOut = mapLink(lat, lon, min(maxZoom, z+1)), mapLink(lat, lon, max(minZoom, z-1))
	for dir, d := range map[string][2]float64{"north": {0, -mapH / 2}, "south": {0, mapH / 2}, "west": {-mapW / 2, 0}, "east": {mapW / 2, 0}} {
		plon, plat := p.lonLat(mapW/2+d[0], mapH/2+d[1])
		v.Pan[dir] = mapLink(math.Max(-80, math.Min(80, plat)), wrapLon(plon), z)
	}
	return v, nil
}

// tiles lists the raster tiles covering the view from the configured
// {z}/{x}/{y} URL template.
func (s *Server) tiles(p projector, z int) []mapTile {
	n := int(math.Exp2(float64(z)))
	ox, oy := p.cx-mapW/2, p.cy-mapH/2
	var out []mapTile
	for ty := int(math.Floor(oy / tileSize)); float64(ty*tileSize) < oy+mapH; ty++ {
		if ty < 0 || ty >= n {
			continue
		}
		for tx := int(math.Floor(ox / tileSize)); float64(tx*tileSize) < ox+mapW; tx++ {
			wx := ((tx % n) + n) % n
			url := strings.NewReplacer("{z}", strconv.Itoa(z), "{x}", strconv.Itoa(wx), "{y}", strconv.Itoa(ty)).Replace(s.cfg.MapTiles)
			out = append(out, mapTile{URL: url, X: float64(tx*tileSize) - ox, Y: float64(ty*tileSize) - oy})
		}
	}
	return out
}

// svgPath marks path data as safe for the d attribute: it is made of
// numbers and M/L/Z only.
func svgPath(d string) template.HTMLAttr {
	return template.HTMLAttr(`d="` + d + `"`)
}
