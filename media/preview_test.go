package media_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"

	"aperture/media"
)

func decodeJPEG(t *testing.T, b []byte) *image.NRGBA {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return imaging.Clone(img)
}

// TestPreview: the base copy comes out upright at the preview size, each
// filter sample is the cropped photo with that filter, and nothing is
// stored.
func TestPreview(t *testing.T) {
	p, blobs := newProcessor(t, media.Config{})
	up := pattern(1600, 1200)
	data := withSegment(encodeJPEG(t, imaging.Rotate90(up), 95), 0xE1, exifBlock(6, nil, 0, nil, 0))
	// Keep the right half: green above white.
	crop, err := media.ParseCrop("0.5,0,0.5,1")
	if err != nil {
		t.Fatal(err)
	}
	pv, err := p.Preview(context.Background(), data, crop)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Width != 1600 || pv.Height != 1200 {
		t.Fatalf("upright size %d×%d", pv.Width, pv.Height)
	}
	base := decodeJPEG(t, pv.Base)
	if b := base.Bounds(); b.Dx() != media.PreviewEdge || b.Dy() != 480 {
		t.Fatalf("base is %v", b)
	}
	for i, c := range quadrantsOf(base) {
		if dominant(c) != i {
			t.Fatalf("base quadrant %d is %v", i, c)
		}
	}
	if len(pv.Filters) != len(media.Filters()) {
		t.Fatalf("%d samples for %d filters", len(pv.Filters), len(media.Filters()))
	}
	normal := decodeJPEG(t, pv.Filters[0].JPEG)
	if b := normal.Bounds(); b.Dx() != media.PreviewThumb || b.Dy() != media.PreviewThumb {
		t.Fatalf("sample is %v", b)
	}
	q := quadrantsOf(normal)
	if dominant(q[0]) != 1 || dominant(q[2]) != 3 {
		t.Fatalf("crop not applied: top-left %v bottom-left %v", q[0], q[2])
	}
	for _, s := range pv.Filters[1:] {
		if d := meanAbsDiff(normal, decodeJPEG(t, s.JPEG)); d < 2 {
			t.Errorf("filter %s barely changes the sample (%.1f)", s.Filter.Name, d)
		}
	}
	if entries := countFiles(t, blobs.Dir); entries != 0 {
		t.Fatalf("preview stored %d files", entries)
	}
}

func TestPreviewRefusesBadInput(t *testing.T) {
	p, _ := newProcessor(t, media.Config{MaxBytes: 1 << 20})
	for name, data := range map[string][]byte{
		"text":  []byte("hello, not a photo"),
		"huge":  make([]byte, 2<<20),
		"empty": nil,
	} {
		_, err := p.Preview(context.Background(), data, nil)
		var me *media.Error
		if !errors.As(err, &me) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBlurPreview(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	res := mustProcess(t, p, encodeJPEG(t, pattern(400, 300), 90), media.Edit{})
	b, err := media.BlurPreview(res.Blurhash)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 16 || len(b) > 1200 {
		t.Fatalf("blur preview %v, %d bytes: %v", img.Bounds(), len(b), err)
	}
	// The top-left of the pattern is red.
	r, g, _, _ := img.At(1, 1).RGBA()
	if r <= g {
		t.Fatalf("top-left is not reddish: r=%d g=%d", r>>8, g>>8)
	}
	if _, err := media.BlurPreview("nope"); err == nil {
		t.Fatal("a bad hash decoded")
	}
}

func TestAspectCrop(t *testing.T) {
	p, _ := newProcessor(t, media.Config{})
	data := encodeJPEG(t, pattern(1200, 800), 90)
	for _, c := range []struct {
		aspect float64
		w, h   int
	}{{1, 800, 800}, {0.8, 640, 800}, {0, 1200, 800}} {
		res := mustProcess(t, p, data, media.Edit{Aspect: c.aspect})
		if res.Width != c.w || res.Height != c.h {
			t.Errorf("aspect %v: %d×%d, want %d×%d", c.aspect, res.Width, res.Height, c.w, c.h)
		}
	}
}
