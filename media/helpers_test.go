package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"aperture/media"
)

// quads are the upright pattern's colours: red, green / blue, white.
var quads = [4]color.NRGBA{{230, 20, 20, 255}, {20, 200, 20, 255}, {20, 20, 230, 255}, {250, 250, 250, 255}}

func pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			q := 0
			if x >= w/2 {
				q++
			}
			if y >= h/2 {
				q += 2
			}
			img.SetNRGBA(x, y, quads[q])
		}
	}
	return img
}

// scene is a smooth, colourful image for filter tests: hue across, light
// down.
func scene(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			hue := float64(x) / float64(w) * 6
			l := 0.15 + 0.7*float64(y)/float64(h)
			r, g, b := hsl(hue, 0.6, l)
			img.SetNRGBA(x, y, color.NRGBA{r, g, b, 255})
		}
	}
	return img
}

func hsl(h, s, l float64) (uint8, uint8, uint8) {
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h, 2)-1))
	var r, g, b float64
	switch int(h) % 6 {
	case 0:
		r, g = c, x
	case 1:
		r, g = x, c
	case 2:
		g, b = c, x
	case 3:
		g, b = x, c
	case 4:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	return uint8((r + m) * 255), uint8((g + m) * 255), uint8((b + m) * 255)
}

func encodeJPEG(tb testing.TB, img image.Image, q int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// withSegment inserts a JPEG marker segment right after SOI.
func withSegment(jpg []byte, marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// exifBlock builds an "Exif\0\0" APP1 payload (little-endian TIFF) with an
// orientation and, if gps is set, a GPS IFD. Rationals are given as
// num/den pairs so tests can write broken ones.
func exifBlock(orientation int, gps *[3][2]uint32, latRef byte, lon *[3][2]uint32, lonRef byte) []byte {
	le := binary.LittleEndian
	b := []byte("II*\x00\x08\x00\x00\x00")
	n := 1
	if gps != nil {
		n = 2
	}
	ifd0 := make([]byte, 2+12*n+4)
	le.PutUint16(ifd0, uint16(n))
	le.PutUint16(ifd0[2:], 0x0112)
	le.PutUint16(ifd0[4:], 3)
	le.PutUint32(ifd0[6:], 1)
	le.PutUint16(ifd0[10:], uint16(orientation))
	gpsOff := 8 + len(ifd0)
	if gps != nil {
		le.PutUint16(ifd0[14:], 0x8825)
		le.PutUint16(ifd0[16:], 4)
		le.PutUint32(ifd0[18:], 1)
		le.PutUint32(ifd0[22:], uint32(gpsOff))
	}
	b = append(b, ifd0...)
	if gps != nil {
		g := make([]byte, 2+12*4+4)
		dataOff := gpsOff + len(g)
		le.PutUint16(g, 4)
		entry := func(i int, tag, typ uint16, count, val uint32) {
			p := g[2+12*i:]
			le.PutUint16(p, tag)
			le.PutUint16(p[2:], typ)
			le.PutUint32(p[4:], count)
			le.PutUint32(p[8:], val)
		}
		entry(0, 1, 2, 2, uint32(latRef))
		entry(1, 2, 5, 3, uint32(dataOff))
		entry(2, 3, 2, 2, uint32(lonRef))
		entry(3, 4, 5, 3, uint32(dataOff+24))
		b = append(b, g...)
		for _, r := range append(gps[:], lon[:]...) {
			b = le.AppendUint32(b, r[0])
			b = le.AppendUint32(b, r[1])
		}
	}
	return append([]byte("Exif\x00\x00"), b...)
}

func newProcessor(tb testing.TB, cfg media.Config) (*media.Processor, media.FileBlobs) {
	tb.Helper()
	blobs := media.FileBlobs{Dir: tb.TempDir()}
	return media.New(cfg, blobs), blobs
}

func mustProcess(tb testing.TB, p *media.Processor, data []byte, e media.Edit) *media.Result {
	tb.Helper()
	res, err := p.Process(context.Background(), data, e, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// variant decodes a stored variant.
func variant(tb testing.TB, blobs media.FileBlobs, res *media.Result, name string) *image.NRGBA {
	tb.Helper()
	b, err := blobs.Get(res.Hash, name+".jpg")
	if err != nil {
		tb.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	out := image.NewNRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

// dominant reports which quadrant colour a pixel is closest to.
func dominant(c color.NRGBA) int {
	best, bd := -1, math.MaxFloat64
	for i, q := range quads {
		d := sq(float64(c.R)-float64(q.R)) + sq(float64(c.G)-float64(q.G)) + sq(float64(c.B)-float64(q.B))
		if d < bd {
			best, bd = i, d
		}
	}
	return best
}

func sq(v float64) float64 { return v * v }

// quadrantsOf samples the centre of each quadrant.
func quadrantsOf(img *image.NRGBA) [4]color.NRGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pts := [4]image.Point{{w / 4, h / 4}, {3 * w / 4, h / 4}, {w / 4, 3 * h / 4}, {3 * w / 4, 3 * h / 4}}
	var out [4]color.NRGBA
	for i, p := range pts {
		out[i] = img.NRGBAAt(p.X, p.Y)
	}
	return out
}

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// renderFull renders the deferred full copy and records its size in res.
func renderFull(tb testing.TB, p *media.Processor, res *media.Result) {
	tb.Helper()
	if err := p.Full(context.Background(), res.Hash); err != nil {
		tb.Fatal(err)
	}
	b, err := p.Blobs().Get(res.Hash, "full.jpg")
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	res.Variants["full"] = media.Variant{Width: cfg.Width, Height: cfg.Height, Bytes: len(b)}
}
