package web_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"aperture/web"
)

// TestExportOverHTTP: "Download your data" is made in the background,
// downloads as a ZIP for its owner only, and is not made twice an hour.
func TestExportOverHTTP(t *testing.T) {
	ts := newServer(t, web.Config{})
	v := ts.visitor()
	v.signup("ana")
	ana := ts.login("ana")
	ts.share(ana, "Morning #light")
	ts.drain()

	v.get("/settings")
	if r := v.post("/settings/export", nil, false); r.status != http.StatusSeeOther {
		t.Fatalf("asking for an export: %d %s", r.status, r.body)
	}
	var list struct{ Items []web.ExportView }
	for deadline := time.Now().Add(20 * time.Second); ; {
		json.Unmarshal(ts.do("GET", "/api/v1/me/exports", ana, nil).body, &list)
		if len(list.Items) == 1 && list.Items[0].State == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the export was not made: %+v", list.Items)
		}
		time.Sleep(20 * time.Millisecond)
	}
	url := list.Items[0].DownloadURL
	if page := v.get("/settings"); !strings.Contains(string(page.body), `href="`+url+`"`) {
		t.Fatal("the settings page does not offer the download")
	}
	r := v.get(url)
	if r.status != 200 || r.header.Get("Content-Type") != "application/zip" || !strings.Contains(r.header.Get("Content-Disposition"), "aperture-ana-") {
		t.Fatalf("the download: %d %v", r.status, r.header)
	}
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[strings.SplitN(f.Name, "/", 2)[0]] = true
	}
	if !names["aperture.json"] || !names["index.html"] || !names["photos"] {
		t.Fatalf("the ZIP holds %v", names)
	}
	// Nobody else gets it; not twice an hour.
	other := ts.visitor()
	other.signup("ben")
	if r := other.get(url); r.status != http.StatusNotFound {
		t.Fatalf("another account downloads ana's export: %d", r.status)
	}
	wantProblem(t, ts.do("POST", "/api/v1/me/exports", ana, nil), http.StatusConflict)
}
