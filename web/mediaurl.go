package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"aperture/store"
)

// mediaURLs builds the URLs of photo files. Files of public photos have
// plain, immutable URLs. Files only some viewers may see (a private
// account's photos, an owner's full copy) get short-lived signed URLs:
// ?exp=<unix>&sig=<HMAC-SHA256 of path and exp>, handed only to viewers
// allowed to see them, so that <img> tags work without credentials. The
// expiry is rounded to the hour, so a page's URLs stay cacheable for a
// while.
type mediaURLs struct {
	key []byte
}

const signedFor = time.Hour

func mediaPath(hash, variant string) string {
	return "/media/" + hash[0:2] + "/" + hash[2:4] + "/" + hash + "/" + variant + ".jpg"
}

// url returns the URL of a variant; signed when not public.
func (m *mediaURLs) url(hash, variant string, public bool, now time.Time) string {
	p := mediaPath(hash, variant)
	if public {
		return p
	}
	exp := now.Truncate(signedFor).Add(2 * signedFor).Unix()
	return p + "?exp=" + strconv.FormatInt(exp, 10) + "&sig=" + m.sign(p, exp)
}

func (m *mediaURLs) sign(path string, exp int64) string {
	mac := hmac.New(sha256.New, m.key)
	fmt.Fprintf(mac, "%s\x00%d", path, exp)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}

// valid reports whether exp and sig sign path and have not expired; it
// returns the seconds left.
func (m *mediaURLs) valid(path, exp, sig string, now time.Time) (int64, bool) {
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || sig == "" {
		return 0, false
	}
	left := e - now.Unix()
	if left <= 0 || left > int64(3*signedFor/time.Second) {
		return 0, false
	}
	return left, hmac.Equal([]byte(m.sign(path, e)), []byte(sig))
}

// MediaView is a photo as the API returns it.
type MediaView struct {
	ID                 store.ID               `json:"id"`
	Width              int                    `json:"width"`
	Height             int                    `json:"height"`
	Blurhash           string                 `json:"blurhash" doc:"A 4×3 blurhash of the photo: a blurred preview to show while it loads"`
	Alt                string                 `json:"alt"`
	Filter             string                 `json:"filter"`
	Variants           map[string]VariantView `json:"variants" doc:"thumb (150×150), small (320 wide), medium (640), large (1080); full (long edge ≤ 4096) for the owner only"`
	LocationSuggestion *LatLonView            `json:"location_suggestion,omitempty" doc:"Where the photo was taken, from its EXIF GPS; never stored"`
}

// VariantView is one rendition's URL and size.
type VariantView struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// LatLonView is a point in degrees.
type LatLonView struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// mediaView renders m for a viewer; public says whether its files may be
// fetched by anyone, owner whether the viewer owns it.
func (s *Server) mediaView(m *store.Media, public, owner bool, now time.Time) MediaView {
	v := MediaView{ID: m.ID, Width: m.Width, Height: m.Height, Blurhash: m.Blurhash, Alt: m.Alt, Filter: m.Filter,
		Variants: make(map[string]VariantView, len(m.Variants))}
	for name, mv := range m.Variants {
		if name == "full" && !owner {
			continue
		}
		v.Variants[name] = VariantView{URL: s.urls.url(m.Hash, name, public && name != "full", now), Width: mv.Width, Height: mv.Height}
	}
	return v
}
