// Command screenshots saves full-page screenshots of aperture's main pages,
// and of each step of sharing a photo, at a phone's and a desktop's width, driving headless Chromium against a
// running (seeded) instance on loopback. `make screenshots` runs it.
//
// With -paint N it instead loads the home feed N times (signed in, cold
// cache each time) and prints the median time from navigation to the
// first photo painted (the largest contentful paint), for `make bench-ui`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:18282", "the instance (loopback only)")
	out := flag.String("out", "docs/screenshots", "where to write the JPEGs")
	user := flag.String("user", "maya", "who to sign in as")
	password := flag.String("password", "aperture-demo", "their password")
	paint := flag.Int("paint", 0, "measure the first photo's paint this many times instead")
	flag.Parse()
	u, err := url.Parse(*base)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
		log.Fatalf("screenshots: %s is not a loopback address", *base)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.NoSandbox)
	if p := os.Getenv("CHROMIUM"); p != "" {
		opts = append(opts, chromedp.ExecPath(p))
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	if *paint > 0 {
		if err := measurePaint(alloc, *base, *user, *password, *paint); err != nil {
			log.Fatalf("paint: %v", err)
		}
		return
	}
	for _, dev := range []struct {
		name  string
		w, h  int64
		phone bool
	}{{"phone", 390, 844, true}, {"desktop", 1280, 900, false}} {
		if err := capture(alloc, *base, *out, *user, *password, dev.name, dev.w, dev.h, dev.phone); err != nil {
			log.Fatalf("screenshots (%s): %v", dev.name, err)
		}
	}
}

func logIn(ctx context.Context, base, user, password string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`.feed`)),
	)
}

// lcp waits for the page's largest contentful paint and returns its time
// (ms since navigation) and the element painted.
const lcp = `new Promise(done => new PerformanceObserver(list => {
	const e = list.getEntries().at(-1);
	done({ms: e.startTime, what: e.element ? e.element.tagName + '.' + e.element.className : e.url});
}).observe({type: 'largest-contentful-paint', buffered: true}))`

func measurePaint(alloc context.Context, base, user, password string, n int) error {
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, stop := context.WithTimeout(ctx, 5*time.Minute)
	defer stop()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		return err
	}
	if err := logIn(ctx, base, user, password); err != nil {
		return err
	}
	var times []float64
	what := ""
	for range n {
		// A cold HTTP cache each time: photos and assets come over the wire.
		if _, err := chromedp.Call(ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
			return err
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitReady("body")); err != nil {
			return err
		}
		r, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
			Ms   float64 `json:"ms"`
			What string  `json:"what"`
		}](lcp, chromedp.EvalAwaitPromise))
		if err != nil {
			return err
		}
		times = append(times, r.Ms)
		what = r.What
	}
	slices.Sort(times)
	fmt.Printf("first photo painted (largest contentful paint, %s): median %.0f ms, min %.0f ms, max %.0f ms over %d cold loads\n",
		what, times[len(times)/2], times[0], times[len(times)-1], n)
	return nil
}

func capture(alloc context.Context, base, out, user, password, dev string, w, h int64, phone bool) error {
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, stop := context.WithTimeout(ctx, 3*time.Minute)
	defer stop()
	snap := func(name string) error {
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(80))
		if err != nil {
			return err
		}
		file := filepath.Join(out, fmt.Sprintf("%s-%s.jpg", name, dev))
		fmt.Println(file)
		return os.WriteFile(file, buf, 0o644)
	}
	shot := func(name, path string) error {
		err := chromedp.Do(ctx, chromedp.Navigate(base+path), chromedp.WaitReady("body"),
			chromedp.Sleep(700*time.Millisecond)) // photos fade in
		if err != nil {
			return err
		}
		return snap(name)
	}
	mobile := func(p *emulation.SetDeviceMetricsOverrideParams, t *emulation.SetTouchEmulationEnabledParams) {
		p.Mobile, t.Enabled = phone, phone
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h, chromedp.EmulateScale(1), mobile)); err != nil {
		return err
	}
	if err := shot("login", "/login"); err != nil {
		return err
	}
	if err := logIn(ctx, base, user, password); err != nil {
		return err
	}
	for _, p := range [][2]string{{"feed", "/"}, {"explore", "/explore"}, {"profile", "/u/" + user},
		{"post", "/p/" + firstPost(ctx, base)}, {"tag", "/tags/sunset"}, {"map", "/map"},
		{"search", "/search?q=ma"}, {"activity", "/activity"}} {
		if err := shot(p[0], p[1]); err != nil {
			return err
		}
	}
	if err := newPost(ctx, base, snap); err != nil {
		return err
	}
	if dev != "desktop" {
		return nil
	}
	if err := shot("admin-alerts", "/admin/alerts"); err != nil { // the demo's first account administers it
		return err
	}
	return importFromInstagram(ctx, base, snap) // once: a second import would find it all imported before
}

// firstPost finds a post on the explore page to show.
func firstPost(ctx context.Context, base string) string {
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/explore")); err != nil {
		return "0"
	}
	a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`.grid a.tile`), "href"))
	if err != nil || len(a.Value) < 4 {
		return "0"
	}
	return a.Value[3:]
}
