package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"aperture/alerts"
	"aperture/store"
)

// BenchmarkAlertEvaluate is one reading of every built-in rule a single
// node runs (all but backups and the cluster's), through the real
// measurements: the request and latency counters, the outbox (counted in
// the database), the data volume and the memory. The engine reads them
// every 15 seconds, so a core's share is the time per op over 15 s.
//
//	go test ./web -run '^$' -bench AlertEvaluate -count 3
func BenchmarkAlertEvaluate(b *testing.B) {
	for _, jobs := range []int{0, 20000} {
		b.Run(fmt.Sprintf("outbox=%d", jobs), func(b *testing.B) {
			as := newAlertServer(b, "")
			as.pool.Stop() // the jobs stay queued, as on an instance that is behind
			ctx := context.Background()
			for i := range jobs {
				// Each account queues its search-index job.
				if _, err := store.Exec(ctx, as.st, store.CreateUser{Meta: store.At(time.Now()), Username: fmt.Sprintf("u%06d", i), PasswordHash: "h"}); err != nil {
					b.Fatal(err)
				}
			}
			if ob, _ := as.st.OutboxStats(); ob.Depth < jobs {
				b.Fatalf("%d jobs queued, want %d", ob.Depth, jobs)
			}
			now := time.Now()
			b.ResetTimer()
			for i := range b.N {
				// Every reading looks at the outbox afresh, as the
				// engine's, 15 s apart, do.
				as.engine.Evaluate(ctx, now.Add(time.Duration(i)*alerts.Every))
			}
			b.StopTimer()
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(100*per/15, "%core")
		})
	}
}
