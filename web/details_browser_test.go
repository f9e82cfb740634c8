package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserFinishedDetails: small things a newcomer reads as unfinished,
// on a phone and on a laptop.
func TestBrowserFinishedDetails(t *testing.T) {
	ts, base := site(t)
	bs := browsers(t, base, 2)
	boss, cara := bs[0], bs[1]
	ts.admin("boss")
	ana, _ := ts.signup("ana")
	post := ts.shareAt(ana, "Evening light over the river #sunset", "Lisboa", 38.72, -9.14)
	path := "/p/" + post.ID.String()
	ts.drain()
	boss.loginAs("boss", "correct horse")
	cara.signup("cara")

	for _, w := range widths {
		boss.resize(w)
		boss.visit(path)
		// The post's time shows once (the caption does not repeat it).
		if n := boss.count(`.postpage time`); n != 1 {
			t.Errorf("at %d px the post page shows %d times for a post without comments", w, n)
		}
		// Phones read header, photo, actions; laptops put the header
		// beside the photo.
		if w < 736 {
			if !boss.is(`document.querySelector('.postpage .who').getBoundingClientRect().bottom <= document.querySelector('.postpage .media').getBoundingClientRect().top + 1`) {
				t.Errorf("at %d px the post's author header is not above the photo", w)
			}
		} else if !boss.is(`document.querySelector('.postpage .who').getBoundingClientRect().left >= document.querySelector('.postpage .media').getBoundingClientRect().right - 1`) {
			t.Errorf("at %d px the post's author header is not beside the photo", w)
		} else if !boss.is(`document.querySelector('.postpage .who').getBoundingClientRect().width === document.querySelector('.postside').getBoundingClientRect().width`) {
			t.Errorf("at %d px the comments column is narrower than the header above it", w)
		}
		// Relative times never break across lines.
		if !boss.is(`[...document.querySelectorAll('time')].every(el => getComputedStyle(el).whiteSpace === 'nowrap' && el.getClientRects().length === 1)`) {
			t.Errorf("at %d px a time may wrap", w)
		}
		// Nobody has liked it yet: an invitation, not "0 likes".
		if got := boss.visible(`.postpage .likes`); got != "Be the first to like this" {
			t.Errorf("at %d px a post without likes says %q", w, got)
		}
	}
	boss.do(chromedp.Click(chromedp.CSS(`.postpage form[data-like] button`)))
	boss.waitFor(`document.querySelector('.postpage [data-like-count]').textContent === '1'`)
	if got := boss.visible(`.postpage .likes`); got != "1 like" {
		t.Errorf("after a like the post says %q", got)
	}
	boss.visit(path)
	if got := boss.visible(`.postpage .likes`); got != "1 like" {
		t.Errorf("the page of a post with one like says %q", got)
	}
	boss.do(chromedp.Click(chromedp.CSS(`.postpage form[data-like] button`)))
	boss.waitFor(`document.querySelector('.postpage [data-like-count]').textContent === '0'`)
	if got := boss.visible(`.postpage .likes`); got != "Be the first to like this" {
		t.Errorf("after taking the like back the post says %q", got)
	}

	// On a phone explore's search field shows its whole placeholder.
	boss.resize(390)
	boss.visit("/explore")
	if !boss.is(`(() => {
		const i = document.querySelector('.search.mobile input'), cs = getComputedStyle(i);
		const c = document.createElement('canvas').getContext('2d');
		c.font = cs.fontWeight + ' ' + cs.fontSize + ' ' + cs.fontFamily;
		return i.offsetParent !== null && c.measureText(i.placeholder).width <= i.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
	})()`) {
		t.Error("explore's search placeholder is cut at 390 px")
	}

	// On a phone the admin tabs all show, and an administrator can reach
	// them from the profile.
	boss.resize(390)
	boss.visit("/admin")
	if !boss.is(`[...document.querySelectorAll('.adminnav a')].every(a => { const r = a.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= document.documentElement.clientWidth; })`) {
		t.Error("an admin tab is cut at 390 px")
	}
	boss.visit("/u/boss")
	if !boss.is(`(() => { const a = document.querySelector('main a[href="/admin"]'); return !!a && a.offsetParent !== null; })()`) {
		t.Error("an administrator's profile has no way into admin on a phone")
	}
	cara.resize(390)
	cara.visit("/u/cara")
	if cara.is(`!!document.querySelector('a[href="/admin"]')`) {
		t.Error("a profile offers admin to someone who is not an administrator")
	}
	calm(t, bs)
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// visible returns the text of an element as rendered (hidden parts left out).
func (b *browser) visible(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.innerText.trim().replace(/\s+/g, ' ') ?? ""`, sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}
