package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"aperture/store"
	"aperture/store/storetest"
	"aperture/web"
	"aperture/web/auth"
)

// BenchmarkGetMe measures GET /api/v1/me with a valid token through the
// whole fiber app (middleware, huma, auth, store read, JSON), without the
// network.
func BenchmarkGetMe(b *testing.B) {
	ts := newServer(b, web.Config{})
	access, _ := ts.signup("bench")
	h := ts.srv.App().Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURI("/api/v1/me")
			ctx.Request.Header.SetMethod("GET")
			ctx.Request.Header.Set("Authorization", "Bearer "+access)
			h(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
}

// BenchmarkLogin measures a log-in with the production argon2id
// parameters (m=19 MiB, t=2, p=1): the password check dominates.
func BenchmarkLogin(b *testing.B) {
	st, err := storetest.Open(b.TempDir(), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc, err := auth.NewService(st, auth.FileKeys(b.TempDir()+"/keys.json"), auth.Config{}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.SignUp(ctx, auth.SignUp{Username: "bench", Password: "correct horse"}, time.Now()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Login(ctx, "bench", "correct horse", "", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/login")
}

// BenchmarkFeed measures GET /api/v1/feed?limit=20 through the whole
// fiber app for a reader following 50 accounts with 2,000 posts between
// them (the shape of ANCHORS.md's peer figure), without the network.
func BenchmarkFeed(b *testing.B) {
	benchFeed(b, "/api/v1/feed?limit=20", false)
}

// BenchmarkHomePage measures the HTML home page (10 posts) the same way,
// signed in by the session cookie.
func BenchmarkHomePage(b *testing.B) {
	benchFeed(b, "/", true)
}

func benchFeed(b *testing.B, path string, cookie bool) {
	ts := newServer(b, web.Config{})
	token, _ := ts.signup("reader")
	reader, _ := ts.st.UserByUsername("reader")
	ctx := context.Background()
	for a := range 50 {
		author, err := store.Exec(ctx, ts.st, store.CreateUser{Meta: store.At(time.Now()), Username: fmt.Sprintf("author%d", a), PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		store.Exec(ctx, ts.st, store.Follow{Meta: store.At(time.Now()), FollowerID: reader.ID, TargetID: author.ID})
		for p := range 40 {
			m, err := store.Exec(ctx, ts.st, store.CreateMedia{Meta: store.At(time.Now()), OwnerID: author.ID, Hash: fmt.Sprintf("%032x%032x", a, p),
				Width: 1080, Height: 1350, Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj", Variants: map[string]store.MediaVariant{
					"thumb": {Width: 150, Height: 150}, "small": {Width: 320, Height: 400}, "medium": {Width: 640, Height: 800}, "large": {Width: 1080, Height: 1350}, "full": {Width: 1080, Height: 1350}}})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := store.Exec(ctx, ts.st, store.CreatePost{Meta: store.At(time.Now()), AuthorID: author.ID, Caption: "A quiet evening by the river #sunset #travel",
				MediaIDs: []store.ID{m.ID}, Location: &store.Location{Name: "Lisbon", Lat: 38.7, Lon: -9.1}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	ts.drain()
	h := ts.srv.App().Handler()
	var size int
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURI(path)
			ctx.Request.Header.SetMethod("GET")
			if cookie {
				ctx.Request.Header.SetCookie("ap_at", token)
			} else {
				ctx.Request.Header.Set("Authorization", "Bearer "+token)
			}
			h(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
			size = len(ctx.Response.Body())
		}
	})
	b.ReportMetric(float64(size), "bytes/page")
}
