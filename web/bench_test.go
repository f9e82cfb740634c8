package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"aperture/store"
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
	st, err := store.Open(b.TempDir(), store.Options{NoSync: true})
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
