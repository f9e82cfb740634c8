package main

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkHTTPMe is a whole flow: the real binary on loopback, 64
// keep-alive clients calling GET /api/v1/me with a valid token. It
// reports requests per second and the latency median and p99.
func BenchmarkHTTPMe(b *testing.B) {
	p := start(b, b.TempDir())
	_, m := call(b, p, "POST", "/api/v1/auth/signup", "", map[string]string{"username": "loaded", "password": "correct horse"})
	token := m["access_token"].(string)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest("GET", "http://"+p.addr+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
