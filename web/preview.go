package web

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"aperture/media"
)

type previewForm struct {
	File huma.FormFile `form:"file" required:"true" doc:"The photo, as for POST /api/v1/media"`
	Crop string        `form:"crop" required:"false" doc:"x,y,w,h as fractions 0..1 of the upright photo, applied to the filter samples"`
}

type previewInput struct {
	RawBody huma.MultipartFormFiles[previewForm]
}

// PreviewView is a photo prepared for the new-post screens: the upright
// photo and each filter on a square of the cropped photo, as data URLs.
type PreviewView struct {
	Width              int             `json:"width" doc:"Upright width of the photo as uploaded"`
	Height             int             `json:"height" doc:"Upright height"`
	Base               string          `json:"base" doc:"The upright, uncropped photo, long edge 640 px, as a data: URL"`
	LocationSuggestion *LatLonView     `json:"location_suggestion,omitempty" doc:"Where the photo was taken, from its EXIF GPS"`
	Filters            []FilterPreview `json:"filters" doc:"Every filter, Normal first"`
}

// FilterPreview is one filter applied to the preview square.
type FilterPreview struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Image string `json:"image" doc:"A 120×120 JPEG as a data: URL"`
}

type previewOutput struct {
	Body PreviewView
}

func dataURL(jpeg []byte) string {
	return dataURLOf("image/jpeg", jpeg)
}

func (s *Server) registerPreview(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "preview-media", Method: http.MethodPost, Path: "/api/v1/media/preview", Tags: []string{"media"},
		Summary:      "Preview a photo with every filter, storing nothing",
		Description:  "The new-post screens show the crop step on `base` and the filter strip from `filters`. Samples are rendered by the same pipeline as the stored photo, so what you pick is what you get.",
		Security:     bearer,
		MaxBodyBytes: s.media.Config().MaxBytes + 1<<20, BodyReadTimeout: 2 * time.Minute,
		Errors: []int{400, 401, 413, 415, 422, 503},
	}, func(ctx context.Context, in *previewInput) (*previewOutput, error) {
		form := in.RawBody.Data()
		data, err := readUpload(form.File, s.uploadLimit())
		if err != nil {
			return nil, err
		}
		crop, err := media.ParseCrop(form.Crop)
		if err != nil {
			return nil, err
		}
		pv, err := s.media.Preview(ctx, data, crop)
		if err != nil {
			return nil, err
		}
		out := &previewOutput{Body: PreviewView{Width: pv.Width, Height: pv.Height, Base: dataURL(pv.Base)}}
		if pv.Location != nil {
			out.Body.LocationSuggestion = &LatLonView{Lat: pv.Location.Lat, Lon: pv.Location.Lon}
		}
		for _, f := range pv.Filters {
			out.Body.Filters = append(out.Body.Filters, FilterPreview{Name: f.Filter.Name, Title: f.Filter.Title, Image: dataURL(f.JPEG)})
		}
		return out, nil
	})
}

func dataURLOf(ctype string, b []byte) string {
	return "data:" + ctype + ";base64," + base64.StdEncoding.EncodeToString(b)
}
