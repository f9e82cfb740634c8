package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"aperture/store"
	"aperture/web"
)

// Browser tests drive Debian's Chromium (headless) against the real app
// on a loopback port. Chromium is required: without it they fail, loudly.

func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("CHROMIUM IS NOT INSTALLED: the browser tests need it. Install it (Debian: apt-get install -y chromium; .ci/run does) or point CHROMIUM at the binary.")
	return ""
}

// site serves the app on a loopback port for a browser.
func site(t *testing.T) (*testServer, string) {
	ts := newServer(t, web.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.Serve(ln)
	t.Cleanup(func() { ts.srv.Shutdown(context.Background()) })
	return ts, "http://" + ln.Addr().String()
}

// browser is one person's browser: its own cookies, and a count of the
// JavaScript dialogs that opened (which no page may ever do).
type browser struct {
	t       *testing.T
	ctx     context.Context
	base    string
	dialogs *atomic.Int32
	errors  atomic.Int32 // uncaught script exceptions
}

// browsers starts Chromium and returns n isolated browser contexts.
func browsers(t *testing.T, base string, n int) []*browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var out []*browser
	for range n {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		ctx, stop := context.WithTimeout(ctx, 2*time.Minute)
		t.Cleanup(func() { stop(); cancel() })
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
		b := &browser{t: t, ctx: ctx, base: base, dialogs: &atomic.Int32{}}
		exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
		go func() {
			for ev, err := range exceptions {
				if err != nil {
					return
				}
				b.errors.Add(1)
				d := ev.ExceptionDetails
				desc := d.Text
				if d.Exception != nil {
					desc += " " + d.Exception.Description
				}
				t.Logf("a script failed at %s:%d: %s", d.URL, d.LineNumber+1, desc)
			}
		}()
		dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
		go func() {
			for ev, err := range dialogs {
				if err != nil {
					return
				}
				b.dialogs.Add(1)
				t.Logf("a dialog opened: %s %q", ev.Type, ev.Message)
				chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}
		}()
		out = append(out, b)
	}
	return out
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

func (b *browser) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	return loc
}

func (b *browser) visit(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady("body"))
}

// is evaluates a JavaScript condition on the current page.
func (b *browser) is(js string) bool {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return ok
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// waitFor waits until a condition holds on the page, without reloading.
// within reports whether js holds within 10 s (the page in the address
// bar may still be loading).
func (b *browser) within(js string) bool {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func (b *browser) waitFor(js string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Between pages an evaluation can fail; that is "not yet".
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited 10 s for %s at %s (errors shown: %q)", js, b.location(), b.text("[data-error]:not([hidden])"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eventually reloads path until a condition holds: background jobs (fan-out,
// indexing) finish a moment after the request that wrote them.
func (b *browser) eventually(path, js string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.visit(path)
		if b.is(js) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("after 10 s %s still does not hold at %s", js, path)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browser) signup(name string) {
	b.t.Helper()
	b.visit("/signup")
	b.do(chromedp.SendKeys(chromedp.CSS(`input[name=username]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)))
	b.waitFor(fmt.Sprintf(`document.body.dataset.me === %q`, name))
}

func q(sel string) string { return fmt.Sprintf(`!!document.querySelector(%q)`, sel) }

// TestBrowserCoreLoop is the newcomer's first day, in two browsers.
func TestBrowserCoreLoop(t *testing.T) {
	ts, base := site(t)
	bs := browsers(t, base, 2)
	ana, ben := bs[0], bs[1]
	ben.signup("ben")
	ana.signup("ana")

	// Ana shares a photo: pick → crop → the Moon filter from the strip of
	// server-rendered previews → caption, and the photo's own location
	// named → share.
	file := filepath.Join(t.TempDir(), "beach.jpg")
	if err := os.WriteFile(file, photo(t, true), 0o644); err != nil {
		t.Fatal(err)
	}
	ana.visit("/new")
	ana.do(chromedp.SetUploadFiles(chromedp.CSS(`[data-files]`), []string{file}))
	defer func() {
		if t.Failed() {
			t.Log(ts.log.String())
		}
	}()
	ana.waitFor(q(`[data-step=crop].on`))
	ana.do(chromedp.Click(chromedp.CSS(`input[name=aspect][value=square]`)), chromedp.Click(chromedp.CSS(`[data-next]`)))
	ana.waitFor(`document.querySelectorAll('[data-fprev] img').length >= 13`)
	if !ana.is(`document.querySelector('[data-fprev] img').src.startsWith('data:image/jpeg')`) {
		t.Fatal("the filter strip does not show server-rendered previews")
	}
	ana.do(chromedp.Click(chromedp.CSS(`label.filter:has(input[value=moon])`)), chromedp.Click(chromedp.CSS(`[data-next]`)))
	ana.waitFor(q(`[data-step=details].on`))
	ana.do(chromedp.SendKeys(chromedp.CSS(`textarea[name=caption]`), "#sunset with @ben"),
		chromedp.Click(chromedp.CSS(`[data-place-chips] button.gps`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=place]`), "Lisbon"),
		chromedp.Click(chromedp.CSS(`[data-share]`)))
	ana.waitFor(`/\/p\/\d+$/.test(location.pathname)`)
	postPath := strings.TrimPrefix(ana.location(), base)
	id, err := store.ParseID(strings.TrimPrefix(postPath, "/p/"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ts.st.ViewPost(0, id)
	if err != nil || len(p.MediaIDs) != 1 || p.Location == nil || p.Caption != "#sunset with @ben" {
		t.Fatalf("the shared post: %+v %v", p, err)
	}
	m, err := ts.st.Media(p.MediaIDs[0])
	if err != nil || m.Filter != "moon" || m.Width != m.Height {
		t.Fatalf("the photo: filter %q, %d×%d, %v", m.Filter, m.Width, m.Height, err)
	}
	// The caption's #tag and @mention are links (once the post's page,
	// whose address is already in the bar, has loaded).
	ana.waitFor(`[...document.querySelectorAll('.comments a')].some(a => a.getAttribute('href') === '/tags/sunset') && !!document.querySelector('.comments a[href="/u/ben"]')`)

	// Ben follows Ana and sees her photo in his feed; likes and comments.
	ben.visit("/u/ana")
	ben.do(chromedp.Click(chromedp.CSS(`form[data-follow] button`)))
	ben.waitFor(`document.querySelector('form[data-follow] button').textContent.trim() === 'Following'`)
	ben.eventually("/", q(`#p`+id.String()+` img.photo`))
	ben.waitFor(`document.querySelector('#p` + id.String() + ` img.photo').classList.contains('loaded')`)
	ben.do(chromedp.Click(chromedp.CSS(`#p` + id.String() + ` form[data-like] button`)))
	ben.waitFor(`document.querySelector('#p` + id.String() + ` [data-like-count]').textContent === '1'`)
	if n, _ := ts.st.ViewPost(0, id); n.LikeCount != 1 {
		t.Fatalf("like count %d", n.LikeCount)
	}
	ben.visit(postPath)
	ben.do(chromedp.SendKeys(chromedp.CSS(`#ctext`), "Gorgeous light\n"))
	ben.waitFor(`[...document.querySelectorAll('.comments .comment')].some(li => li.textContent.includes('Gorgeous light'))`)

	// Ana's activity: the unread badge, then both entries.
	ana.eventually("/", `document.querySelector('.icons [data-badge] .badge')?.textContent >= '2'`)
	ana.visit("/activity")
	acts := ana.text(".activity")
	for _, want := range []string{"ben liked your photo", "ben commented on your photo", "ben started following you", "ben"} {
		if !strings.Contains(acts, want) {
			t.Fatalf("activity %q lacks %q", acts, want)
		}
	}
	ana.visit("/")
	if ana.is(q(`.icons [data-badge] .badge`)) {
		t.Fatal("the badge stayed after reading the activity")
	}

	// Ben finds Ana by typeahead, the photo by its tag and on the map.
	ben.visit("/explore")
	ben.do(chromedp.SendKeys(chromedp.CSS(`.top input[data-typeahead]`), "an"))
	ben.waitFor(q(`.top .ta a[href="/u/ana"]`))
	ben.eventually("/tags/sunset", q(`.grid a[href="`+postPath+`"]`))
	ben.eventually("/map?lat=38.72&lon=-9.14&z=12", q(`.mapwrap a[href="`+postPath+`"]`))
	ben.visit("/map")
	if !ben.is(`document.querySelector('.mapwrap path.land').getAttribute('d').length > 1000`) {
		t.Fatal("the map has no land")
	}
	calm(t, bs)
}

// TestBrowserPrivateAccount: a private account's posts appear only once
// its owner approves the request.
func TestBrowserPrivateAccount(t *testing.T) {
	ts, base := site(t)
	bs := browsers(t, base, 2)
	cara, ben := bs[0], bs[1]
	cara.signup("cara")
	ben.signup("ben")
	cara.visit("/accounts/edit")
	cara.do(chromedp.SendKeys(chromedp.CSS(`textarea[name=bio]`), "Only friends"),
		chromedp.Click(chromedp.CSS(`input[name=private]`)),
		chromedp.Submit(chromedp.CSS(`textarea[name=bio]`)))
	cara.waitFor(`location.pathname === '/u/cara'`)
	tok := ts.login("cara")
	post := ts.share(tok, "for friends only")

	ben.visit("/u/cara")
	if !ben.is(q(`.private`)) || ben.is(q(`.grid`)) {
		t.Fatal("a stranger sees more than the private notice")
	}
	ben.visit("/p/" + post.ID.String())
	if ben.is(q(`img.photo`)) {
		t.Fatal("a stranger sees a private post")
	}
	ben.visit("/u/cara")
	ben.do(chromedp.Click(chromedp.CSS(`form[data-follow] button`)))
	ben.waitFor(`document.querySelector('form[data-follow] button').textContent.trim() === 'Requested'`)
	ben.visit("/u/cara")
	if !ben.is(q(`.private`)) {
		t.Fatal("a pending request shows the posts")
	}

	cara.eventually("/activity", `document.body.textContent.includes('Follow requests')`)
	cara.visit("/requests")
	cara.do(chromedp.Click(chromedp.CSS(`form[data-answer][action$="/approve"] button`)))
	cara.waitFor(`document.querySelector('.users').textContent.includes('Approved')`)

	ben.eventually("/u/cara", q(`.grid a[href="/p/`+post.ID.String()+`"]`))
	ben.eventually("/", q(`#p`+post.ID.String()))
	calm(t, bs)
}

// TestBrowserHostileText: markup in captions and comments shows as text
// and runs nothing; a cross-site form without the CSRF token is refused.
func TestBrowserHostileText(t *testing.T) {
	ts, base := site(t)
	bs := browsers(t, base, 2)
	ana, ben := bs[0], bs[1]
	ana.signup("ana")
	ben.signup("ben")
	post := ts.share(ts.login("ana"), `<img src=x onerror=alert(1)> look`)
	path := "/p/" + post.ID.String()

	ben.visit(path)
	ben.do(chromedp.SendKeys(chromedp.CSS(`#ctext`), "<script>alert(1)</script>\n"))
	ben.waitFor(`[...document.querySelectorAll('.comments .comment')].some(li => li.textContent.includes('<script>alert(1)</script>'))`)
	for _, b := range []*browser{ana, ben} {
		b.visit(path) // the server's rendering, not the script's
		if !b.is(`document.querySelector('.comments').textContent.includes('<img src=x onerror=alert(1)>')`) ||
			!b.is(`document.querySelector('.comments').textContent.includes('<script>alert(1)</script>')`) {
			t.Fatal("hostile text is not shown as text")
		}
		if b.is(q(`.comments img[src=x], .comments script`)) {
			t.Fatal("hostile text became markup")
		}
	}
	ana.visit("/") // the feed card too
	time.Sleep(300 * time.Millisecond)

	// A page on another origin posts a form to aperture in Ben's browser:
	// his cookies go along (same site, Lax), but not the token.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form id=f method=post action="%s/u/ana/follow"></form><script>f.submit()</script>`, base)
	}))
	defer evil.Close()
	ben.do(chromedp.Navigate(evil.URL))
	ben.waitFor(`location.href.startsWith(` + fmt.Sprintf("%q", base) + `)`)
	if !ben.within(`document.body.textContent.includes('CSRF token')`) {
		t.Fatalf("the forged form was not refused: %s", ben.text("main"))
	}
	a, _ := ts.st.UserByUsername("ana")
	if a.Counts.Followers != 0 {
		t.Fatal("the forged follow went through")
	}
	// The API refuses a cookie-signed call without the token the same way.
	status, err := chromedp.Run(ben.ctx, chromedp.Evaluate[int](`fetch('/api/v1/users/ana/follow', {method: 'POST'}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != 403 {
		t.Fatalf("API call without CSRF token: %d %v", status, err)
	}
	calm(t, bs)
}

// login signs in through the API (a second session) for setting up data.
func (ts *testServer) login(name string) string {
	ts.t.Helper()
	r := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "correct horse battery"})
	if r.status != 200 {
		ts.t.Fatalf("login %s: %d %s", name, r.status, r.body)
	}
	return r.json(ts.t)["access_token"].(string)
}

// calm checks that no dialog opened and no script failed in any browser.
func calm(t *testing.T, bs []*browser) {
	t.Helper()
	for _, b := range bs {
		if n := b.dialogs.Load(); n != 0 {
			t.Errorf("%d dialogs opened", n)
		}
		if n := b.errors.Load(); n != 0 {
			t.Errorf("%d scripts failed", n)
		}
	}
}
