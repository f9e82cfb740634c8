package transfer

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"aperture/media"
	"aperture/store"
)

// The import and export of an account at the size of a real one: an
// Instagram download of 12 MP photos, one post each, imported through the
// media pipeline as the server and `aperture import` do (Step 10, default
// media limits, fsync on), then exported. docs/BENCHMARKS.md has the
// figures and the command:
//
//	APERTURE_BENCH_IMPORT_PHOTOS=200 go test ./transfer -run '^$' -bench 'Import|Export' -benchtime 1x -count 3 -timeout 60m
//
// The number of photos is APERTURE_BENCH_IMPORT_PHOTOS (40 when unset, so
// that an ordinary `-bench .` stays short).

const (
	benchWidth, benchHeight = 4000, 3000 // 12 MP
	benchDistinct           = 8          // photos generated; the rest reuse their pixels
)

func benchPhotos(b *testing.B) int {
	s := os.Getenv("APERTURE_BENCH_IMPORT_PHOTOS")
	if s == "" {
		return 40
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("APERTURE_BENCH_IMPORT_PHOTOS=%q: want a number of photos", s)
	}
	return n
}

// writeBenchArchive streams to path an Instagram download in today's
// layout (your_instagram_activity/content/posts_1.json, photos under
// media/posts/YYYYMM/) of n single-photo posts, a day apart, with
// captions and, on every fourth, the position Instagram lists in the
// post's exif_data. The photos are camera-like (cameraLike) and stored, not compressed, as JPEGs are in
// Instagram's ZIPs. Only benchDistinct photos are generated; every entry
// gets its own comment segment (distinct), so each photo's bytes, and so
// the pipeline's content hash, differ and none is skipped as processed
// before, while decoding it is the same work. Instagram strips EXIF from
// the photos of a download, so these have none. It returns the
// archive's size in bytes.
func writeBenchArchive(b *testing.B, path string, n int) int64 {
	b.Helper()
	photos := make([][]byte, benchDistinct)
	var wg sync.WaitGroup
	for i := range photos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			photos[i] = cameraLike(b, media.Synthetic(benchWidth, benchHeight, int64(1000+i)), uint32(2463534242+i))
		}()
		if (i+1)%runtime.GOMAXPROCS(0) == 0 {
			wg.Wait()
		}
	}
	wg.Wait()

	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	type exif struct {
		Lat float64 `json:"latitude"`
		Lon float64 `json:"longitude"`
	}
	type item struct {
		URI     string `json:"uri"`
		Created int64  `json:"creation_timestamp"`
		Meta    any    `json:"media_metadata,omitempty"`
	}
	type post struct {
		Media   []item `json:"media"`
		Title   string `json:"title"`
		Created int64  `json:"creation_timestamp"`
	}
	first := time.Date(2016, 3, 1, 18, 30, 0, 0, time.UTC)
	posts := make([]post, 0, n)
	for i := range n {
		at := first.Add(time.Duration(i) * 24 * time.Hour)
		uri := fmt.Sprintf("media/posts/%s/%d.jpg", at.Format("200601"), i+1)
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: uri, Method: zip.Store, Modified: at})
		if err != nil {
			b.Fatal(err)
		}
		if err := distinct(fw, photos[i%len(photos)], i); err != nil {
			b.Fatal(err)
		}
		it := item{URI: uri, Created: at.Unix()}
		if i%4 == 0 {
			it.Meta = map[string]any{"photo_metadata": map[string]any{"exif_data": []exif{{38.7139 + float64(i%50)/1000, -9.1334}}}}
		}
		posts = append(posts, post{Media: []item{it}, Title: fmt.Sprintf("Day %d by the river #sunset #lisboa", i+1), Created: at.Unix()})
	}
	fw, err := zw.Create("your_instagram_activity/content/posts_1.json")
	if err != nil {
		b.Fatal(err)
	}
	if err := json.NewEncoder(fw).Encode(posts); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// cameraLike adds a camera sensor's noise to a synthetic photo and
// encodes it at quality 90, as the media benchmarks' 12 MP photo is: a
// 12 MP phone JPEG is 3-5 MB, and the decode's cost grows with it
// (media.Synthetic's own photo is 1.7 MB at this size).
func cameraLike(b *testing.B, jpg []byte, seed uint32) []byte {
	src, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		b.Fatal(err)
	}
	img := image.NewRGBA(src.Bounds())
	draw.Draw(img, img.Rect, src, src.Bounds().Min, draw.Src)
	for i := range img.Pix {
		if i%4 == 3 {
			continue
		}
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		img.Pix[i] = uint8(max(0, min(255, int(img.Pix[i])+int(seed%25)-12)))
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

// distinct writes a JPEG with a comment segment naming i right after its
// start-of-image marker.
func distinct(w io.Writer, jpg []byte, i int) error {
	com := fmt.Appendf(nil, "bench photo %08d", i)
	head := []byte{0xFF, 0xD8, 0xFF, 0xFE, byte((len(com) + 2) >> 8), byte(len(com) + 2)}
	for _, part := range [][]byte{head, com, jpg[2:]} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// benchAccount is one data directory (store, photo files, imports folder)
// with one account in it.
type benchAccount struct {
	dir   string
	st    *store.Store
	blobs media.FileBlobs
	media *media.Processor
	user  store.ID
	// info holds each photo's info.json as the import left it, before any
	// export rendered its full copy.
	info map[string][]byte
}

func newBenchAccount(b *testing.B) *benchAccount {
	dir, err := os.MkdirTemp("", "aperture-bench-transfer-")
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "db"), store.Options{})
	if err != nil {
		os.RemoveAll(dir)
		b.Fatal(err)
	}
	a := &benchAccount{dir: dir, st: st, blobs: media.FileBlobs{Dir: filepath.Join(dir, "media")}}
	a.media = media.New(media.Config{Wait: time.Hour}, a.blobs)
	u, err := store.Exec(context.Background(), st, store.CreateUser{Meta: store.At(time.Now()), Username: "ana", PasswordHash: "h"})
	if err != nil {
		a.remove()
		b.Fatal(err)
	}
	a.user = u.ID
	return a
}

func (a *benchAccount) remove() {
	a.st.Close()
	os.RemoveAll(a.dir)
}

// start puts the archive in the imports folder (a link: the import
// removes its file when it ends) and starts its run.
func (a *benchAccount) start(b *testing.B, archive string) (*Importer, *store.ImportRun) {
	imports := filepath.Join(a.dir, "imports")
	if err := os.MkdirAll(imports, 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.Link(archive, filepath.Join(imports, "instagram.zip")); err != nil {
		b.Fatal(err)
	}
	run, err := store.Exec(context.Background(), a.st, store.StartImport{Meta: store.At(time.Now()), UserID: a.user, Source: store.SourceInstagram, File: "instagram.zip"})
	if err != nil {
		b.Fatal(err)
	}
	return &Importer{Store: a.st, Media: a.media, Dir: imports, Step: 10}, run
}

// remember keeps every photo's info.json as it is now.
func (a *benchAccount) remember(b *testing.B) {
	a.info = map[string][]byte{}
	for page := (store.Page{Limit: 100}); ; {
		pp, err := a.st.UserPosts(a.user, a.user, page)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range pp.Posts {
			for _, id := range p.MediaIDs {
				m, err := a.st.Media(id)
				if err != nil {
					b.Fatal(err)
				}
				if a.info[m.Hash], err = a.blobs.Get(m.Hash, "info.json"); err != nil {
					b.Fatal(err)
				}
			}
		}
		if pp.Next == 0 {
			return
		}
		page.Before = pp.Next
	}
}

// forgetFull puts back the info.json of every photo as the import left
// it, so the next export renders the full copies again.
func (a *benchAccount) forgetFull(b *testing.B) {
	for hash, info := range a.info {
		if err := a.blobs.Put(hash, "info.json", info); err != nil {
			b.Fatal(err)
		}
	}
}

// benchImported is the account the last import benchmark made, which the
// export benchmark exports; TestMain removes it.
var benchImported struct {
	acc    *benchAccount
	photos int
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchImported.acc != nil {
		benchImported.acc.remove()
	}
	os.Exit(code)
}

// procStatus returns a field of /proc/self/status in kB (VmRSS, VmHWM),
// or 0 where there is none.
func procStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb
		}
	}
	return 0
}

// resetPeakRSS returns the heap to the system and resets the process's
// peak RSS (VmHWM) to its RSS now, which it returns in kB. Where the
// reset is not possible (not Linux, or Linux before 4.0) it returns 0 and
// VmHWM stays the peak since the process started.
func resetPeakRSS(b *testing.B) float64 {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("VmHWM cannot be reset (%v): peakRSS_MB is the peak since the process started, archive generation included", err)
		return 0
	}
	return procStatus("VmRSS")
}

// reportRSS reports the peak RSS since resetPeakRSS returned base, and
// how far it rose above base.
func reportRSS(b *testing.B, base float64) {
	peak := procStatus("VmHWM")
	if peak == 0 {
		return
	}
	b.ReportMetric(peak/1024, "peakRSS_MB")
	if base > 0 {
		b.ReportMetric((peak-base)/1024, "RSSgrowth_MB")
	}
}

// BenchmarkImportInstagram imports an Instagram download of
// APERTURE_BENCH_IMPORT_PHOTOS 12 MP photos; one op is the whole archive,
// into a fresh account in a fresh data directory (no post and no photo
// file is there already, so nothing is skipped). It reports photos/s and
// the process's memory during the imports:
//
//   - peakRSS_MB is VmHWM, reset to the RSS of the moment after the archive
//     was written and the heap returned to the system (resetPeakRSS): the
//     peak of the whole process during the imports, the test binary and
//     what the runtime kept included, the archive's generation not;
//   - RSSgrowth_MB is that peak less the RSS at the reset: what the
//     imports added.
//
// Where VmHWM cannot be reset, peakRSS_MB includes the generation (eight
// 12 MP pictures drawn at once on each core) and is an upper bound.
func BenchmarkImportInstagram(b *testing.B) {
	n := benchPhotos(b)
	archive := filepath.Join(b.TempDir(), "instagram.zip")
	size := writeBenchArchive(b, archive, n)
	var rssSteps []float64 // RSS after each step of the last import, kB
	base := resetPeakRSS(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		acc := newBenchAccount(b)
		im, run := acc.start(b, archive)
		rssSteps = rssSteps[:0]
		b.StartTimer()
		run, err := im.Run(context.Background(), run, func(*store.ImportRun) { rssSteps = append(rssSteps, procStatus("VmRSS")) })
		b.StopTimer()
		if err != nil || run.State != store.ImportDone || run.Photos != n || run.Posts != n {
			acc.remove()
			b.Fatalf("the import: %v, %+v", err, run)
		}
		acc.remember(b)
		if benchImported.acc != nil {
			benchImported.acc.remove()
		}
		benchImported.acc, benchImported.photos = acc, n
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "photos/s")
	b.ReportMetric(float64(size)/1e6, "archive_MB")
	reportRSS(b, base)
	if len(rssSteps) > 1 {
		lo, hi := rssSteps[0], rssSteps[0]
		for _, r := range rssSteps {
			lo, hi = min(lo, r), max(hi, r)
		}
		b.Logf("%d photos (%.0f MB archive): RSS after the first of %d steps %.0f MB, after the last %.0f MB (lowest %.0f, highest %.0f); at the reset %.0f MB",
			n, float64(size)/1e6, len(rssSteps), rssSteps[0]/1024, rssSteps[len(rssSteps)-1]/1024, lo/1024, hi/1024, base/1024)
	}
}

// BenchmarkExport writes the export of the account the import benchmark
// made (or of one it imports first, untimed, when it runs alone) to a
// file; one op is the whole export.
//
//   - fresh: the account as the import left it. Imported JPEGs, like
//     uploaded ones, have their full copy rendered on first request, so
//     this export decodes and encodes every photo at full size: what the
//     first export after an import costs.
//   - rendered: the full copies exist already (the owner downloaded them,
//     or exported before); the export reads and stores them.
//
// Each reports seconds per export, the export's size in MB, photos/s and
// the peak RSS during the exports.
func BenchmarkExport(b *testing.B) {
	n := benchPhotos(b)
	if benchImported.acc == nil || benchImported.photos != n {
		archive := filepath.Join(b.TempDir(), "instagram.zip")
		writeBenchArchive(b, archive, n)
		acc := newBenchAccount(b)
		im, run := acc.start(b, archive)
		if run, err := im.Run(context.Background(), run, nil); err != nil || run.Photos != n {
			acc.remove()
			b.Fatalf("the import: %v, %+v", err, run)
		}
		acc.remember(b)
		if benchImported.acc != nil {
			benchImported.acc.remove()
		}
		benchImported.acc, benchImported.photos = acc, n
	}
	acc := benchImported.acc
	ex := &Exporter{Store: acc.st, Media: acc.media, Dir: filepath.Join(acc.dir, "exports"), Instance: "https://photos.example"}
	export := func(b *testing.B, path string) {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		err = ex.Write(context.Background(), acc.user, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name  string
		fresh bool
	}{{"fresh", true}, {"rendered", false}} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "export.zip")
			if !c.fresh {
				export(b, path) // renders what is not rendered yet
			}
			base := resetPeakRSS(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if c.fresh {
					acc.forgetFull(b)
				}
				os.Remove(path)
				b.StartTimer()
				export(b, path)
			}
			b.StopTimer()
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			zr, err := zip.OpenReader(path)
			if err != nil {
				b.Fatal(err)
			}
			photos := 0
			for _, f := range zr.File {
				if strings.HasPrefix(f.Name, "photos/") {
					photos++
				}
			}
			zr.Close()
			if photos != n {
				b.Fatalf("the export holds %d photos, want %d", photos, n)
			}
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(per, "s/export")
			b.ReportMetric(float64(st.Size())/1e6, "MB")
			b.ReportMetric(float64(n)/per, "photos/s")
			reportRSS(b, base)
		})
	}
}
