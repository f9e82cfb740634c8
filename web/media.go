package web

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"

	"aperture/media"
	"aperture/store"
)

type uploadForm struct {
	File   huma.FormFile `form:"file" required:"true" doc:"The photo: JPEG, PNG, GIF, WebP, HEIC or AVIF, recognised from its bytes"`
	Filter string        `form:"filter" required:"false" doc:"A filter name from GET /api/v1/filters; normal if absent"`
	Crop   string        `form:"crop" required:"false" doc:"x,y,w,h as fractions 0..1 of the upright photo; otherwise centre-cropped into 4:5…1.91:1"`
	Alt    string        `form:"alt" required:"false" maxLength:"6000" doc:"Alt text, up to 1,500 characters"`
}

type uploadInput struct {
	RawBody huma.MultipartFormFiles[uploadForm]
}

type mediaOutput struct {
	Body MediaView
}

type filtersOutput struct {
	Body []FilterView
}

// FilterView names a filter and says what it does.
type FilterView struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Look  string `json:"look"`
}

func (s *Server) registerMedia(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "upload-media", Method: http.MethodPost, Path: "/api/v1/media", Tags: []string{"media"},
		Summary:     "Upload a photo",
		Description: "The photo is turned upright, cropped, filtered and stored as variants without any metadata. It must be attached to a post within 24 hours or it is removed.",
		Security:    bearer, DefaultStatus: http.StatusCreated,
		MaxBodyBytes: s.media.Config().MaxBytes + 1<<20, BodyReadTimeout: 2 * time.Minute,
		Errors: []int{400, 401, 413, 415, 422, 503},
	}, func(ctx context.Context, in *uploadInput) (*mediaOutput, error) {
		c, _ := viewer(ctx)
		form := in.RawBody.Data()
		data, err := readUpload(form.File, s.uploadLimit())
		if err != nil {
			return nil, err
		}
		crop, err := media.ParseCrop(form.Crop)
		if err != nil {
			return nil, err
		}
		v, err := s.upload(ctx, c.UserID, data, media.Edit{Filter: form.Filter, Crop: crop}, form.Alt)
		if err != nil {
			return nil, err
		}
		return &mediaOutput{Body: *v}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-filters", Method: http.MethodGet, Path: "/api/v1/filters", Tags: []string{"media"},
		Summary: "The photo filters",
	}, func(ctx context.Context, _ *struct{}) (*filtersOutput, error) {
		out := &filtersOutput{}
		for _, f := range media.Filters() {
			out.Body = append(out.Body, FilterView{Name: f.Name, Title: f.Title, Look: f.Look})
		}
		return out, nil
	})
}

func readUpload(f huma.FormFile, max int64) ([]byte, error) {
	if !f.IsSet || f.File == nil {
		return nil, store.Invalid("file", "Choose a photo to upload.")
	}
	return readPhoto(f.File, f.Size, max)
}

// readFormFile reads a photo of an HTML form.
func readFormFile(fh *multipart.FileHeader, max int64) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, store.Invalid("file", "The photo could not be read; choose it again.")
	}
	return readPhoto(f, fh.Size, max)
}

// readPhoto reads and closes an uploaded file of the given size, refusing
// one over max bytes.
func readPhoto(f io.ReadCloser, size, max int64) ([]byte, error) {
	defer f.Close()
	if size > max {
		return nil, &media.Error{Kind: media.ErrTooLarge, Field: "file",
			Msg: fmt.Sprintf("The photo is %.1f MiB; aperture accepts photos up to %.0f MiB.", float64(size)/(1<<20), float64(max)/(1<<20))}
	}
	return io.ReadAll(io.LimitReader(f, max+1))
}

// upload processes a photo and records it for its owner, all under the
// blob's lock (see media.Processor.Process).
func (s *Server) upload(ctx context.Context, owner store.ID, data []byte, e media.Edit, alt string) (*MediaView, error) {
	start := time.Now()
	var m *store.Media
	res, err := s.media.Process(ctx, data, e, func(r *media.Result) error {
		variants := make(map[string]store.MediaVariant, len(r.Variants))
		for name, v := range r.Variants {
			variants[name] = store.MediaVariant{Width: v.Width, Height: v.Height, Bytes: int64(v.Bytes)}
		}
		var err error
		m, err = store.Exec(ctx, s.st, store.CreateMedia{Meta: store.At(now(ctx)), OwnerID: owner, Hash: r.Hash,
			Width: r.Width, Height: r.Height, Blurhash: r.Blurhash, Alt: alt, Filter: r.Filter, Variants: variants,
			Quota: int64(s.cfg.QuotaMB) << 20})
		return err
	})
	s.metrics.observeUpload(len(data), time.Since(start), err)
	if err != nil {
		return nil, err
	}
	u, err := s.st.User(owner)
	if err != nil {
		return nil, err
	}
	v := s.mediaView(m, !u.Private, true, now(ctx))
	if res.Location != nil {
		v.LocationSuggestion = &LatLonView{Lat: res.Location.Lat, Lon: res.Location.Lon}
	}
	return &v, nil
}

type mediaFileInput struct {
	A           string `path:"a" maxLength:"2"`
	B           string `path:"b" maxLength:"2"`
	Hash        string `path:"hash" maxLength:"64"`
	File        string `path:"file" maxLength:"16" doc:"thumb.jpg, small.jpg, medium.jpg, large.jpg or full.jpg"`
	Exp         string `query:"exp" doc:"Expiry of a signed URL (Unix seconds)"`
	Sig         string `query:"sig" doc:"Signature of a signed URL"`
	IfNoneMatch string `header:"If-None-Match"`
	Range       string `header:"Range"`
}

var servedVariants = map[string]bool{"thumb": true, "small": true, "medium": true, "large": true, "full": true}

func (s *Server) registerMediaFiles(api huma.API) {
	s.app.Use("/media", noStore)
	huma.Register(api, huma.Operation{
		OperationID: "get-media-file", Method: http.MethodGet, Path: "/media/{a}/{b}/{hash}/{file}", Tags: []string{"media"},
		Summary:     "A photo file (URLs come from a media object's variants)",
		Description: "Immutable and cacheable for a year when public; private photos and full copies need the signed URL the API handed out, or the owner's token. Supports Range and If-None-Match.",
		Errors:      []int{404, 416},
	}, func(ctx context.Context, in *mediaFileInput) (*huma.StreamResponse, error) {
		variant, ok := strings.CutSuffix(in.File, ".jpg")
		notFound := store.Errorf(store.ErrNotFound, "There is no such photo file.")
		if !ok || !servedVariants[variant] || len(in.Hash) != 64 || in.A != in.Hash[0:2] || in.B != in.Hash[2:4] {
			return nil, notFound
		}
		cache, err := s.mayFetch(ctx, in, variant)
		if err != nil {
			return nil, err
		}
		if variant == "full" {
			if err := s.media.Full(ctx, in.Hash); err != nil {
				return nil, err
			}
		}
		blob, err := s.media.Blobs().Open(in.Hash, variant+".jpg")
		if err != nil {
			return nil, notFound
		}
		return &huma.StreamResponse{Body: func(hc huma.Context) {
			defer blob.Close()
			serveBlob(hc, blob, `"`+in.Hash[:32]+"-"+variant+`"`, cache, in.IfNoneMatch, in.Range)
		}}, nil
	})
}

// mayFetch decides who may fetch a file and returns its Cache-Control.
// Only files that an account in good standing uses are served at all: a
// suspended or deleted account's photos and avatar answer 404 (signed
// URLs handed out before included) until the suspension is lifted. Then
// a valid signature suffices; otherwise the full copy is the owner's,
// and the display variants are anyone's when a public account uses the
// photo. Unknown and forbidden files are both 404, so hashes reveal
// nothing; refusals are never cached (see noStore).
func (s *Server) mayFetch(ctx context.Context, in *mediaFileInput, variant string) (string, error) {
	notFound := store.Errorf(store.ErrNotFound, "There is no such photo file.")
	c, _ := viewer(ctx)
	acc, err := s.st.BlobAccess(in.Hash, c.UserID)
	if err != nil || !acc.Live {
		return "", notFound
	}
	if in.Sig != "" {
		if left, ok := s.urls.valid(mediaPath(in.Hash, variant), in.Exp, in.Sig, now(ctx)); ok {
			return "private, max-age=" + strconv.FormatInt(left, 10), nil
		}
		return "", notFound
	}
	switch {
	case acc.Owner:
		return "private, max-age=3600", nil
	case acc.Public && variant != "full":
		return "public, max-age=31536000, immutable", nil
	}
	return "", notFound
}

// noStore marks every answer under /media as not to be stored; a file
// that is served replaces it with its own caching (serveBlob), so what
// stays no-store are the refusals, which must not outlive a change such
// as a suspension being lifted.
func noStore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// serveBlob writes a stored file with caching headers, answering 304 to a
// matching If-None-Match and 206 to a single byte range.
func serveBlob(hc huma.Context, blob media.Blob, etag, cache, ifNoneMatch, rng string) {
	h := func(k, v string) { hc.SetHeader(k, v) }
	h("Content-Type", "image/jpeg")
	h("Cache-Control", cache)
	h("ETag", etag)
	h("Accept-Ranges", "bytes")
	h("Content-Security-Policy", "default-src 'none'; sandbox")
	h("Cross-Origin-Resource-Policy", "same-site")
	if ifNoneMatch != "" && (ifNoneMatch == "*" || strings.Contains(ifNoneMatch, etag)) {
		hc.SetStatus(http.StatusNotModified)
		return
	}
	size := blob.Size()
	start, end, partial, ok := parseRange(rng, size)
	if !ok {
		h("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		hc.SetStatus(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	h("Content-Length", strconv.FormatInt(end-start, 10))
	if partial {
		h("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, size))
		hc.SetStatus(http.StatusPartialContent)
	} else {
		hc.SetStatus(http.StatusOK)
	}
	if _, err := blob.Seek(start, io.SeekStart); err != nil {
		return
	}
	io.CopyN(hc.BodyWriter(), blob, end-start)
}

// uploadLimit is the largest photo accepted: the server's limit, lowered
// by the instance setting when an administrator set one.
func (s *Server) uploadLimit() int64 {
	limit := s.media.Config().MaxBytes
	if st, err := s.st.Settings(); err == nil && st.MaxUploadMB > 0 {
		limit = min(limit, int64(st.MaxUploadMB)<<20)
	}
	return limit
}
