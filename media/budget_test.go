package media

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gen2brain/avif"
)

// grad is a w×h picture in a colour model: a smooth gradient, with
// transparency where the model has it.
func grad(w, h int, kind string) image.Image {
	var img interface {
		image.Image
		Set(x, y int, c color.Color)
	}
	r := image.Rect(0, 0, w, h)
	switch kind {
	case "gray":
		img = image.NewGray(r)
	case "rgba":
		img = image.NewNRGBA(r)
	case "rgb16":
		img = image.NewRGBA64(r)
	case "paletted":
		pal := color.Palette{}
		for i := range 256 {
			pal = append(pal, color.NRGBA{uint8(i), uint8(255 - i), 128, uint8(max(i, 32))})
		}
		img = image.NewPaletted(r, pal)
	default:
		img = image.NewRGBA(r)
	}
	for y := range h {
		for x := range w {
			a := uint8(255)
			if kind == "rgba" {
				a = uint8(64 + (x*191)/w)
			}
			img.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), a})
		}
	}
	return img
}

func encoded(t testing.TB, img image.Image, format string) []byte {
	var buf bytes.Buffer
	var err error
	if format == "jpeg" {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// peakHeap runs fn and returns how far the heap (objects, and spans not
// yet reused) rose above where it was, sampled every 100 µs while the
// garbage collector runs as usual.
func peakHeap(fn func()) int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	read := func() int64 {
		metrics.Read(s)
		return int64(s[0].Value.Uint64() + s[1].Value.Uint64())
	}
	base := read()
	var peak atomic.Int64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	fn()
	close(done)
	<-sampled
	return peak.Load() - base
}

// measure returns the peak heap of decoding data and rendering it as an
// upload, and the estimate.
func measure(t *testing.T, p *Processor, data []byte) (peak, estimate int64) {
	f, cfg, ex, err := p.inspect(data)
	if err != nil {
		t.Fatal(err)
	}
	estimate = p.cost(f, cfg, data, ex.Orientation, workUpload)
	peak = peakHeap(func() {
		img, err := decode(f, data)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err = p.render(flatten(img), ex.Orientation, &filters[1], nil, f != JPEG); err != nil {
			t.Fatal(err)
		}
	})
	return peak, estimate
}

// TestDecodeEstimates: for each format and colour model, the estimate is
// at least how far decoding and rendering really raise the heap, and not
// wildly more (which would refuse photos or serialise uploads for
// nothing).
func TestDecodeEstimates(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes several large pictures; run without -short")
	}
	p := New(Config{}, FileBlobs{Dir: t.TempDir()})
	fixture := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"JPEG 4:2:0 4000×3000", encoded(t, grad(4000, 3000, "rgb"), "jpeg")},
		{"JPEG 4:2:0 900×1600", encoded(t, grad(900, 1600, "rgb"), "jpeg")},
		{"JPEG grey 3000×3000", encoded(t, grad(3000, 3000, "gray"), "jpeg")},
		{"PNG RGB 3000×2000", encoded(t, grad(3000, 2000, "rgb"), "png")},
		{"PNG RGBA 3000×2000", encoded(t, grad(3000, 2000, "rgba"), "png")},
		{"PNG RGB 16-bit 2000×2000", encoded(t, grad(2000, 2000, "rgb16"), "png")},
		{"PNG paletted 3000×2000", encoded(t, grad(3000, 2000, "paletted"), "png")},
		{"PNG grey 5000×1000", encoded(t, grad(5000, 1000, "gray"), "png")},
		{"JPEG progressive", fixture("progressive.jpg")},
		{"JPEG CMYK", fixture("cmyk.jpg")},
		{"JPEG 4:4:4", fixture("sub444.jpg")},
		{"WebP lossy", fixture("lossy.webp")},
		{"WebP lossless", fixture("lossless.webp")},
		{"WebP lossy with alpha", fixture("lossy-alpha.webp")},
		{"HEIC", fixture("photo.heic")},
		{"AVIF", fixture("photo.avif")},
	}
	var deep bytes.Buffer
	if err := avif.Encode(&deep, grad(1000, 800, "rgb"), avif.Options{Quality: 60, Speed: 10}); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		name string
		data []byte
	}{"AVIF 1000×800", deep.Bytes()}, struct {
		name string
		data []byte
	}{"HEIC grid 2048×1536", heifGrid(t, "mif1", 16, 16)})
	measure(t, p, fixture("photo.heic")) // the WebAssembly decoders compile once
	measure(t, p, fixture("photo.avif"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, est := measure(t, p, tc.data)
			t.Logf("peak heap %6.1f MB, estimated %6.1f MB", float64(got)/mb, float64(est)/mb)
			if got > est {
				t.Errorf("the heap rose %d bytes, more than the estimate %d", got, est)
			}
			if est > 2*got+64*mb {
				t.Errorf("estimated %d bytes for a peak of %d", est, got)
			}
		})
	}
}

// TestDecodeBudget: a decode needing more than the whole budget is
// refused at once with a sentence; decodes that together exceed it wait
// for each other, and one that cannot get its bytes in time is told to
// retry.
func TestDecodeBudget(t *testing.T) {
	data := encoded(t, grad(2000, 1500, "rgb"), "png") // about 12 MB decoded, 30 MB in all
	small := New(Config{DecodeMemory: 8 << 20}, FileBlobs{Dir: t.TempDir()})
	for _, run := range []func() error{
		func() error { _, err := small.Process(context.Background(), data, Edit{}, nil); return err },
		func() error { _, err := small.Preview(context.Background(), data, nil); return err },
	} {
		err := run()
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "needs about") || !strings.Contains(err.Error(), "up to 8 MB") {
			t.Fatalf("got %v", err)
		}
	}

	p := New(Config{DecodeMemory: 64 << 20, Decoders: 4, Wait: 100 * time.Millisecond}, FileBlobs{Dir: t.TempDir()})
	f, cfg, ex, err := p.inspect(data)
	if err != nil {
		t.Fatal(err)
	}
	need := p.cost(f, cfg, data, ex.Orientation, workUpload)
	if need > 64<<20 || need < 16<<20 {
		t.Fatalf("the estimate is %d", need)
	}
	// Another decode holds all but need-1 bytes: this one waits, then is
	// told to retry.
	if !p.mem.TryAcquire(64<<20 - need + 1) {
		t.Fatal("budget busy")
	}
	start := time.Now()
	if _, err := p.Process(context.Background(), data, Edit{}, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("over the budget: %v", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("did not wait: %v", d)
	}
	// It gets its bytes as soon as they are given back.
	go func() {
		time.Sleep(30 * time.Millisecond)
		p.mem.Release(64<<20 - need + 1)
	}()
	if _, err := p.Process(context.Background(), data, Edit{}, nil); err != nil {
		t.Fatalf("after the release: %v", err)
	}
	// And it gave them back: the whole budget is free.
	if !p.mem.TryAcquire(64 << 20) {
		t.Fatal("a finished decode kept its bytes")
	}
	p.mem.Release(64 << 20)
	// The slots and the heavy slot are free too.
	if len(p.slots) != 0 || len(p.heavy) != 0 {
		t.Fatal("a finished decode kept its slot")
	}
}

// TestDefaultBudget: what README and Config promise the default budget
// lets through, one at a time, and what it refuses.
func TestDefaultBudget(t *testing.T) {
	p := New(Config{}, FileBlobs{Dir: t.TempDir()})
	sof := func(w, h int) []byte { // a baseline 4:2:0 JPEG's frame header
		return []byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}
	}
	png := make([]byte, 64)
	cases := []struct {
		name string
		f    Format
		cfg  image.Config
		data []byte
		fits bool
	}{
		{"50 MP PNG with alpha", PNG, image.Config{Width: 7071, Height: 7071, ColorModel: color.NRGBAModel}, png, true},
		{"50 MP JPEG", JPEG, image.Config{Width: 8660, Height: 5773, ColorModel: color.YCbCrModel}, sof(8660, 5773), true},
		{"50 MP lossless WebP", WebP, image.Config{Width: 8660, Height: 5773, ColorModel: color.NRGBAModel}, nil, true},
		{"24 MP HEIC", HEIF, image.Config{Width: 5712, Height: 4284, ColorModel: color.YCbCrModel}, make([]byte, 4<<20), true},
		{"11 MP AVIF", AVIF, image.Config{Width: 4000, Height: 2750, ColorModel: color.RGBAModel}, make([]byte, 2<<20), true},
		{"13 MP AVIF", AVIF, image.Config{Width: 4160, Height: 3120, ColorModel: color.RGBAModel}, make([]byte, 2<<20), false},
		{"50 MP 16-bit PNG", PNG, image.Config{Width: 7071, Height: 7071, ColorModel: color.RGBA64Model}, png, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			need := p.cost(tc.f, tc.cfg, tc.data, 1, workUpload)
			if fits := need <= DefaultDecodeMemory; fits != tc.fits {
				t.Fatalf("needs %d MB of %d: fits %v", need/mb, DefaultDecodeMemory/mb, fits)
			}
		})
	}
}
