package web_test

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"aperture/store"
)

// TestBrowserLocationPicker: a place is chosen as on Instagram — from
// places others used (nearest the photo first), the photo's own location
// in one tap, or a point picked on the map — and never typed as numbers.
func TestBrowserLocationPicker(t *testing.T) {
	ts, base := site(t)
	ana := browsers(t, base, 1)[0]
	other, _ := ts.signup("other")
	ts.shareAt(other, "coffee", "Café Lua", 38.7300, -9.1400)   // 1.5 km from where the photo was taken
	ts.shareAt(other, "tower", "Belém Tower", 38.6916, -9.2160) // 7 km
	ts.shareAt(other, "coffee", "Café Paris", 48.8566, 2.3522)  // 1,450 km
	ts.drain()
	ana.signup("ana")
	dir := t.TempDir()
	withGPS, without := filepath.Join(dir, "gps.jpg"), filepath.Join(dir, "plain.jpg")
	os.WriteFile(withGPS, photo(t, true), 0o644) // taken at 38.7167, -9.14
	os.WriteFile(without, photo(t, false), 0o644)
	toDetails := func(file string) {
		ana.visit("/new")
		if ana.is(`[...document.querySelectorAll('input')].some(i => /^(lat|lon)/.test(i.name) && i.type !== 'hidden')`) {
			t.Fatal("the new-post form asks for coordinates")
		}
		ana.do(chromedp.SetUploadFiles(chromedp.CSS(`[data-files]`), []string{file}))
		ana.waitFor(q(`[data-step=crop].on`))
		ana.do(chromedp.Click(chromedp.CSS(`[data-next]`)))
		ana.waitFor(q(`[data-step=filter].on`))
		ana.do(chromedp.Click(chromedp.CSS(`[data-next]`)))
		ana.waitFor(q(`[data-step=details].on`))
	}
	share := func() *store.Post {
		t.Helper()
		ana.do(chromedp.Click(chromedp.CSS(`[data-share]`)))
		ana.waitFor(`/\/p\/\d+$/.test(location.pathname)`)
		id, err := store.ParseID(strings.TrimPrefix(ana.location(), base+"/p/"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := ts.st.ViewPost(0, id)
		if err != nil || p.Location == nil {
			t.Fatalf("the shared post: %+v %v", p, err)
		}
		return p
	}
	refused := func(want string) {
		t.Helper()
		ana.do(chromedp.Click(chromedp.CSS(`[data-share]`)))
		ana.waitFor(`!document.querySelector('[data-error]').hidden`)
		if got := ana.text(`[data-error]`); got != want {
			t.Fatalf("sharing says %q, want %q", got, want)
		}
		if !strings.HasSuffix(ana.location(), "/new") {
			t.Fatalf("a refused share left the form for %s", ana.location())
		}
	}
	texts := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ana.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+sel+`')].map(e => e.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(s, " | ")
	}

	// The photo knows where it was taken: one tap offers it, then the
	// places around it, nearest first (Paris is not around).
	toDetails(withGPS)
	ana.waitFor(`document.querySelectorAll('[data-place-chips] button').length === 3`)
	if got := texts(`[data-place-chips] button`); !regexp.MustCompile(`^Where this photo was taken \| Café Lua · 1\.5 km \| Belém Tower · 7\.\d km$`).MatchString(got) {
		t.Fatalf("the suggestions read %q", got)
	}
	// A search lists name matches nearest first, with their distance.
	ana.do(chromedp.SendKeys(chromedp.CSS(`[data-place-search]`), "caf"))
	ana.waitFor(`document.querySelectorAll('[data-place-results] a').length === 2`)
	if got := texts(`[data-place-results] a > span:last-child`); !regexp.MustCompile(`^Café Lua1\.5 km · 1 post \| Café Paris1,4\d\d km · 1 post$`).MatchString(got) {
		t.Fatalf("the search for caf lists %q", got)
	}
	// A name typed but not chosen is not a place.
	ana.do(chromedp.KeyEvent(kb.Escape))
	ana.waitFor(`document.querySelector('[data-place-results]').hidden`)
	refused("Choose the place from the list, use where the photo was taken, or pick a point on the map.")
	ana.do(chromedp.SendKeys(chromedp.CSS(`[data-place-search]`), "é"))
	ana.waitFor(`document.querySelectorAll('[data-place-results] a').length === 2`)
	ana.do(chromedp.Click(chromedp.CSS(`[data-place-results] a:first-child`)))
	ana.waitFor(`!document.querySelector('[data-chosen]').hidden`)
	if got := ana.text(`[data-chosen-text]`); got != "Café Lua" {
		t.Fatalf("the chosen place reads %q", got)
	}
	// Removing it empties the field; the photo's own location takes one
	// tap and a name.
	ana.do(chromedp.Click(chromedp.CSS(`[data-unchoose]`)))
	ana.waitFor(`document.querySelector('[data-chosen]').hidden && document.querySelector('[data-place-search]').value === ''`)
	ana.do(chromedp.Click(chromedp.CSS(`[data-place-chips] button.gps`)))
	ana.waitFor(`document.querySelector('[data-chosen-text]').textContent === 'Where this photo was taken: give it a name'`)
	refused("Give the place a name.")
	ana.do(chromedp.SendKeys(chromedp.CSS(`[data-place-search]`), "Miradouro"))
	ana.waitFor(`document.querySelector('[data-chosen-text]').textContent === 'Miradouro · where this photo was taken'`)
	p := share()
	if l := p.Location; l.Name != "Miradouro" || math.Abs(l.Lat-38.71667) > 1e-4 || math.Abs(l.Lon+9.14) > 1e-4 {
		t.Fatalf("the post is at %+v, want Miradouro where the photo was taken", l)
	}

	// A photo that does not say: a search is by name alone, and a point
	// is picked on the map under its pin.
	toDetails(without)
	if ana.is(`!document.querySelector('[data-place-chips]').hidden`) {
		t.Fatalf("suggestions without a location to suggest from: %q", texts(`[data-place-chips] button`))
	}
	ana.do(chromedp.Click(chromedp.CSS(`[data-pick-open]`)))
	ana.waitFor(q(`[data-picker]:not([hidden]) svg .mappin`))
	center := func() []float64 {
		c, err := chromedp.Run(ana.ctx, chromedp.Evaluate[[]float64](`(s => [Number(s.dataset.lat), Number(s.dataset.lon), Number(s.dataset.z)])(document.querySelector('[data-picker] svg'))`))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	start := center()
	ana.do(chromedp.Click(chromedp.CSS(`[data-picker] .mapctl a[data-zoom="1"]`)))
	ana.waitFor(`document.querySelector('[data-picker] svg').dataset.z === '` + ftoa(start[2]+1) + `'`)
	// A tap east of the pin centres the map there.
	box, err := chromedp.Run(ana.ctx, chromedp.Evaluate[[]float64](`(r => [r.left + r.width / 2, r.top + r.height / 2])(document.querySelector('[data-picker] svg').getBoundingClientRect())`))
	if err != nil {
		t.Fatal(err)
	}
	ana.do(chromedp.MouseClickXY(box[0]+120, box[1]))
	ana.waitFor(`Number(document.querySelector('[data-picker] svg').dataset.lon) > ` + ftoa(start[1]+1))
	if ana.location() != base+"/new" {
		t.Fatalf("a tap on the picker's map went to %s", ana.location())
	}
	at := center()
	ana.do(chromedp.Click(chromedp.CSS(`[data-pick-use]`)))
	ana.waitFor(`document.querySelector('[data-picker]').hidden && document.querySelector('[data-chosen-text]').textContent === 'The point picked on the map: give it a name'`)
	ana.do(chromedp.SendKeys(chromedp.CSS(`[data-place-search]`), "Somewhere east"))
	p = share()
	if l := p.Location; l.Name != "Somewhere east" || math.Abs(l.Lat-at[0]) > 1e-4 || math.Abs(l.Lon-at[1]) > 1e-4 {
		t.Fatalf("the post is at %+v, want the picked point %v", l, at)
	}
	calm(t, []*browser{ana})
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
