package media

import (
	"context"
	"image"
	"sync"

	"github.com/disintegration/imaging"
)

// PreviewEdge is the long edge of the upright copy a preview returns, and
// PreviewThumb the side of each filter's square sample.
const (
	PreviewEdge  = 640
	PreviewThumb = 120
)

// Preview is what the new-post screens show before anything is stored:
// the photo upright and uncropped, and each filter applied to a small
// square of the cropped photo, all rendered by the same code that renders
// the stored variants.
type Preview struct {
	Width    int     // upright width of the photo as uploaded
	Height   int     // upright height
	Base     []byte  // JPEG, upright, uncropped, long edge ≤ PreviewEdge
	Location *LatLon // GPS from EXIF, as a suggestion
	Filters  []FilterSample
}

// FilterSample is one filter on the preview square.
type FilterSample struct {
	Filter *Filter
	JPEG   []byte
}

// Preview checks and decodes data under the same bounds as Process and
// returns the upright copy and one sample per filter of the photo cropped
// by c (nil: the default centred crop). Nothing is stored. Errors are
// those of Process.
func (p *Processor) Preview(ctx context.Context, data []byte, c *Crop) (*Preview, error) {
	f, cfg, ex, err := p.inspect(data)
	if err != nil {
		return nil, err
	}
	img, release, err := p.decodeIn(ctx, f, cfg, data, ex.Orientation, workPreview)
	if err != nil {
		return nil, err
	}
	src := flatten(img)
	sb := src.Bounds()
	uw, uh := uprightSize(sb.Dx(), sb.Dy(), ex.Orientation)
	bw, bh := fitLong(uw, uh, PreviewEdge)
	base := orient(resizeTo(src, ex.Orientation, bw, bh), ex.Orientation)
	keep, sub := geometry(src, ex.Orientation, c)
	sw, sh := fitLong(keep.Dx(), keep.Dy(), 2*PreviewThumb)
	sample := imaging.Fill(orient(resizeTo(sub, ex.Orientation, sw, sh), ex.Orientation),
		PreviewThumb, PreviewThumb, imaging.Center, imaging.Linear)
	release()

	out := &Preview{Width: uw, Height: uh, Location: ex.GPS, Filters: make([]FilterSample, len(filters))}
	if out.Base, err = p.encode(base); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(filters))
	for i := range filters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img := &image.NRGBA{Pix: append([]byte(nil), sample.Pix...), Stride: sample.Stride, Rect: sample.Rect}
			filters[i].apply(img)
			out.Filters[i].Filter = &filters[i]
			out.Filters[i].JPEG, errs[i] = p.encode(img)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
