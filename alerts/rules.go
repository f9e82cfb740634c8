package alerts

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// Sources are the measurements the built-in rules read. A nil source
// leaves its rules out (no backups scheduled, not a node of a cluster).
type Sources struct {
	// Disk returns the free bytes (available to aperture) and the size of
	// the data directory's volume.
	Disk func() (free, total uint64, err error)
	// Requests returns the requests answered since the start, and how many
	// of them were 5xx.
	Requests func() (total, failed uint64)
	// Pages is the latency of the home feed and post pages.
	Pages *Histogram
	// Outbox returns the jobs waiting, when the oldest was queued (zero
	// when none) and the jobs parked as dead letters.
	Outbox func() (depth int, oldest time.Time, dead int, err error)
	// UploadFailures returns the uploads that failed in processing (not
	// those refused for their content) since the start.
	UploadFailures func() uint64
	// Backups returns the scheduled backups' state.
	Backups func() BackupStatus
	// SearchLag returns how far the search index is behind the database.
	SearchLag func() (time.Duration, error)
	// Memory returns the memory in use and its limit (see SystemMemory).
	Memory func() (used, limit uint64, err error)
	// Cluster returns the cluster's health as this node reads it.
	Cluster func(ctx context.Context) (ClusterHealth, error)
}

// BackupStatus is the scheduled backups' state.
type BackupStatus struct {
	// Every is the backups' interval.
	Every time.Duration
	// Last is when the newest backup succeeded; before the first one, when
	// the schedule started.
	Last time.Time
	// Failed is whether the newest attempt failed.
	Failed bool
}

// ClusterHealth is what the cluster rules read.
type ClusterHealth struct {
	// Unreachable counts the nodes that are not ready or whose heartbeat
	// is older than a lease.
	Unreachable int
	// Unowned counts the partitions that no node holds the lease of.
	Unowned int
	// MaxLag is the most entries a replica has yet to apply.
	MaxLag int
}

// minRequests is how many requests a window needs before its shares and
// percentiles mean anything; with fewer, they read 0.
const minRequests = 20

// Rules returns the built-in rules over src, with their default
// thresholds (see Configure to change them), in the order the admin page
// shows them.
func Rules(src Sources) []*Rule {
	var rules []*Rule
	add := func(r *Rule) { rules = append(rules, r) }
	if src.Disk != nil {
		freePct := func(time.Time) (float64, error) {
			free, total, err := src.Disk()
			if err != nil {
				return 0, err
			}
			if total == 0 {
				return 0, ErrNoReading // a volume that reports no size says nothing
			}
			return 100 * float64(free) / float64(total), nil
		}
		add(&Rule{Name: "disk-free-warning", Summary: "Free space on the data volume is low", Severity: Warning, Unit: Percent,
			Below: true, Threshold: 15, Clear: 17, For: 5 * time.Minute, Read: freePct})
		add(&Rule{Name: "disk-free-critical", Summary: "The data volume is nearly full", Severity: Critical, Unit: Percent,
			Below: true, Threshold: 5, Clear: 6, For: time.Minute, Read: freePct})
	}
	if src.Requests != nil {
		w := &window{span: 5 * time.Minute}
		add(&Rule{Name: "http-errors", Summary: "Many requests are failing (5xx answers)", Severity: Critical, Unit: Percent,
			Threshold: 5, Clear: 2, For: 5 * time.Minute, Read: func(now time.Time) (float64, error) {
				total, failed := src.Requests()
				d, _ := w.delta(now, float64(total), float64(failed))
				if d[0] < minRequests {
					return 0, nil
				}
				return 100 * d[1] / d[0], nil
			}})
	}
	if src.Pages != nil {
		w := &window{span: 5 * time.Minute}
		add(&Rule{Name: "page-latency", Summary: "Feed and post pages are slow (99th percentile)", Severity: Warning, Unit: Seconds,
			Threshold: 1, Clear: 0.75, For: 10 * time.Minute, Read: func(now time.Time) (float64, error) {
				d, _ := w.delta(now, src.Pages.counts()...)
				return quantile(d, 0.99), nil
			}})
	}
	if src.Outbox != nil {
		outbox := onePerReading(src.Outbox)
		var rises float64 // dead letters that appeared, summed
		last := -1
		w := &window{span: time.Hour}
		add(&Rule{Name: "outbox-oldest", Summary: "Background jobs are falling behind", Severity: Warning, Unit: Seconds,
			Threshold: 600, Clear: 300, For: 5 * time.Minute, Read: func(now time.Time) (float64, error) {
				o, err := outbox(now)
				if err != nil || o.oldest.IsZero() {
					return 0, err
				}
				return max(0, now.Sub(o.oldest).Seconds()), nil
			}})
		add(&Rule{Name: "outbox-backlog", Summary: "The background queue is long", Severity: Warning, Unit: Count,
			Threshold: 10000, Clear: 5000, For: 10 * time.Minute, Read: func(now time.Time) (float64, error) {
				o, err := outbox(now)
				return float64(o.depth), err
			}})
		add(&Rule{Name: "dead-letters", Summary: "Background jobs failed for good (dead letters, last hour)", Severity: Warning, Unit: Count,
			Threshold: 0, Clear: 0, Read: func(now time.Time) (float64, error) {
				o, err := outbox(now)
				if err != nil {
					return 0, err
				}
				if last >= 0 && o.dead > last {
					rises += float64(o.dead - last)
				}
				last = o.dead
				d, _ := w.delta(now, rises)
				return d[0], nil
			}})
	}
	if src.UploadFailures != nil {
		w := &window{span: 15 * time.Minute}
		add(&Rule{Name: "upload-failures", Summary: "Photo uploads are failing (last 15 minutes)", Severity: Warning, Unit: Count,
			Threshold: 2, Clear: 0, Read: func(now time.Time) (float64, error) {
				d, _ := w.delta(now, float64(src.UploadFailures()))
				return d[0], nil
			}})
	}
	if src.Backups != nil {
		add(&Rule{Name: "backup-failed", Summary: "The scheduled backup failed", Severity: Critical, Unit: Count,
			Threshold: 0, Clear: 0, Read: func(time.Time) (float64, error) {
				if src.Backups().Failed {
					return 1, nil
				}
				return 0, nil
			}})
		every := src.Backups().Every.Seconds()
		add(&Rule{Name: "backup-stale", Summary: "No backup is recent (older than twice the interval)", Severity: Critical, Unit: Seconds,
			Threshold: 2 * every, Clear: 2 * every, Read: func(now time.Time) (float64, error) {
				return max(0, now.Sub(src.Backups().Last).Seconds()), nil
			}})
	}
	if src.SearchLag != nil {
		add(&Rule{Name: "search-lag", Summary: "Search is behind the database", Severity: Warning, Unit: Seconds,
			Threshold: 300, Clear: 60, For: 5 * time.Minute, Read: func(time.Time) (float64, error) {
				d, err := src.SearchLag()
				return d.Seconds(), err
			}})
	}
	if src.Memory != nil {
		add(&Rule{Name: "memory", Summary: "Memory is nearly used up", Severity: Warning, Unit: Percent,
			Threshold: 90, Clear: 85, For: 5 * time.Minute, Read: func(time.Time) (float64, error) {
				used, limit, err := src.Memory()
				if err != nil || limit == 0 {
					return 0, err
				}
				return 100 * float64(used) / float64(limit), nil
			}})
	}
	if src.Cluster != nil {
		read := func(pick func(ClusterHealth) int) func(time.Time) (float64, error) {
			return func(time.Time) (float64, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				h, err := src.Cluster(ctx)
				return float64(pick(h)), err
			}
		}
		add(&Rule{Name: "cluster-node-unreachable", Summary: "A node of the cluster is unreachable", Severity: Critical, Unit: Count,
			Threshold: 0, Clear: 0, For: time.Minute, Read: read(func(h ClusterHealth) int { return h.Unreachable })})
		add(&Rule{Name: "cluster-partition-unowned", Summary: "A partition has no owner", Severity: Critical, Unit: Count,
			Threshold: 0, Clear: 0, For: time.Minute, Read: read(func(h ClusterHealth) int { return h.Unowned })})
		add(&Rule{Name: "cluster-replica-lag", Summary: "A replica is far behind its log", Severity: Warning, Unit: Count,
			Threshold: 10000, Clear: 1000, For: 5 * time.Minute, Read: read(func(h ClusterHealth) int { return h.MaxLag })})
	}
	return rules
}

// outboxReading is one look at the outbox.
type outboxReading struct {
	depth, dead int
	oldest      time.Time
}

// onePerReading returns read wrapped so that the three outbox rules of
// one evaluation (the same now) share one look: the outbox's buckets are
// counted page by page.
func onePerReading(read func() (int, time.Time, int, error)) func(now time.Time) (outboxReading, error) {
	var at time.Time
	var last outboxReading
	var lastErr error
	return func(now time.Time) (outboxReading, error) {
		if at.IsZero() || !now.Equal(at) {
			var o outboxReading
			o.depth, o.oldest, o.dead, lastErr = read()
			at, last = now, o
		}
		return last, lastErr
	}
}

// pageBuckets are the upper bounds, in seconds, of a Histogram's
// buckets; the last is unbounded.
var pageBuckets = []float64{.025, .05, .1, .25, .5, .75, 1, 1.5, 2, 3, 5, 10, math.Inf(1)}

// Histogram counts latencies in pageBuckets, safe for concurrent use.
type Histogram struct{ n [13]atomic.Uint64 }

// Observe counts one latency.
func (h *Histogram) Observe(d time.Duration) {
	s := d.Seconds()
	for i, b := range pageBuckets {
		if s <= b {
			h.n[i].Add(1)
			return
		}
	}
}

func (h *Histogram) counts() []float64 {
	out := make([]float64, len(h.n))
	for i := range h.n {
		out[i] = float64(h.n[i].Load())
	}
	return out
}

// quantile returns the upper bound of the bucket holding the q-quantile
// of counts (per pageBuckets), 0 with fewer than minRequests; the
// unbounded bucket reads as the last bounded one.
func quantile(counts []float64, q float64) float64 {
	total := 0.0
	for _, c := range counts {
		total += c
	}
	if total < minRequests {
		return 0
	}
	seen := 0.0
	for i, c := range counts {
		seen += c
		if seen >= q*total {
			if math.IsInf(pageBuckets[i], 1) {
				return pageBuckets[i-1]
			}
			return pageBuckets[i]
		}
	}
	return pageBuckets[len(pageBuckets)-2]
}
