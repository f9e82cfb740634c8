package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// widths are a phone's and a laptop's viewport.
var widths = []int64{390, 1280}

// overflow reports, when the page scrolls sideways, how wide it is and the
// widest element that sticks out past the viewport's right edge; "" when
// it fits. Elements inside a box that clips or scrolls on its own do not
// count: they do not widen the page.
const overflow = `(() => {
  const de = document.documentElement, vw = de.clientWidth;
  if (de.scrollWidth <= vw) return "";
  // clipped: a box between el and the page that clips or scrolls holds it
  // in (an absolutely placed element escapes the unplaced boxes around it).
  const clipped = el => {
    let cur = getComputedStyle(el).position;
    for (let p = el.parentElement; p && p !== document.body && p !== de; p = p.parentElement) {
      const cs = getComputedStyle(p);
      if (cur === 'absolute' && cs.position === 'static' && cs.transform === 'none') continue;
      if (cs.overflowX !== 'visible') return true;
      cur = cs.position;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  let worst = null, ww = 0, right = null, rr = 0;
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right <= vw + 0.5 || r.width === 0 || getComputedStyle(el).position === 'fixed' || clipped(el)) continue;
    if (r.width > ww) { worst = el; ww = r.width; }
    if (r.right > rr) { right = el; rr = r.right; }
  }
  let s = 'the page is ' + de.scrollWidth + ' px wide in a ' + vw + ' px viewport';
  if (worst) s += '; widest element sticking out: ' + name(worst) + ' (' + Math.round(ww) + ' px wide)';
  if (right && right !== worst) s += '; reaching furthest: ' + name(right) + ' (to ' + Math.round(rr) + ' px)';
  return s;
})()`

// fits fails the test when the current page scrolls sideways.
func (b *browser) fits(what string, width int64) {
	b.t.Helper()
	b.waitFor(`document.readyState === 'complete'`)
	msg, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](overflow))
	if err != nil {
		b.t.Fatalf("%s at %d px: %v", what, width, err)
	}
	if msg != "" {
		b.t.Errorf("%s at %d px scrolls sideways: %s", what, width, msg)
	}
}

func (b *browser) resize(width int64) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(width, 844))
}

// loginAs signs in through the login form.
func (b *browser) loginAs(name, password string) {
	b.t.Helper()
	b.visit("/login")
	b.do(chromedp.SendKeys(chromedp.CSS(`input[name=username]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)))
	b.waitFor(fmt.Sprintf(`document.body.dataset.me === %q`, name))
}

// TestBrowserNothingScrollsSideways opens every page, and every step of
// sharing a photo, on a phone and on a laptop: none may be wider than the
// window.
func TestBrowserNothingScrollsSideways(t *testing.T) {
	ts, base := site(t)
	bs := browsers(t, base, 2)
	boss, visitor := bs[0], bs[1]
	bossTok := ts.admin("boss")
	ana, _ := ts.signup("ana")
	post := ts.shareAt(ana, "A long evening by the water, #sunset over the river with everyone from the studio and their dogs", "Lisboa, Portugal", 38.72, -9.14)
	ts.do("POST", "/api/v1/posts/"+post.ID.String()+"/comments", bossTok, map[string]string{"text": "What a light! #goldenhour"})
	ts.do("POST", "/api/v1/users/ana/follow", bossTok, nil)
	ts.do("POST", "/api/v1/reports", ana, map[string]any{"username": "boss", "reason": "testing the reports page"})
	ts.srv.SampleNow()
	ts.drain()
	boss.loginAs("boss", "correct horse")

	pages := []string{"/", "/explore", "/tags/sunset", "/map", "/u/ana", "/u/ana/followers", "/u/boss",
		"/p/" + post.ID.String(), "/p/" + post.ID.String() + "/likes", "/accounts/edit", "/settings",
		"/activity", "/requests", "/search?q=sun",
		"/admin", "/admin/users", "/admin/reports", "/admin/reports?all=1", "/admin/jobs", "/admin/settings"}
	file := filepath.Join(t.TempDir(), "beach.jpg")
	if err := os.WriteFile(file, photo(t, true), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, w := range widths {
		boss.resize(w)
		visitor.resize(w)
		for _, p := range pages {
			boss.visit(p)
			boss.fits(p, w)
		}
		for _, p := range []string{"/login", "/signup", "/explore", "/u/ana", "/p/" + post.ID.String()} {
			visitor.visit(p)
			visitor.fits(p+" signed out", w)
		}

		boss.visit("/new")
		boss.fits("/new (choose a photo)", w)
		boss.do(chromedp.SetUploadFiles(chromedp.CSS(`[data-files]`), []string{file}))
		boss.waitFor(q(`[data-step=crop].on`))
		boss.fits("/new (crop)", w)
		boss.do(chromedp.Click(chromedp.CSS(`[data-next]`)))
		boss.waitFor(`document.querySelectorAll('[data-fprev] img').length >= 13`)
		boss.fits("/new (filter)", w)
		boss.do(chromedp.Click(chromedp.CSS(`[data-next]`)))
		boss.waitFor(q(`[data-step=details].on`))
		boss.fits("/new (details)", w)
	}
	calm(t, bs)
}
