package media_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"aperture/media"
)

// discardBlobs measures the pipeline without disk writes and without the
// dedupe short-cut.
type discardBlobs struct{ media.FileBlobs }

func (discardBlobs) Put(string, string, []byte) error { return nil }
func (discardBlobs) Get(string, string) ([]byte, error) {
	return nil, media.ErrNotFound
}

// BenchmarkProcess12MP is one 4032×3024 camera-like JPEG through the whole
// pipeline (decode, orient, filter, full + large + medium + small + thumb,
// blurhash, encode), one upload at a time; run with -cpu 1,2. When
// vipsthumbnail is installed it times libvips making 1080/640/150 from the
// same photo in the same run and reports aperture/vips.
func BenchmarkProcess12MP(b *testing.B) {
	data := cameraJPEG(b)
	p := media.New(media.Config{}, discardBlobs{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Process(context.Background(), data, media.Edit{Filter: "clarendon"}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	per := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(per*1000, "ms/photo")
	if v := vipsSeconds(b, data, 1); v > 0 {
		b.ReportMetric(v*1000, "vips-ms/photo")
		b.ReportMetric(per/v, "ratio")
	}
}

// BenchmarkThroughput12MP runs GOMAXPROCS uploads at once and reports
// photos per second, against as many concurrent vipsthumbnail runs.
func BenchmarkThroughput12MP(b *testing.B) {
	data := cameraJPEG(b)
	p := media.New(media.Config{}, discardBlobs{})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Process(context.Background(), data, media.Edit{Filter: "clarendon"}, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "photos/s")
	if v := vipsSeconds(b, data, runtime.GOMAXPROCS(0)); v > 0 {
		b.ReportMetric(1/v, "vips-photos/s")
		b.ReportMetric((1/v)/rate, "ratio")
	}
}

// vipsSeconds returns libvips' wall time per photo for the three sizes,
// with par photos at once (each single-threaded), or 0 without vips.
func vipsSeconds(b *testing.B, data []byte, par int) float64 {
	if _, err := exec.LookPath("vipsthumbnail"); err != nil {
		b.Log("vipsthumbnail not installed (Debian libvips-tools): no comparison")
		return 0
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "photo.jpg")
	os.WriteFile(src, data, 0o644)
	const reps = 3
	start := time.Now()
	var wg sync.WaitGroup
	for w := range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range reps {
				for _, size := range []string{"1080", "640", "150x150"} {
					out := filepath.Join(dir, fmt.Sprintf("out-%d-%d-%s.jpg", w, r, size))
					cmd := exec.Command("vipsthumbnail", src, "--size", size, "-o", out+"[Q=82,strip]")
					cmd.Env = append(os.Environ(), "VIPS_CONCURRENCY=1")
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Errorf("vipsthumbnail: %v %s", err, out)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start).Seconds() / float64(par*reps)
}

// BenchmarkFull12MP is the owner's first download of a 12 MP photo's full
// copy: the deferred render from the metadata-free source.
func BenchmarkFull12MP(b *testing.B) {
	data := cameraJPEG(b)
	blobs := media.FileBlobs{Dir: b.TempDir()}
	p := media.New(media.Config{}, blobs)
	res, err := p.Process(context.Background(), data, media.Edit{Filter: "clarendon"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	info, _ := blobs.Get(res.Hash, "info.json")
	b.ResetTimer()
	for b.Loop() {
		if err := p.Full(context.Background(), res.Hash); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		blobs.Put(res.Hash, "info.json", info) // forget the full copy again
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/full")
}
