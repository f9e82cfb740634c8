package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"runtime"
	"sync"
	"time"

	"github.com/buckket/go-blurhash"
	"github.com/disintegration/imaging"
	"golang.org/x/sync/semaphore"
)

// Config bounds the work done for one upload. Zero fields take the
// defaults in parentheses.
type Config struct {
	MaxBytes     int64         // largest upload (25 MiB)
	MaxPixels    int64         // largest declared image, all GIF frames counted (50 MP)
	Decoders     int           // concurrent decodes (GOMAXPROCS)
	DecodeMemory int64         // bytes all decodes in flight may use together (768 MiB); see budget.go
	Wait         time.Duration // how long an upload waits for a decode slot and its memory (5 s)
	Quality      int           // JPEG quality (82)
	FullEdge     int           // long edge of the owner's full copy (4096)
}

// DefaultDecodeMemory is the decode budget when Config.DecodeMemory is 0:
// enough for a 50-megapixel 8-bit JPEG (not CMYK), PNG or WebP, a
// 24-megapixel HEIC (a phone's) or an 11-megapixel AVIF, one at a time,
// and for several 12 MP JPEGs at once.
const DefaultDecodeMemory = 768 << 20

// Variant names and widths. thumb is a 150×150 square.
var variantWidths = []struct {
	Name  string
	Width int
}{{"large", 1080}, {"medium", 640}, {"small", 320}}

// ThumbSize is the side of the square thumbnail.
const ThumbSize = 150

// pipelineVersion is part of every blob hash: change it when the output
// of the pipeline changes, so old blobs are not reused for new edits.
const pipelineVersion = "v1"

// Processor turns uploads into stored variants.
type Processor struct {
	cfg   Config
	blobs Blobs
	slots chan struct{}       // decode slots
	heavy chan struct{}       // HEIC/AVIF: one at a time
	mem   *semaphore.Weighted // the decode memory budget, in bytes
	// locks serialise, per blob hash, an upload (from finding or writing
	// the files to recording the reference) against the collection of
	// unreferenced blobs, so a collection never deletes files that a
	// concurrent upload of the same photo is about to reference.
	locks [64]sync.Mutex
}

func (p *Processor) lock(hash string) func() {
	m := &p.locks[int(hash[0])%len(p.locks)]
	m.Lock()
	return m.Unlock
}

// New returns a Processor writing to blobs.
func New(cfg Config, blobs Blobs) *Processor {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 25 << 20
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = 50_000_000
	}
	if cfg.Decoders <= 0 {
		cfg.Decoders = runtime.GOMAXPROCS(0)
	}
	if cfg.DecodeMemory <= 0 {
		cfg.DecodeMemory = DefaultDecodeMemory
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 5 * time.Second
	}
	if cfg.Quality <= 0 {
		cfg.Quality = 82
	}
	if cfg.FullEdge <= 0 {
		cfg.FullEdge = 4096
	}
	return &Processor{cfg: cfg, blobs: blobs, slots: make(chan struct{}, cfg.Decoders), heavy: make(chan struct{}, 1),
		mem: semaphore.NewWeighted(cfg.DecodeMemory)}
}

// Config returns the processor's limits.
func (p *Processor) Config() Config { return p.cfg }

// Blobs returns where the processor stores files.
func (p *Processor) Blobs() Blobs { return p.blobs }

// Edit is what the person asked for: a filter and an optional crop, or
// else an optional aspect (width/height, e.g. 1 or 4/5) to centre-crop to.
type Edit struct {
	Filter string
	Crop   *Crop
	Aspect float64
}

// Variant is one stored rendition.
type Variant struct {
	Width  int `json:"width"`
	Height int `json:"height"`
	Bytes  int `json:"bytes"`
}

// Result describes a processed photo.
type Result struct {
	Hash     string             `json:"hash"` // content address of the variants
	Width    int                `json:"width"`
	Height   int                `json:"height"`
	Blurhash string             `json:"blurhash"`
	Filter   string             `json:"filter"`
	Format   Format             `json:"format"`
	Variants map[string]Variant `json:"variants"` // thumb, small, medium, large, full
	// Location is the GPS position from the photo's EXIF, offered as a
	// suggestion and never stored in any file.
	Location *LatLon `json:"-"`

	// What rendering the full copy later needs.
	Orientation int   `json:"orientation"`
	Crop        *Crop `json:"crop,omitempty"`
}

// Process checks, decodes, turns upright, crops, filters and resizes data,
// and stores the variants. The same bytes with the same edit are processed
// once. It returns ErrTooLarge for too many bytes or a photo that needs
// more memory than the whole decode budget, ErrUnsupported for a format
// aperture does not read, ErrInvalid for too many pixels, a damaged file,
// a file with no picture or a bad edit, and ErrBusy when no decode slot
// or memory frees up in time.
//
// For a JPEG the owner's full copy is rendered on first request (see
// Full) from a copy of the upload with every metadata segment removed;
// for other formats it is rendered now.
//
// commit, if not nil, records the result (a database write) while no
// collection of the same blob can run; if it fails, files this call wrote
// are removed and its error returned.
func (p *Processor) Process(ctx context.Context, data []byte, e Edit, commit func(*Result) error) (*Result, error) {
	filter, err := FilterByName(e.Filter)
	if err != nil {
		return nil, err
	}
	f, cfg, ex, err := p.inspect(data)
	if err != nil {
		return nil, err
	}
	if e.Crop == nil && e.Aspect > 0 {
		uw, uh := uprightSize(cfg.Width, cfg.Height, ex.Orientation)
		e.Crop = centreCrop(uw, uh, e.Aspect)
	}
	hash := blobHash(data, filter.Name, e.Crop)
	if commit == nil {
		commit = func(*Result) error { return nil }
	}
	unlock := p.lock(hash)
	if res, err := p.stored(hash); err == nil {
		res.Location, res.Format = ex.GPS, f
		err := commit(res)
		unlock()
		return res, err
	}
	unlock()

	var source []byte
	if f == JPEG {
		source = stripJPEG(data)
	}
	img, release, err := p.decodeIn(ctx, f, cfg, data, ex.Orientation, workUpload)
	if err != nil {
		return nil, err
	}
	res, files, err := p.render(img, ex.Orientation, filter, e.Crop, source == nil)
	release()
	if err != nil {
		return nil, err
	}
	res.Hash, res.Format, res.Location, res.Orientation, res.Crop = hash, f, ex.GPS, ex.Orientation, e.Crop
	if source != nil {
		files["source"] = source
	}
	defer p.lock(hash)()
	if _, err := p.stored(hash); err == nil {
		// The same upload finished first: use its files.
		return res, commit(res)
	}
	for name, b := range files {
		if err := p.blobs.Put(hash, name+".jpg", b); err != nil {
			p.blobs.Delete(hash)
			return nil, err
		}
	}
	if err := p.putInfo(res); err != nil {
		p.blobs.Delete(hash)
		return nil, err
	}
	if err := commit(res); err != nil {
		p.blobs.Delete(hash)
		return nil, err
	}
	return res, nil
}

// inspect checks an upload's size, format and declared pixels before any
// decode, and reads its EXIF.
func (p *Processor) inspect(data []byte) (Format, image.Config, exifInfo, error) {
	if int64(len(data)) > p.cfg.MaxBytes {
		return "", image.Config{}, exifInfo{}, newError(ErrTooLarge, "file", "The file is %.1f MiB; aperture accepts photos up to %.0f MiB.",
			float64(len(data))/(1<<20), float64(p.cfg.MaxBytes)/(1<<20))
	}
	f, err := Sniff(data)
	if err != nil {
		return "", image.Config{}, exifInfo{}, err
	}
	cfg, err := config(f, data)
	if err != nil {
		return "", image.Config{}, exifInfo{}, err
	}
	if err := checkPixels(f, data, cfg, p.cfg.MaxPixels); err != nil {
		return "", image.Config{}, exifInfo{}, err
	}
	return f, cfg, readEXIF(f, data), nil
}

// Collect deletes the files of hash if unused, asked while no upload of
// the same blob is between writing files and recording its reference,
// still reports true. It returns unused's error or the deletion's.
func (p *Processor) Collect(hash string, unused func() (bool, error)) error {
	defer p.lock(hash)()
	ok, err := unused()
	if err != nil || !ok {
		return err
	}
	return p.blobs.Delete(hash)
}

func (p *Processor) putInfo(res *Result) error {
	info, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return p.blobs.Put(res.Hash, "info.json", info)
}

// Full makes sure the owner's full copy of hash exists, rendering it from
// the stored source if it was deferred. It returns ErrNotFound for an
// unknown hash and ErrBusy when no decode slot or memory frees up in
// time.
func (p *Processor) Full(ctx context.Context, hash string) error {
	res, err := p.stored(hash)
	if err != nil {
		return newError(ErrNotFound, "", "There is no such photo.")
	}
	if res.Variants["full"].Bytes > 0 {
		return nil
	}
	source, err := p.blobs.Get(hash, "source.jpg")
	if err != nil {
		return err
	}
	filter, err := FilterByName(res.Filter)
	if err != nil {
		return err
	}
	cfg, err := config(JPEG, source)
	if err != nil {
		return err
	}
	img, release, err := p.decodeIn(ctx, JPEG, cfg, source, res.Orientation, workFull)
	if err != nil {
		return err
	}
	full := p.renderFull(flatten(img), res.Orientation, filter, res.Crop)
	release()
	if err != nil {
		return err
	}
	b, err := p.encode(full)
	if err != nil {
		return err
	}
	if err := p.blobs.Put(hash, "full.jpg", b); err != nil {
		return err
	}
	res.Variants["full"] = Variant{Width: full.Rect.Dx(), Height: full.Rect.Dy(), Bytes: len(b)}
	return p.putInfo(res)
}

// blobHash is the content address of an edit of some bytes.
func blobHash(data []byte, filter string, c *Crop) string {
	h := sha256.New()
	h.Write(data)
	fmt.Fprintf(h, "\x00%s\x00%s", pipelineVersion, filter)
	if c != nil {
		fmt.Fprintf(h, "\x00%g,%g,%g,%g", c.X, c.Y, c.W, c.H)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// stored returns the result of an edit processed before.
func (p *Processor) stored(hash string) (*Result, error) {
	b, err := p.blobs.Get(hash, "info.json")
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil || len(r.Variants) < 5 {
		return nil, errors.New("media: incomplete blob")
	}
	return &r, nil
}

// geometry returns the upright size of the kept rectangle and the
// sub-image of src that holds it.
func geometry(src image.Image, o int, c *Crop) (keep image.Rectangle, sub image.Image) {
	sb := src.Bounds()
	uw, uh := uprightSize(sb.Dx(), sb.Dy(), o)
	keep = cropRect(uw, uh, c)
	return keep, subImage(src, toSource(keep, sb.Dx(), sb.Dy(), o).Add(sb.Min))
}

// resizeTo scales sub (in stored orientation) so that, once upright, it is
// w×h. Large reductions start with an area-averaging box pass straight
// from the decoded pixels, then finish with exact 2×2 halving and
// Catmull-Rom; smaller ones halve straight from the decoded pixels or
// resample them directly. No full-size copy of sub is made
// (resizeBytes says what is allocated).
func resizeTo(sub image.Image, o, w, h int) *image.NRGBA {
	if o >= 5 {
		w, h = h, w
	}
	b := sub.Bounds()
	switch {
	case b.Dx() == w && b.Dy() == h:
		return imaging.Clone(sub)
	case b.Dx() >= 4*w && b.Dy() >= 4*h:
		return downscale(imaging.Resize(sub, 2*w, 2*h, imaging.Box), w, h)
	case b.Dx() >= 2*w && b.Dy() >= 2*h:
		return downscale(halveFrom(sub), w, h)
	}
	return imaging.Resize(sub, w, h, imaging.CatmullRom)
}

// renderFull returns the upright, cropped, filtered full copy.
func (p *Processor) renderFull(src image.Image, o int, filter *Filter, c *Crop) *image.NRGBA {
	keep, sub := geometry(src, o, c)
	fw, fh := fitLong(keep.Dx(), keep.Dy(), p.cfg.FullEdge)
	full := orient(resizeTo(sub, o, fw, fh), o)
	filter.apply(full)
	return full
}

// render produces the encoded display variants — large from the decoded
// image, then medium and small each from the one before, and the thumb
// from medium — and, if withFull, the full copy.
func (p *Processor) render(src image.Image, o int, filter *Filter, c *Crop, withFull bool) (*Result, map[string][]byte, error) {
	src = flatten(src)
	keep, sub := geometry(src, o, c)
	lw, lh := fitWidth(keep.Dx(), keep.Dy(), variantWidths[0].Width)
	large := orient(resizeTo(sub, o, lw, lh), o)
	filter.apply(large)

	imgs := map[string]*image.NRGBA{"large": large}
	prev := large
	for _, v := range variantWidths[1:] {
		w, h := fitWidth(prev.Rect.Dx(), prev.Rect.Dy(), v.Width)
		prev = downscale(prev, w, h)
		imgs[v.Name] = prev
	}
	imgs["thumb"] = imaging.Fill(imgs["medium"], ThumbSize, ThumbSize, imaging.Center, imaging.CatmullRom)
	fw, fh := fitLong(keep.Dx(), keep.Dy(), p.cfg.FullEdge)
	if withFull {
		imgs["full"] = p.renderFull(src, o, filter, c)
	}

	hash, err := blurhash.Encode(4, 3, imgs["thumb"])
	if err != nil {
		return nil, nil, fmt.Errorf("media: blurhash: %w", err)
	}
	res := &Result{Width: fw, Height: fh, Blurhash: hash, Filter: filter.Name,
		Variants: map[string]Variant{"full": {Width: fw, Height: fh}}}
	files := make(map[string][]byte, len(imgs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var encErr error
	for name, img := range imgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := p.encode(img)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				encErr = err
				return
			}
			files[name] = b
			res.Variants[name] = Variant{Width: img.Rect.Dx(), Height: img.Rect.Dy(), Bytes: len(b)}
		}()
	}
	wg.Wait()
	if encErr != nil {
		return nil, nil, encErr
	}
	return res, files, nil
}

// encode writes an opaque NRGBA as a baseline JPEG with no metadata at
// all: Go's encoder writes no APPn segments.
func (p *Processor) encode(img *image.NRGBA) ([]byte, error) {
	// Opaque NRGBA and RGBA share a memory layout; the encoder has a fast
	// path for RGBA.
	rgba := &image.RGBA{Pix: img.Pix, Stride: img.Stride, Rect: img.Rect}
	var buf bytes.Buffer
	buf.Grow(img.Rect.Dx() * img.Rect.Dy() / 4)
	if err := jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: p.cfg.Quality}); err != nil {
		return nil, fmt.Errorf("media: encode: %w", err)
	}
	return buf.Bytes(), nil
}

func subImage(img image.Image, r image.Rectangle) image.Image {
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	return imaging.Crop(img, r)
}
