package web_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"aperture/transfer/transfertest"
	"aperture/web"
)

// uploadArchive sends an archive in chunks of n bytes and finishes it.
func (ts *testServer) uploadArchive(token string, archive []byte, n int) resp {
	ts.t.Helper()
	var up web.UploadView
	r := ts.do("POST", "/api/v1/me/imports/uploads", token, map[string]any{"size": len(archive)})
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &up) != nil {
		ts.t.Fatalf("starting an upload: %d %s", r.status, r.body)
	}
	for off := 0; off < len(archive); off += n {
		end := min(off+n, len(archive))
		req := httptest.NewRequest("PUT", fmt.Sprintf("/api/v1/me/imports/uploads/%s?offset=%d", up.ID, off), bytes.NewReader(archive[off:end]))
		req.Header.Set("Content-Type", "application/octet-stream")
		if r := ts.send(req, token); r.status != 200 {
			ts.t.Fatalf("chunk at %d: %d %s", off, r.status, r.body)
		}
	}
	return ts.do("POST", "/api/v1/me/imports/uploads/"+up.ID+"/finish", token, nil)
}

// TestImportOverHTTP: an archive sent in chunks is imported in the
// background, its posts in the account's past and in no follower's feed;
// sending it again makes nothing twice.
func TestImportOverHTTP(t *testing.T) {
	ts := newServer(t, web.Config{})
	ana, _ := ts.signup("ana")
	ben, _ := ts.signup("ben")
	ts.do("POST", "/api/v1/users/ana/follow", ben, nil)
	admin := ts.admin("chief")
	archive := transfertest.Instagram(transfertest.Options{Posts: 2, Photos: 1, Size: 60, Following: []string{"ben"}})

	r := ts.uploadArchive(ana, archive, 1000)
	var run web.ImportView
	json.Unmarshal(r.body, &run)
	if r.status != http.StatusAccepted || run.Source != "instagram" || run.State != "queued" {
		t.Fatalf("finishing the upload: %d %s", r.status, r.body)
	}
	var list struct{ Items []web.ImportView }
	deadline := time.Now().Add(20 * time.Second)
	for {
		decode(t, ts.do("GET", "/api/v1/me/imports", ana, nil), &list)
		if len(list.Items) == 1 && list.Items[0].State == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import did not finish: %+v", list.Items)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := list.Items[0]
	if got.Total != 2 || got.Posts != 2 || got.Photos != 2 || strings.Join(got.Suggested, ",") != "ben" {
		t.Fatalf("the finished import: %+v", got)
	}
	ts.drain()
	var grid struct{ Items []web.PostView }
	decode(t, ts.do("GET", "/api/v1/users/ana/posts", ana, nil), &grid)
	if len(grid.Items) != 2 || grid.Items[0].Caption != "Día 2 #sunset" || grid.Items[1].Location == nil ||
		!grid.Items[1].CreatedAt.Equal(transfertest.First) {
		t.Fatalf("ana's grid: %+v", grid.Items)
	}
	var feed struct{ Items []web.PostView }
	decode(t, ts.do("GET", "/api/v1/feed", ben, nil), &feed)
	if len(feed.Items) != 0 {
		t.Fatalf("ben's feed shows ana's past as news: %d posts", len(feed.Items))
	}
	if r := ts.do("GET", "/api/v1/admin/imports", admin, nil); r.status != 200 {
		t.Fatalf("the admin's list: %d", r.status)
	}

	// Again: nothing twice.
	if r := ts.uploadArchive(ana, archive, 1<<20); r.status != http.StatusAccepted {
		t.Fatalf("the second upload: %d %s", r.status, r.body)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		decode(t, ts.do("GET", "/api/v1/me/imports", ana, nil), &list)
		if list.Items[0].State == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second import did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if list.Items[0].Posts != 0 || list.Items[0].Skipped["posts imported before"] != 2 {
		t.Fatalf("the second import: %+v", list.Items[0])
	}
}

// TestImportUploadsRefused: uploads out of order, over their size, of
// another account or of something that is not an archive are refused in
// words, and nothing is imported.
func TestImportUploadsRefused(t *testing.T) {
	ts := newServer(t, web.Config{})
	ana, _ := ts.signup("ana")
	ben, _ := ts.signup("ben")
	var up web.UploadView
	json.Unmarshal(ts.do("POST", "/api/v1/me/imports/uploads", ana, map[string]any{"size": 100}).body, &up)
	chunk := func(token, id string, off int, b []byte) resp {
		req := httptest.NewRequest("PUT", fmt.Sprintf("/api/v1/me/imports/uploads/%s?offset=%d", id, off), bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/octet-stream")
		return ts.send(req, token)
	}
	wantProblem(t, chunk(ana, up.ID, 10, make([]byte, 10)), http.StatusConflict)
	wantProblem(t, chunk(ana, up.ID, 0, make([]byte, 101)), http.StatusRequestEntityTooLarge)
	wantProblem(t, chunk(ben, up.ID, 0, make([]byte, 10)), http.StatusNotFound)
	wantProblem(t, chunk(ana, "../../etc/passwd", 0, make([]byte, 10)), http.StatusNotFound)
	wantProblem(t, ts.do("POST", "/api/v1/me/imports/uploads/"+up.ID+"/finish", ana, nil), http.StatusConflict)
	if r := chunk(ana, up.ID, 0, bytes.Repeat([]byte("x"), 100)); r.status != 200 {
		t.Fatalf("a whole chunk: %d %s", r.status, r.body)
	}
	m := wantProblem(t, ts.do("POST", "/api/v1/me/imports/uploads/"+up.ID+"/finish", ana, nil), http.StatusUnprocessableEntity)
	if !strings.Contains(m["detail"].(string), "not a complete ZIP") {
		t.Fatalf("a file that is not a ZIP: %s", m["detail"])
	}
	wantProblem(t, ts.do("POST", "/api/v1/me/imports/uploads", ana, map[string]any{"size": int64(17) << 30}), http.StatusRequestEntityTooLarge)
	// Two half-sent archives at most: the disk is not anyone's to fill.
	for i, want := range []int{http.StatusCreated, http.StatusCreated, http.StatusConflict} {
		if r := ts.do("POST", "/api/v1/me/imports/uploads", ben, map[string]any{"size": 1000}); r.status != want {
			t.Fatalf("ben's upload %d: %d, want %d", i+1, r.status, want)
		}
	}

	// Hostile archives: refused in words, nothing written outside the
	// imports folder, the server still up.
	hostile := func(name string, data []byte) []byte {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		fw, _ := w.Create("your_instagram_activity/content/posts_1.json")
		fw.Write([]byte("[]"))
		fw, _ = w.Create(name)
		fw.Write(data)
		w.Close()
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name    string
		archive []byte
		want    string
	}{
		{"zip slip", hostile("../../../../tmp/aperture-zip-slip.txt", []byte("owned")), "points outside it"},
		{"zip bomb", hostile("media/posts/202001/bomb.jpg", make([]byte, 50<<20)), "ZIP bomb"},
		{"truncated", transfertest.Instagram(transfertest.Options{Posts: 2, Photos: 1, Size: 60})[:300], "not a complete ZIP"},
	} {
		m := wantProblem(t, ts.uploadArchive(ana, tc.archive, 1<<20), http.StatusUnprocessableEntity)
		if !strings.Contains(m["detail"].(string), tc.want) {
			t.Errorf("%s: %q", tc.name, m["detail"])
		}
	}
	if _, err := os.Stat("/tmp/aperture-zip-slip.txt"); !os.IsNotExist(err) {
		t.Fatal("the zip slip wrote outside the imports folder")
	}
	if r := ts.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("after hostile archives /healthz answers %d", r.status)
	}
	var list struct{ Items []web.ImportView }
	decode(t, ts.do("GET", "/api/v1/me/imports", ana, nil), &list)
	if len(list.Items) != 0 {
		t.Fatalf("refused uploads started imports: %+v", list.Items)
	}
}
