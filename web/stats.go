package web

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"aperture/store"
)

// The admin charts: one sample a minute for the last 24 hours, kept in
// memory (a restart starts them afresh; /metrics is the long record).

const statMinutes = 24 * 60

// Sample is one minute of the instance's life.
type Sample struct {
	At         time.Time `json:"at"`
	Signups    float64   `json:"signups" doc:"Per minute"`
	Posts      float64   `json:"posts" doc:"Per minute"`
	Requests   float64   `json:"requests_per_s" doc:"Averaged over the minute"`
	P99ms      float64   `json:"p99_ms" doc:"99th percentile latency of the minute's requests"`
	Errors     float64   `json:"errors" doc:"5xx answers per minute"`
	Queue      float64   `json:"queue" doc:"Outbox depth at the end of the minute"`
	DBBytes    float64   `json:"db_bytes"`
	IndexBytes float64   `json:"index_bytes"`
	MediaBytes float64   `json:"media_bytes"`
}

// latencyBuckets bound the per-minute latency histogram (ms).
var latencyBuckets = []float64{0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000, math.Inf(1)}

// Recorder counts what the charts show and samples it every minute.
type Recorder struct {
	signups, posts, requests, errors atomic.Int64
	lat                              [21]atomic.Int64
	active                           sync.Map // user ID → last seen (unix seconds)

	mu      sync.Mutex
	samples []Sample // oldest first, at most statMinutes
	last    [4]int64 // counters at the previous sample
}

func (r *Recorder) observe(d time.Duration, status int, user store.ID) {
	r.requests.Add(1)
	if status >= 500 {
		r.errors.Add(1)
	}
	ms := float64(d.Microseconds()) / 1000
	for i, b := range latencyBuckets {
		if ms <= b {
			r.lat[i].Add(1)
			break
		}
	}
	if user != 0 {
		now := time.Now().Unix()
		if seen, ok := r.active.Load(user); !ok || now-seen.(int64) > 60 { // a write a minute per account at most
			r.active.Store(user, now)
		}
	}
}

// Requests returns the requests answered since the start, and how many
// of them were 5xx.
func (r *Recorder) Requests() (total, failed uint64) {
	return uint64(r.requests.Load()), uint64(r.errors.Load())
}

// ActiveUsers returns the accounts seen in the last 24 hours, forgetting
// older ones.
func (r *Recorder) ActiveUsers() int {
	cut := time.Now().Add(-24 * time.Hour).Unix()
	n := 0
	r.active.Range(func(k, v any) bool {
		if v.(int64) < cut {
			r.active.Delete(k)
		} else {
			n++
		}
		return true
	})
	return n
}

// sample closes a minute: counters become rates, the latency histogram
// its 99th percentile.
func (r *Recorder) sample(now time.Time, queue int, disk DiskUsage) {
	var counts [21]int64
	total := int64(0)
	for i := range r.lat {
		counts[i] = r.lat[i].Swap(0)
		total += counts[i]
	}
	p99 := 0.0
	if total > 0 {
		seen := int64(0)
		for i, c := range counts {
			seen += c
			if seen*100 >= total*99 {
				p99 = latencyBuckets[i]
				if math.IsInf(p99, 1) {
					p99 = latencyBuckets[len(latencyBuckets)-2]
				}
				break
			}
		}
	}
	cur := [4]int64{r.signups.Load(), r.posts.Load(), r.requests.Load(), r.errors.Load()}
	r.mu.Lock()
	defer r.mu.Unlock()
	d := func(i int) float64 { return float64(cur[i] - r.last[i]) }
	s := Sample{At: now, Signups: d(0), Posts: d(1), Requests: d(2) / 60, P99ms: p99, Errors: d(3), Queue: float64(queue),
		DBBytes: float64(disk.DB), IndexBytes: float64(disk.Index), MediaBytes: float64(disk.Media)}
	r.last = cur
	r.samples = append(r.samples, s)
	if len(r.samples) > statMinutes {
		r.samples = r.samples[len(r.samples)-statMinutes:]
	}
}

// Samples returns the last 24 hours, oldest first.
func (r *Recorder) Samples() []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sample(nil), r.samples...)
}

// DiskUsage is the bytes the database, the search index and the photos
// take.
type DiskUsage struct{ DB, Index, Media int64 }

// SampleNow closes the current minute at once (tests and the first
// dashboard view use it).
func (s *Server) SampleNow() { s.SampleAt(time.Now()) }

// SampleAt closes the minute ending at now: the charts' sampler (run by
// the caller, every minute) calls it.
func (s *Server) SampleAt(now time.Time) {
	ob, _ := s.st.OutboxStats()
	var disk DiskUsage
	if s.disk != nil {
		disk = s.disk()
	}
	s.stats.sample(now, ob.Depth, disk)
}
