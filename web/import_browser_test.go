package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"aperture/transfer/transfertest"
)

// TestBrowserImportFromInstagram: settings → upload a download → the
// progress, then the summary with the people followed before, who can be
// followed from there; the posts are in the profile grid.
func TestBrowserImportFromInstagram(t *testing.T) {
	ts, base := site(t)
	ana := browsers(t, base, 1)[0]
	ts.signup("ben")
	ana.signup("ana")
	file := filepath.Join(t.TempDir(), "instagram-ana.zip")
	if err := os.WriteFile(file, transfertest.Instagram(transfertest.Options{Posts: 2, Photos: 2, Size: 60, Following: []string{"ben"}}), 0o644); err != nil {
		t.Fatal(err)
	}
	ana.visit("/settings")
	ana.do(chromedp.SetUploadFiles(chromedp.CSS(`[data-import-file]`), []string{file}),
		chromedp.Click(chromedp.CSS(`[data-import-start]`)))
	ana.waitFor(`!!document.querySelector('[data-run]')`) // the page reloads with the run
	deadline := 0
	for !ana.within(`document.querySelector('[data-run]')?.dataset.state === 'done'`) {
		if deadline++; deadline > 3 {
			t.Fatalf("the import did not finish: %q", ana.text(`[data-run]`))
		}
	}
	if got := ana.text(`[data-run]`); !strings.Contains(got, "Imported 2 posts with 4 photos from instagram") {
		t.Fatalf("the summary reads %q", got)
	}
	ana.do(chromedp.Click(chromedp.CSS(`[data-run] form[action="/u/ben/follow"] button`)))
	ana.waitFor(`document.querySelector('[data-run] form[data-follow] button').textContent.trim() === 'Following'`)
	ana.visit("/u/ana")
	if n := ana.count(`.grid a.tile`); n != 2 {
		t.Fatalf("the grid shows %d posts, want 2", n)
	}
	calm(t, []*browser{ana})
}
