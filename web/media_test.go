package web_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"aperture/media"
	"aperture/web"
)

// photo returns a 640×480 JPEG, optionally with an EXIF block carrying
// orientation 6 and a GPS position (Lisbon).
func photo(t testing.TB, exif bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 640, 480))
	for y := range 480 {
		for x := range 640 {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x / 3), uint8(y / 2), 120, 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	b := buf.Bytes()
	if !exif {
		return b
	}
	le := binary.LittleEndian
	tiff := []byte("II*\x00\x08\x00\x00\x00")
	ifd := make([]byte, 2+24+4)
	le.PutUint16(ifd, 2)
	le.PutUint16(ifd[2:], 0x0112)
	le.PutUint16(ifd[4:], 3)
	le.PutUint32(ifd[6:], 1)
	le.PutUint16(ifd[10:], 6)
	le.PutUint16(ifd[14:], 0x8825)
	le.PutUint16(ifd[16:], 4)
	le.PutUint32(ifd[18:], 1)
	le.PutUint32(ifd[22:], uint32(8+len(ifd)))
	tiff = append(tiff, ifd...)
	gps := make([]byte, 2+48+4)
	data := 8 + len(ifd) + len(gps)
	le.PutUint16(gps, 4)
	put := func(i int, tag, typ uint16, count, val uint32) {
		p := gps[2+12*i:]
		le.PutUint16(p, tag)
		le.PutUint16(p[2:], typ)
		le.PutUint32(p[4:], count)
		le.PutUint32(p[8:], val)
	}
	put(0, 1, 2, 2, 'N')
	put(1, 2, 5, 3, uint32(data))
	put(2, 3, 2, 2, 'W')
	put(3, 4, 5, 3, uint32(data+24))
	tiff = append(tiff, gps...)
	for _, v := range []uint32{38, 1, 43, 1, 0, 1, 9, 1, 8, 1, 24, 1} { // 38°43′N 9°8′24″W
		tiff = le.AppendUint32(tiff, v)
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	return append(append(append([]byte{0xFF, 0xD8}, seg...), payload...), b[2:]...)
}

// upload posts a multipart form with the file and fields.
func (ts *testServer) upload(token string, file []byte, fields map[string]string) resp {
	ts.t.Helper()
	return ts.uploadTo("/api/v1/media", token, file, fields)
}

// uploadTo posts a multipart form with the file and fields to path.
func (ts *testServer) uploadTo(path, token string, file []byte, fields map[string]string) resp {
	ts.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if file != nil {
		fw, _ := w.CreateFormFile("file", "photo.bin")
		fw.Write(file)
	}
	for k, v := range fields {
		w.WriteField(k, v)
	}
	w.Close()
	req := httptest.NewRequest("POST", path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return ts.send(req, token)
}

func (ts *testServer) get(url, token string, headers map[string]string) resp {
	ts.t.Helper()
	req := httptest.NewRequest("GET", url, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return ts.send(req, token)
}

func TestUploadAndServe(t *testing.T) {
	ts := newServer(t, web.Config{})
	token, _ := ts.signup("lens")
	r := ts.upload(token, photo(t, true), map[string]string{"filter": "juno", "alt": "A tram on a hill"})
	if r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var m web.MediaView
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	// Orientation 6: the 640×480 stored image is 480×640 upright, then
	// centre-cropped into 4:5 → 480×600.
	if m.Width != 480 || m.Height != 600 || m.Filter != "juno" || m.Alt != "A tram on a hill" || m.Blurhash == "" {
		t.Fatalf("media %+v", m)
	}
	if s := m.LocationSuggestion; s == nil || s.Lat < 38.71 || s.Lat > 38.73 || s.Lon > -9.13 || s.Lon < -9.15 {
		t.Fatalf("location suggestion %+v", s)
	}
	for _, name := range []string{"thumb", "small", "medium", "large"} {
		v, ok := m.Variants[name]
		if !ok || strings.Contains(v.URL, "sig=") {
			t.Fatalf("%s: %+v (public photos have plain URLs)", name, v)
		}
		f := ts.get(v.URL, "", nil)
		if f.status != 200 || f.header.Get("Content-Type") != "image/jpeg" ||
			f.header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			f.header.Get("ETag") == "" || f.header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" ||
			f.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s: %d %v", name, f.status, f.header)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.body))
		if err != nil || cfg.Width != v.Width || cfg.Height != v.Height {
			t.Fatalf("%s: %v %dx%d, want %dx%d", name, err, cfg.Width, cfg.Height, v.Width, v.Height)
		}
		if bytes.Contains(f.body, []byte("Exif")) {
			t.Fatalf("%s carries EXIF", name)
		}
		if nm := ts.get(v.URL, "", map[string]string{"If-None-Match": f.header.Get("ETag")}); nm.status != 304 {
			t.Fatalf("If-None-Match: %d", nm.status)
		}
		if pr := ts.get(v.URL, "", map[string]string{"Range": "bytes=0-99"}); pr.status != 206 || len(pr.body) != 100 ||
			!strings.HasPrefix(pr.header.Get("Content-Range"), "bytes 0-99/") || !bytes.Equal(pr.body, f.body[:100]) {
			t.Fatalf("range: %d %d %v", pr.status, len(pr.body), pr.header)
		}
		if bad := ts.get(v.URL, "", map[string]string{"Range": "bytes=99999999-"}); bad.status != 416 {
			t.Fatalf("unsatisfiable range: %d", bad.status)
		}
	}
	full, ok := m.Variants["full"]
	if !ok || !strings.Contains(full.URL, "sig=") {
		t.Fatalf("full variant %+v", full)
	}
	plain, _, _ := strings.Cut(full.URL, "?")
	if r := ts.get(plain, "", nil); r.status != 404 {
		t.Fatalf("full copy without signature: %d", r.status)
	}
	if r := ts.get(full.URL+"x", "", nil); r.status != 404 {
		t.Fatalf("full copy with a bad signature: %d", r.status)
	}
	f := ts.get(full.URL, "", nil)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.body))
	if f.status != 200 || err != nil || cfg.Width != 480 || cfg.Height != 600 || !strings.HasPrefix(f.header.Get("Cache-Control"), "private") {
		t.Fatalf("full: %d %v %dx%d %v", f.status, err, cfg.Width, cfg.Height, f.header)
	}
	if r := ts.get(plain, token, nil); r.status != 200 {
		t.Fatalf("owner fetching the full copy with a token: %d", r.status)
	}
	for _, bad := range []string{"/media/aa/bb/" + strings.Repeat("a", 64) + "/large.jpg", plain[:len(plain)-8] + "source.jpg", plain[:len(plain)-8] + "info.json"} {
		if r := ts.get(bad, token, nil); r.status != 404 {
			t.Fatalf("%s: %d", bad, r.status)
		}
	}
}

func TestPrivateAccountPhotos(t *testing.T) {
	ts := newServer(t, web.Config{})
	token, _ := ts.signup("hidden")
	ts.do("PATCH", "/api/v1/me", token, map[string]any{"private": true})
	other, _ := ts.signup("stranger")
	r := ts.upload(token, photo(t, false), nil)
	var m web.MediaView
	json.Unmarshal(r.body, &m)
	large := m.Variants["large"].URL
	if !strings.Contains(large, "sig=") {
		t.Fatalf("private photo with a plain URL: %s", large)
	}
	plain, _, _ := strings.Cut(large, "?")
	if r := ts.get(plain, "", nil); r.status != 404 {
		t.Fatalf("anonymous fetch of a private photo: %d", r.status)
	}
	if r := ts.get(plain, other, nil); r.status != 404 {
		t.Fatalf("stranger fetch of a private photo: %d", r.status)
	}
	if r := ts.get(plain, token, nil); r.status != 200 {
		t.Fatalf("owner fetch: %d", r.status)
	}
	if r := ts.get(large, "", nil); r.status != 200 || !strings.HasPrefix(r.header.Get("Cache-Control"), "private") {
		t.Fatalf("signed fetch: %d %v", r.status, r.header)
	}
}

func TestUploadRefusals(t *testing.T) {
	ts := newServer(t, web.Config{})
	token, _ := ts.signup("refused")
	bomb := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
		0xFF, 0xC0, 0x00, 0x11, 8, 0xFF, 0xDC, 0xFF, 0xDC, 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0, 0xFF, 0xD9}
	jpg := photo(t, false)
	cases := []struct {
		name   string
		token  string
		file   []byte
		fields map[string]string
		status int
		field  string
	}{
		{"no token", "", jpg, nil, 401, ""},
		{"no file", token, nil, nil, 422, "file"},
		{"svg", token, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), nil, 415, ""},
		{"pdf", token, []byte("%PDF-1.4 junk"), nil, 415, ""},
		{"bomb", token, bomb, nil, 422, "file"},
		{"truncated", token, jpg[:len(jpg)/2], nil, 422, "file"},
		{"unknown filter", token, jpg, map[string]string{"filter": "sepia-deluxe"}, 422, "filter"},
		{"bad crop", token, jpg, map[string]string{"crop": "0.5,0.5,0.9,0.9"}, 422, "crop"},
		{"long alt", token, jpg, map[string]string{"alt": strings.Repeat("é", 1501)}, 422, "alt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := wantProblem(t, ts.upload(tc.token, tc.file, tc.fields), tc.status)
			if tc.field != "" {
				found := false
				for _, e := range m["errors"].([]any) {
					found = found || e.(map[string]any)["field"] == tc.field
				}
				if !found {
					t.Fatalf("no error on %s: %v", tc.field, m)
				}
			}
		})
	}
	if r := ts.do("GET", "/metrics", "", nil); !strings.Contains(string(r.body), `aperture_media_rejections_total{reason="unsupported"} 2`) {
		t.Fatalf("rejections not counted:\n%s", r.body)
	}
}

func TestUploadTooLarge(t *testing.T) {
	ts := newServerWithMedia(t, media.Config{MaxBytes: 10_000})
	token, _ := ts.signup("heavy")
	m := wantProblem(t, ts.upload(token, photo(t, false), nil), 413)
	if !strings.Contains(m["detail"].(string), "MiB") {
		t.Fatalf("413 without the limit in its sentence: %v", m)
	}
}

// TestUploadOverDecodeBudget: a photo that needs more memory than the
// whole decode budget gets 413 saying how much it needs and what the
// server allows; a file holding only metadata gets 422 "no image data".
func TestUploadOverDecodeBudget(t *testing.T) {
	ts := newServerWithMedia(t, media.Config{DecodeMemory: 8 << 20})
	token, _ := ts.signup("heavy")
	var big bytes.Buffer
	jpeg.Encode(&big, image.NewRGBA(image.Rect(0, 0, 2400, 1800)), nil)
	for _, path := range []string{"/api/v1/media", "/api/v1/media/preview"} {
		d := wantProblem(t, ts.uploadTo(path, token, big.Bytes(), nil), 413)["detail"].(string)
		if !strings.Contains(d, "needs about") || !strings.Contains(d, "up to 8 MB") {
			t.Fatalf("%s: %q", path, d)
		}
	}
	exifOnly := []byte("\xFF\xD8\xFF\xE1\x00\x14Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00\xFF\xD9")
	d := wantProblem(t, ts.upload(token, exifOnly, nil), 422)["detail"].(string)
	if !strings.Contains(d, "holds no image data") {
		t.Fatalf("EXIF only: %q", d)
	}
}

func TestFiltersList(t *testing.T) {
	ts := newServer(t, web.Config{})
	r := ts.do("GET", "/api/v1/filters", "", nil)
	var fs []web.FilterView
	if err := json.Unmarshal(r.body, &fs); err != nil || len(fs) < 13 || fs[0].Name != "normal" {
		t.Fatalf("filters: %d %s", r.status, r.body)
	}
}

func TestUnattachedPhotosSwept(t *testing.T) {
	ts := newServer(t, web.Config{})
	token, _ := ts.signup("sweepme")
	var a, b web.MediaView
	json.Unmarshal(ts.upload(token, photo(t, false), nil).body, &a)
	sweeper := &media.Sweeper{Records: ts.st, Processor: ts.media}
	// A day later the photo is gone, its files too.
	if err := sweeper.Sweep(context.Background(), time.Now().Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.st.Media(a.ID); err == nil {
		t.Fatal("unattached photo kept after 24 h")
	}
	if r := ts.get(a.Variants["large"].URL, "", nil); r.status != 404 {
		t.Fatalf("file of a swept photo: %d", r.status)
	}
	// A fresh upload of the same photo is stored again and kept.
	json.Unmarshal(ts.upload(token, photo(t, false), nil).body, &b)
	if err := sweeper.Sweep(context.Background(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := ts.get(b.Variants["large"].URL, "", nil); r.status != 200 {
		t.Fatalf("fresh upload swept: %d", r.status)
	}
}

func TestPreviewEndpoint(t *testing.T) {
	ts := newServer(t, web.Config{})
	tok, _ := ts.signup("previewer")
	form := func(token string, file []byte) resp {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		fw, _ := w.CreateFormFile("file", "photo.jpg")
		fw.Write(file)
		w.WriteField("crop", "0,0,1,1")
		w.Close()
		req := httptest.NewRequest("POST", "/api/v1/media/preview", &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		return ts.send(req, token)
	}
	r := form(tok, photo(t, true))
	if r.status != 200 {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	var pv web.PreviewView
	if err := json.Unmarshal(r.body, &pv); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pv.Base, "data:image/jpeg;base64,") || pv.Width == 0 || pv.LocationSuggestion == nil {
		t.Fatalf("preview without base or location: %+v", pv.Width)
	}
	if len(pv.Filters) < 13 || pv.Filters[0].Name != "normal" || !strings.HasPrefix(pv.Filters[5].Image, "data:image/jpeg;base64,") {
		t.Fatalf("filters: %d", len(pv.Filters))
	}
	wantProblem(t, form("", photo(t, false)), 401)
	wantProblem(t, form(tok, []byte("not a photo at all")), 415)
}

// TestUploadQuota: over the per-account quota an upload gets 413 with a
// sentence that says how much is used.
func TestUploadQuota(t *testing.T) {
	ts := newServer(t, web.Config{QuotaMB: 1})
	tok, _ := ts.signup("saver")
	var r resp
	for i := range 12 {
		r = ts.upload(tok, noisy(t, 1200, 900, int64(i)), nil)
		if r.status != 201 {
			break
		}
	}
	m := wantProblem(t, r, 413)
	if d := m["detail"].(string); !strings.Contains(d, "of your 1.0 MB") || !strings.Contains(d, "you already use") {
		t.Fatalf("detail: %q", d)
	}
}

// noisy is a photo of random pixels: it compresses badly, so its variants
// are large.
func noisy(t *testing.T, w, h int, seed int64) []byte {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng.Read(img.Pix)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes()
}
