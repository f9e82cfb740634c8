package media_test

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
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

// rssChild processes APERTURE_RSS_UPLOADS uploads at once, the files of
// the comma-separated paths in turn, and prints its peak RSS.
func rssChild(t *testing.T, paths string) {
	var files [][]byte
	for _, path := range strings.Split(paths, ",") {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
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
		body := append([]byte(nil), files[i%len(files)]...) // each upload has its own body
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

// bigPNG writes (once per test binary run) a w×h 8-bit RGB PNG of large,
// smooth, low-entropy bands — a few hundred kilobytes that decode to
// w×h×4 bytes — and returns its path.
func bigPNG(tb testing.TB, w, h, seed int) string {
	tb.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("aperture-%dx%d-%d-v2.png", w, h, seed))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(b, typ...)
		b = append(b, data...)
		buf.Write(binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:])))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, 8, 2, 0, 0, 0))
	var idat bytes.Buffer
	z, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := make([]byte, 1+3*w)
	for y := range h {
		for x := range w {
			band := (x/500 + y/700 + seed) % 7
			row[1+3*x], row[2+3*x], row[3+3*x] = uint8(40*band), uint8(255-30*band), uint8(90+20*band)
		}
		z.Write(row)
	}
	z.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestRSSTwoLargeSparsePNGs uploads two 7000×7000 PNGs of a few hundred
// kilobytes each at once — under the 50 MP cap, 196 MB each once decoded
// — in a fresh child process with the default decode budget, and checks
// that each is processed or told to retry, and that the peak RSS stays
// under 700 MB: the default budget (768 MB) lets only one of them (about
// 515 MB) decode at a time.
func TestRSSTwoLargeSparsePNGs(t *testing.T) {
	if testing.Short() {
		t.Skip("two 49 MP decodes in a child process; run without -short")
	}
	a, b := bigPNG(t, 7000, 7000, 0), bigPNG(t, 7000, 7000, 3)
	for _, path := range []string{a, b} {
		if fi, err := os.Stat(path); err != nil || fi.Size() > 300<<10 {
			t.Fatalf("%s: %v, %d bytes", path, err, fi.Size())
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRSSUnderConcurrentUploads$", "-test.v")
	cmd.Env = append(os.Environ(), "APERTURE_RSS_CHILD="+a+","+b, "APERTURE_RSS_UPLOADS=2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	peak, ok, busy := childResult(string(out))
	t.Logf("two 7000×7000 PNG uploads at once: %d processed, %d told to retry, peak RSS %d MB", ok, busy, peak/1024)
	if ok+busy != 2 || ok == 0 {
		t.Fatalf("uploads: %d ok, %d busy\n%s", ok, busy, out)
	}
	if peak == 0 || peak > 700*1024 {
		t.Fatalf("peak RSS %d kB\n%s", peak, out)
	}
}
