package media_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"aperture/media"
)

func TestFormatsComeOutUpright(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	cases := []struct {
		file   string
		format media.Format
		want   [4]int // dominant colour per quadrant
	}{
		{"baseline.jpg", media.JPEG, [4]int{0, 1, 2, 3}},
		{"progressive.jpg", media.JPEG, [4]int{0, 1, 2, 3}},
		{"restart.jpg", media.JPEG, [4]int{0, 1, 2, 3}},
		{"sub444.jpg", media.JPEG, [4]int{0, 1, 2, 3}},
		{"sub422.jpg", media.JPEG, [4]int{0, 1, 2, 3}},
		{"sub440.jpg", media.JPEG, [4]int{0, 1, 2, 3}},
		{"cmyk.jpg", media.JPEG, [4]int{0, 1, 2, 3}},
		{"lossy.webp", media.WebP, [4]int{0, 1, 2, 3}},
		{"lossy-alpha.webp", media.WebP, [4]int{0, 3, 2, 3}}, // transparent right half on white
		{"lossless.webp", media.WebP, [4]int{0, 3, 2, 3}},
		{"alpha.png", media.PNG, [4]int{0, 3, 2, 3}},
		{"photo.heic", media.HEIF, [4]int{0, 1, 2, 3}},
		{"photo.avif", media.AVIF, [4]int{0, 1, 2, 3}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			res := mustProcess(t, p, fixture(t, tc.file), media.Edit{})
			renderFull(t, p, res)
			w, h := 64, 48
			if tc.format == media.HEIF || tc.format == media.AVIF {
				w, h = 128, 96
			}
			if res.Format != tc.format || res.Width != w || res.Height != h {
				t.Fatalf("format %s, %d×%d", res.Format, res.Width, res.Height)
			}
			for _, name := range []string{"large", "medium", "small", "full"} {
				got := quadrantsOf(variant(t, blobs, res, name))
				for i, c := range got {
					if d := dominant(c); d != tc.want[i] {
						t.Fatalf("%s quadrant %d is %v (looks like %d, want %d)", name, i, c, d, tc.want[i])
					}
				}
			}
			if th := res.Variants["thumb"]; th.Width != media.ThumbSize || th.Height != media.ThumbSize {
				t.Fatalf("thumb %dx%d", th.Width, th.Height)
			}
			if len(res.Blurhash) < 6 {
				t.Fatalf("blurhash %q", res.Blurhash)
			}
		})
	}
}

func TestGrayscaleJPEG(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	res := mustProcess(t, p, fixture(t, "gray.jpg"), media.Edit{})
	q := quadrantsOf(variant(t, blobs, res, "large"))
	// Luma of red < green; blue darkest; white brightest.
	if !(q[2].R < q[0].R && q[0].R < q[1].R && q[1].R < q[3].R) {
		t.Fatalf("grey levels out of order: %v", q)
	}
	for _, c := range q {
		if c.R != c.G || c.G != c.B {
			t.Fatalf("grey JPEG came out coloured: %v", c)
		}
	}
}

func TestPNGKinds(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	src := pattern(64, 48)
	deep := image.NewNRGBA64(src.Rect)
	pal := image.NewPaletted(src.Rect, color.Palette{quads[0], quads[1], quads[2], quads[3]})
	for y := range 48 {
		for x := range 64 {
			deep.Set(x, y, src.At(x, y))
			pal.Set(x, y, src.At(x, y))
		}
	}
	for name, img := range map[string]image.Image{"16-bit": deep, "palette": pal} {
		var buf bytes.Buffer
		png.Encode(&buf, img)
		res := mustProcess(t, p, buf.Bytes(), media.Edit{})
		for i, c := range quadrantsOf(variant(t, blobs, res, "large")) {
			if dominant(c) != i {
				t.Fatalf("%s: quadrant %d is %v", name, i, c)
			}
		}
	}
	var buf bytes.Buffer
	gif.Encode(&buf, pal, nil)
	res := mustProcess(t, p, buf.Bytes(), media.Edit{})
	if res.Format != media.GIF || dominant(quadrantsOf(variant(t, blobs, res, "large"))[1]) != 1 {
		t.Fatal("GIF not decoded")
	}
}

// TestOrientations stores the pattern as each EXIF orientation expects
// and checks that every output is upright, pixel by pixel at the
// quadrant centres.
func TestOrientations(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	up := pattern(64, 48)
	stored := map[int]*image.NRGBA{
		1: up,
		2: imaging.FlipH(up),
		3: imaging.Rotate180(up),
		4: imaging.FlipV(up),
		5: imaging.Transpose(up),
		6: imaging.Rotate90(up),
		7: imaging.Transverse(up),
		8: imaging.Rotate270(up),
	}
	for o := 1; o <= 8; o++ {
		data := withSegment(encodeJPEG(t, stored[o], 95), 0xE1, exifBlock(o, nil, 0, nil, 0))
		res := mustProcess(t, p, data, media.Edit{})
		renderFull(t, p, res)
		if res.Width != 64 || res.Height != 48 {
			t.Fatalf("orientation %d: %d×%d", o, res.Width, res.Height)
		}
		for _, name := range []string{"large", "full"} {
			for i, c := range quadrantsOf(variant(t, blobs, res, name)) {
				if dominant(c) != i {
					t.Fatalf("orientation %d, %s: quadrant %d is %v", o, name, i, c)
				}
			}
		}
	}
}

func dms(d, m, s uint32) *[3][2]uint32 { return &[3][2]uint32{{d, 1}, {m, 1}, {s * 100, 100}} }

// TestGPSAndNoMetadata: GPS comes back as a suggestion only; no output
// keeps EXIF, comments or what followed the end of the image.
func TestGPSAndNoMetadata(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	data := encodeJPEG(t, scene(320, 240), 90)
	data = withSegment(data, 0xE1, exifBlock(1, dms(48, 51, 30), 'N', dms(2, 17, 40), 'E'))
	data = withSegment(data, 0xFE, []byte("<script>alert(1)</script>"))
	data = withSegment(data, 0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPS</x:xmpmeta>"))
	data = append(data, []byte("<html><script>alert(2)</script></html>")...)
	res := mustProcess(t, p, data, media.Edit{Filter: "clarendon"})
	renderFull(t, p, res)
	if res.Location == nil || math.Abs(res.Location.Lat-48.858333) > 1e-4 || math.Abs(res.Location.Lon-2.294444) > 1e-4 {
		t.Fatalf("location %+v", res.Location)
	}
	names := []string{"source"}
	for name := range res.Variants {
		names = append(names, name)
	}
	for _, name := range names {
		b, err := blobs.Get(res.Hash, name+".jpg")
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<script", "Exif", "xmpmeta", "GPS", "<html"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Fatalf("%s contains %q", name, bad)
			}
		}
		for i := 2; i+4 <= len(b); {
			if b[i] != 0xFF {
				t.Fatalf("%s: bad marker layout", name)
			}
			m := b[i+1]
			if m >= 0xE0 && m <= 0xEF || m == 0xFE {
				t.Fatalf("%s carries metadata segment FF%02X", name, m)
			}
			if m == 0xDA {
				break
			}
			i += 2 + (int(b[i+2])<<8 | int(b[i+3]))
		}
		if !bytes.HasSuffix(b, []byte{0xFF, 0xD9}) {
			t.Fatalf("%s has bytes after the end of image", name)
		}
	}
}

func TestBrokenGPSIgnored(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	base := encodeJPEG(t, pattern(64, 48), 90)
	for name, ex := range map[string][]byte{
		"zero denominator": exifBlock(1, &[3][2]uint32{{48, 0}, {0, 1}, {0, 1}}, 'N', dms(2, 0, 0), 'E'),
		"latitude 100":     exifBlock(1, dms(100, 0, 0), 'N', dms(2, 0, 0), 'E'),
		"minutes 75":       exifBlock(1, dms(10, 75, 0), 'N', dms(2, 0, 0), 'E'),
		"no reference":     exifBlock(1, dms(10, 0, 0), 'X', dms(2, 0, 0), 'E'),
		"truncated":        exifBlock(1, dms(10, 0, 0), 'N', dms(2, 0, 0), 'E')[:40],
	} {
		res := mustProcess(t, p, withSegment(base, 0xE1, ex), media.Edit{})
		if res.Location != nil {
			t.Errorf("%s: location %+v", name, res.Location)
		}
	}
}

func TestBadFiles(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	jpg := fixture(t, "baseline.jpg")
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, pattern(64, 48))
	twelveBit := []byte{0xFF, 0xD8, 0xFF, 0xC1, 0x00, 0x11, 12, 0, 48, 0, 64, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0}
	cases := []struct {
		name string
		data []byte
		kind error
		says string
	}{
		{"truncated JPEG", jpg[:len(jpg)/2], media.ErrInvalid, "truncated"},
		{"truncated PNG", pngBuf.Bytes()[:pngBuf.Len()-20], media.ErrInvalid, "PNG"},
		{"arithmetic JPEG", fixture(t, "arithmetic.jpg"), media.ErrUnsupported, "JPEG"},
		{"12-bit JPEG", twelveBit, media.ErrUnsupported, "JPEG"},
		{"SVG", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>`), media.ErrUnsupported, "SVG"},
		{"HTML", []byte("<!DOCTYPE html><script>alert(1)</script>"), media.ErrUnsupported, "HTML"},
		{"TIFF", []byte("II*\x00\x08\x00\x00\x00"), media.ErrUnsupported, "TIFF"},
		{"PDF", []byte("%PDF-1.7\n"), media.ErrUnsupported, "PDF"},
		{"BMP", []byte("BM\x36\x00\x00\x00"), media.ErrUnsupported, "BMP"},
		{"empty", nil, media.ErrUnsupported, "empty"},
		{"text", []byte("hello"), media.ErrUnsupported, "JPEG, PNG"},
		{"unknown filter", jpg, media.ErrInvalid, "no filter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := media.Edit{}
			if tc.name == "unknown filter" {
				e.Filter = "sepia-deluxe"
			}
			_, err := p.Process(context.Background(), tc.data, e, nil)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.kind, tc.says)
			}
		})
	}
	big := media.New(media.Config{MaxBytes: 100}, media.FileBlobs{Dir: t.TempDir()})
	if _, err := big.Process(context.Background(), jpg, media.Edit{}, nil); !errors.Is(err, media.ErrTooLarge) {
		t.Fatalf("over the byte limit: %v", err)
	}
}

func TestCropAndAspect(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	for _, tc := range []struct {
		w, h  int
		crop  string
		wantW int
		wantH int
	}{
		{1000, 200, "", 382, 200},         // panorama → 1.91:1
		{200, 1000, "", 200, 250},         // tall → 4:5
		{400, 400, "", 400, 400},          // square kept
		{400, 300, "0,0,0.5,1", 200, 250}, // crop 200×300 → 4:5 clamp
		{400, 300, "0.25,0.25,0.5,0.5", 200, 150},
	} {
		var crop *media.Crop
		if tc.crop != "" {
			c, err := media.ParseCrop(tc.crop)
			if err != nil {
				t.Fatal(err)
			}
			crop = c
		}
		res := mustProcess(t, p, encodeJPEG(t, scene(tc.w, tc.h), 90), media.Edit{Crop: crop})
		if res.Width != tc.wantW || res.Height != tc.wantH {
			t.Errorf("%dx%d crop %q → %dx%d, want %dx%d", tc.w, tc.h, tc.crop, res.Width, res.Height, tc.wantW, tc.wantH)
		}
	}
	for _, bad := range []string{"1,2,3", "a,b,c,d", "0.5,0.5,0.6,0.6", "-0.1,0,1,1", "0,0,0.001,1", "NaN,0,1,1"} {
		if _, err := media.ParseCrop(bad); !errors.Is(err, media.ErrInvalid) {
			t.Errorf("ParseCrop(%q) = %v", bad, err)
		}
	}
}

func TestVariantSizes(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	res := mustProcess(t, p, encodeJPEG(t, scene(2400, 1800), 90), media.Edit{})
	renderFull(t, p, res)
	want := map[string][2]int{"full": {2400, 1800}, "large": {1080, 810}, "medium": {640, 480}, "small": {320, 240}, "thumb": {150, 150}}
	for name, wh := range want {
		v := res.Variants[name]
		if v.Width != wh[0] || v.Height != wh[1] {
			t.Errorf("%s is %dx%d, want %v", name, v.Width, v.Height, wh)
		}
		img := variant(t, blobs, res, name)
		if img.Rect.Dx() != wh[0] {
			t.Errorf("%s file is %d wide", name, img.Rect.Dx())
		}
	}
	capped := media.New(media.Config{FullEdge: 1000}, blobs)
	res = mustProcess(t, capped, encodeJPEG(t, scene(1600, 1200), 90), media.Edit{})
	if v := res.Variants["full"]; v.Width != 1000 || v.Height != 750 {
		t.Errorf("full capped at 1000: %dx%d", v.Width, v.Height)
	}
}

func TestSamePhotoStoredOnce(t *testing.T) {
	blobs := &countingBlobs{FileBlobs: media.FileBlobs{Dir: t.TempDir()}}
	p := media.New(media.Config{}, blobs)
	data := encodeJPEG(t, scene(300, 200), 90)
	a := mustProcess(t, p, data, media.Edit{Filter: "juno"})
	puts := blobs.puts
	b := mustProcess(t, p, data, media.Edit{Filter: "juno"})
	if a.Hash != b.Hash || blobs.puts != puts || b.Blurhash != a.Blurhash || b.Width != a.Width {
		t.Fatalf("second upload: hash %s vs %s, %d more writes", a.Hash, b.Hash, blobs.puts-puts)
	}
	c := mustProcess(t, p, data, media.Edit{Filter: "moon"})
	if c.Hash == a.Hash {
		t.Fatal("another filter reused the blob")
	}
}

type countingBlobs struct {
	media.FileBlobs
	puts int
}

func (c *countingBlobs) Put(hash, variant string, data []byte) error {
	c.puts++
	return c.FileBlobs.Put(hash, variant, data)
}

func TestCommitAndCollect(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	data := encodeJPEG(t, scene(200, 150), 90)
	boom := errors.New("database down")
	_, err := p.Process(context.Background(), data, media.Edit{}, func(*media.Result) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("commit error not returned: %v", err)
	}
	var hash string
	res, err := p.Process(context.Background(), data, media.Edit{}, func(r *media.Result) error { hash = r.Hash; return nil })
	if err != nil || hash != res.Hash {
		t.Fatal(err)
	}
	if _, err := blobs.Get(hash, "large.jpg"); err != nil {
		t.Fatalf("files missing after a good commit: %v", err)
	}
	// In use: nothing is deleted.
	if err := p.Collect(hash, func() (bool, error) { return false, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.Get(hash, "large.jpg"); err != nil {
		t.Fatal("collected a blob in use")
	}
	if err := p.Collect(hash, func() (bool, error) { return true, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.Get(hash, "large.jpg"); !errors.Is(err, media.ErrNotFound) {
		t.Fatalf("unused blob kept: %v", err)
	}
}
