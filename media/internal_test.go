package media

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzDecode runs untrusted bytes through everything that parses them —
// sniffing, header bounds, the GIF block walk, EXIF and the decoders —
// with a small pixel budget. Nothing may panic or hang; and an image
// whose header passed the bounds must decode to the declared size.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && filepath.Ext(name) != ".sh" {
			f.Add(b)
		}
	}
	f.Add(HEIFGrid(f, "mif1"))
	f.Add(HEIFWithExif(f, "photo.avif", "avif", exifItem("Exif\x00\x00", []byte("MM\x00*\x00\x00\x00\x08\x00\x00"))))
	f.Add(HEIFTransformed(f, "photo.heic", IRot(1), IMir(0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		format, err := Sniff(data)
		if err != nil {
			return
		}
		readEXIF(format, data)
		holdsImage(format, data)
		if format == JPEG {
			if s := stripJPEG(data); s != nil && len(s) > len(data) {
				t.Fatalf("strip grew the file")
			}
		}
		if format == HEIF || format == AVIF {
			heifConfig(format, data)
			withoutTransforms(data)
			return // the wasm decoders are fuzzed upstream and are slow here
		}
		cfg, err := config(format, data)
		if err != nil {
			return
		}
		if err := checkPixels(format, data, cfg, 1<<20); err != nil {
			return
		}
		img, err := decode(format, data)
		if err != nil {
			return
		}
		if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
			t.Fatalf("header said %dx%d, decoded %v", cfg.Width, cfg.Height, b)
		}
	})
}

// FuzzEXIF feeds arbitrary TIFF blocks to the EXIF reader.
func FuzzEXIF(f *testing.F) {
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x88\x25\x00\x04\x00\x00\x00\x01\x00\x00\x00\x08"))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x88\x25\x00\x09\x00\x00\x00\x01\x00\x00\x00\x1a\x00\x00\x00\x00" +
		"\x00\x02\x00\x01\x00\x02\x00\x00\x00\x02N\x00\x00\x00\x00\x02\x00\x0a\x00\x00\x00\x03\x00\x00\x00\x30")) // SLONG pointer, SRATIONAL latitude
	f.Fuzz(func(t *testing.T, b []byte) {
		info := parseTIFF(b)
		if info.Orientation < 0 || info.Orientation > 8 {
			t.Fatalf("orientation %d", info.Orientation)
		}
		if g := info.GPS; g != nil && (g.Lat < -90 || g.Lat > 90 || g.Lon < -180 || g.Lon > 180 || g.Lat != g.Lat) {
			t.Fatalf("gps %+v", g)
		}
	})
}

func TestBusyDecodersAnswerUnavailable(t *testing.T) {
	p := New(Config{Decoders: 1, Wait: 50 * time.Millisecond}, FileBlobs{Dir: t.TempDir()})
	p.slots <- struct{}{} // another upload holds the only slot
	data, _ := os.ReadFile("testdata/baseline.jpg")
	start := time.Now()
	_, err := p.Process(context.Background(), data, Edit{}, nil)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Fatalf("waited %v", d)
	}
	<-p.slots
	if _, err := p.Process(context.Background(), data, Edit{}, nil); err != nil {
		t.Fatalf("after the slot freed: %v", err)
	}
}

func TestHeavyFormatsOneAtATime(t *testing.T) {
	p := New(Config{Decoders: 4, Wait: 50 * time.Millisecond}, FileBlobs{Dir: t.TempDir()})
	p.heavy <- struct{}{}
	data, _ := os.ReadFile("testdata/photo.heic")
	if _, err := p.Process(context.Background(), data, Edit{}, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("second HEIC decode did not wait for the first: %v", err)
	}
	jpg, _ := os.ReadFile("testdata/baseline.jpg")
	if _, err := p.Process(context.Background(), jpg, Edit{}, nil); err != nil {
		t.Fatalf("a JPEG waited for the HEIC slot: %v", err)
	}
}

// TestStripKeepsPixels: the metadata-free source decodes to exactly the
// pixels of the upload.
func TestStripKeepsPixels(t *testing.T) {
	for _, name := range []string{"baseline.jpg", "progressive.jpg", "restart.jpg", "cmyk.jpg", "gray.jpg", "sub422.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, "<script>trailing</script>"...)
		s := stripJPEG(data)
		if s == nil {
			t.Fatalf("%s: strip failed", name)
		}
		a, err1 := decode(JPEG, data)
		b, err2 := decode(JPEG, s)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", name, err1, err2)
		}
		if a.Bounds() != b.Bounds() {
			t.Fatalf("%s: bounds changed", name)
		}
		for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
			for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
				if a.At(x, y) != b.At(x, y) {
					t.Fatalf("%s: pixel %d,%d changed", name, x, y)
				}
			}
		}
		if bytes.Contains(s, []byte("<script")) {
			t.Fatalf("%s: trailing bytes kept", name)
		}
	}
}
