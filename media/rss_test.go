package media_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"aperture/media"
)

// camera is a 12 MP-like test photo: the smooth scene with sensor-like
// noise, so it compresses and decodes like a real photo.
func camera(w, h int) *image.NRGBA {
	img := scene(w, h)
	seed := uint32(2463534242)
	for i := 0; i < len(img.Pix); i++ {
		if i%4 == 3 {
			continue
		}
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		v := int(img.Pix[i]) + int(seed%25) - 12
		img.Pix[i] = uint8(max(0, min(255, v)))
	}
	return img
}

// cameraJPEG writes (once per test binary run) a 4032×3024 camera-like
// JPEG to dir and returns its bytes.
func cameraJPEG(tb testing.TB) []byte {
	tb.Helper()
	path := filepath.Join(os.TempDir(), "aperture-12mp-v1.jpg")
	if b, err := os.ReadFile(path); err == nil {
		return b
	}
	b := encodeJPEG(tb, camera(4032, 3024), 90)
	os.WriteFile(path, b, 0o644)
	return b
}

// TestRSSUnderConcurrentUploads runs 16 simultaneous 12 MP uploads in a
// fresh child process and checks its peak RSS (VmHWM) stays under
// 600 MB, and that each upload succeeded or was told to retry (503).
func TestRSSUnderConcurrentUploads(t *testing.T) {
	if path := os.Getenv("APERTURE_RSS_CHILD"); path != "" {
		rssChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("16 × 12 MP uploads take a while; run without -short")
	}
	data := cameraJPEG(t)
	path := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRSSUnderConcurrentUploads$", "-test.v")
	cmd.Env = append(os.Environ(), "APERTURE_RSS_CHILD="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	peak, ok, busy := childResult(string(out))
	t.Logf("16 uploads: %d processed, %d told to retry, peak RSS %d MB", ok, busy, peak/1024)
	if ok+busy != 16 || ok == 0 {
		t.Fatalf("uploads: %d ok, %d busy\n%s", ok, busy, out)
	}
	if peak == 0 || peak > 600*1024 {
		t.Fatalf("peak RSS %d kB\n%s", peak, out)
	}
}

func rssChild(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := media.New(media.Config{}, media.FileBlobs{Dir: t.TempDir()})
	uploads := 16
	if n, err := strconv.Atoi(os.Getenv("APERTURE_RSS_UPLOADS")); err == nil {
		uploads = n
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, busy := 0, 0
	for i := range uploads {
		body := append([]byte(nil), data...) // each upload has its own body
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.Process(context.Background(), body, media.Edit{Filter: media.Filters()[1+i%12].Name}, nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, media.ErrBusy):
				busy++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("RESULT peak_kb=%d ok=%d busy=%d\n", vmHWM(), ok, busy)
}

// vmHWM returns the process's peak resident set size in kB.
func vmHWM() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// TestRSSOneWorker reports the peak RSS of one 12 MP upload in a fresh
// process: the memory one decode worker needs (target ≤ 120 MB).
func TestRSSOneWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("a 12 MP upload in a child process; run without -short")
	}
	path := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(path, cameraJPEG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRSSUnderConcurrentUploads$", "-test.v")
	cmd.Env = append(os.Environ(), "APERTURE_RSS_CHILD="+path, "APERTURE_RSS_UPLOADS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	peak, ok, _ := childResult(string(out))
	t.Logf("one 12 MP upload: peak RSS %d MB (the test process itself included)", peak/1024)
	if ok != 1 || peak == 0 || peak > 160*1024 {
		t.Fatalf("one upload: ok=%d, peak RSS %d kB", ok, peak)
	}
}

// childResult reads the child's RESULT line.
func childResult(out string) (peak, ok, busy int) {
	for _, line := range strings.Split(out, "\n") {
		if rest, found := strings.CutPrefix(strings.TrimSpace(line), "RESULT "); found {
			fmt.Sscanf(rest, "peak_kb=%d ok=%d busy=%d", &peak, &ok, &busy)
		}
	}
	return peak, ok, busy
}
