// Package feed runs aperture's background work: the outbox worker pool
// and the jobs that build home feeds (fan-out, backfill, unfollow and
// delete clean-up) and activity. Every job's effects are store commands,
// and every handler is idempotent, since a job may run more than once.
package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"aperture/store"
)

// Handler runs one job. It returns an error to have the job retried.
type Handler func(ctx context.Context, j *store.Job) error

// BatchHandler runs many jobs of one kind together (for example, one
// search-index batch for hundreds of changes). An error retries them all.
type BatchHandler func(ctx context.Context, jobs []*store.Job) error

// Config tunes the pool. Zero fields take the defaults in parentheses.
type Config struct {
	Workers     int           // jobs run at once (GOMAXPROCS)
	Poll        time.Duration // how often an idle pool looks for due jobs (50 ms)
	MaxAttempts int           // failures before a job is parked in the dead letters (8)
	BaseBackoff time.Duration // first retry delay, doubled each time (1 s)
	FanoutBatch int           // followers per fan-out transaction (1,000)
	// Owns, if set, says which partitions' outboxes this pool runs: in a
	// cluster, the ones this node owns (nil: all of them).
	Owns func(part int) bool
}

// Pool takes due jobs from the outbox and runs them.
type Pool struct {
	st       Store
	cfg      Config
	log      *slog.Logger
	handlers map[string]Handler
	batchers map[string]BatchHandler
	// Hub, if set, receives live events: activity and new feed posts.
	Hub *Hub

	wake    chan struct{}
	mu      sync.Mutex
	running map[store.ID]bool
	stop    context.CancelFunc
	done    sync.WaitGroup

	failures *prometheus.CounterVec
	ran      *prometheus.CounterVec
	inserts  prometheus.Counter
}

// NewPool returns a pool with aperture's job handlers registered.
func NewPool(st Store, cfg Config, log *slog.Logger) *Pool {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 50 * time.Millisecond
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = time.Second
	}
	if cfg.FanoutBatch <= 0 {
		cfg.FanoutBatch = 1000
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Pool{st: st, cfg: cfg, log: log, wake: make(chan struct{}, 1), running: map[store.ID]bool{}, batchers: map[string]BatchHandler{},
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aperture_jobs_failed_total", Help: "Job attempts that failed, by kind."}, []string{"kind"}),
		ran:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aperture_jobs_done_total", Help: "Jobs finished, by kind."}, []string{"kind"}),
		inserts:  prometheus.NewCounter(prometheus.CounterOpts{Name: "aperture_feed_inbox_inserts_total", Help: "Posts put into home-feed inboxes by fan-out."}),
	}
	p.handlers = map[string]Handler{
		store.JobPostDeleted: p.postDeleted,
		store.JobUnfan:       p.unfan,
		store.JobPurgeUser:   p.purgeUser,
		store.JobModerate:    p.moderate,
	}
	p.HandleBatch(store.JobFanout, p.fanout)
	p.HandleBatch(store.JobBackfill, p.backfills)
	p.HandleBatch(store.JobActivity, p.activities)
	// The other side of graph edges.
	p.HandleBatch(store.JobFollowSync, relay[store.SyncFollow, struct{}](st))
	p.HandleBatch(store.JobFollowAnswer, relay[store.AnswerFollow, struct{}](st))
	p.HandleBatch(store.JobFollowDrop, relay[store.DropFollow, struct{}](st))
	p.HandleBatch(store.JobBlockSync, relay[store.SyncBlock, struct{}](st))
	p.HandleBatch(store.JobStanding, relay[store.SetStanding, struct{}](st))
	return p
}

// Handle registers (or replaces) the handler of a job kind.
func (p *Pool) Handle(kind string, h Handler) {
	p.handlers[kind] = h
	delete(p.batchers, kind)
}

// HandleBatch registers a handler that takes the due jobs of a kind
// together, up to 500 at a time.
//
// Batches of one kind run one at a time: a handler reads the current state
// of what its jobs name, so two overlapping batches could otherwise write
// an older read after a newer one (a deleted post back in the index).
func (p *Pool) HandleBatch(kind string, h BatchHandler) {
	var mu sync.Mutex
	p.batchers[kind] = func(ctx context.Context, jobs []*store.Job) error {
		mu.Lock()
		defer mu.Unlock()
		return h(ctx, jobs)
	}
}

// Collectors returns the pool's metrics, including outbox depth, oldest
// job age and dead letters read from the store at scrape time.
func (p *Pool) Collectors() []prometheus.Collector {
	stat := func(f func(store.OutboxStats) float64) func() float64 {
		return func() float64 {
			s, err := p.st.OutboxStats()
			if err != nil {
				return math.NaN()
			}
			return f(s)
		}
	}
	return []prometheus.Collector{p.failures, p.ran, p.inserts,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_outbox_depth", Help: "Jobs waiting in the outbox."},
			stat(func(s store.OutboxStats) float64 { return float64(s.Depth) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_outbox_oldest_seconds", Help: "Age of the oldest job in the outbox."},
			stat(func(s store.OutboxStats) float64 {
				if s.Oldest.IsZero() {
					return 0
				}
				return time.Since(s.Oldest).Seconds()
			})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_outbox_dead_letters", Help: "Jobs parked after repeated failures."},
			stat(func(s store.OutboxStats) float64 { return float64(s.DeadLetter) })),
	}
}

// Start runs the dispatcher and workers until Stop.
func (p *Pool) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	jobs := make(chan []*store.Job)
	for range p.cfg.Workers {
		p.done.Add(1)
		go func() {
			defer p.done.Done()
			for unit := range jobs {
				p.run(ctx, unit)
			}
		}()
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		defer close(jobs)
		t := time.NewTicker(p.cfg.Poll)
		defer t.Stop()
		for {
			p.mu.Lock()
			skip := make(map[store.ID]bool, len(p.running))
			for id := range p.running {
				skip[id] = true
			}
			p.mu.Unlock()
			// Every partition's outbox in turn, a fair share of each.
			var due []*store.Job
			share := max(512/p.st.Partitions(), 64)
			for part := range p.st.Partitions() {
				if p.cfg.Owns != nil && !p.cfg.Owns(part) {
					continue
				}
				jobs, err := p.st.DueJobs(part, time.Now(), share, skip)
				if err != nil && ctx.Err() == nil {
					p.log.Error("outbox read", "partition", part, "error", err)
				}
				due = append(due, jobs...)
			}
			p.mu.Lock()
			for _, j := range due {
				p.running[j.ID] = true
			}
			p.mu.Unlock()
			for _, unit := range p.units(due) {
				select {
				case jobs <- unit:
				case <-ctx.Done():
					return
				}
			}
			if len(due) > 0 {
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-p.wake:
			}
		}
	}()
}

// Wake tells an idle pool that jobs were written.
func (p *Pool) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Stop lets running jobs finish and stops the pool. Jobs not finished stay
// in the outbox and run after the next start.
func (p *Pool) Stop() {
	if p.stop != nil {
		p.stop()
		p.done.Wait()
	}
}

// units groups due jobs: the jobs of a batch kind together (up to 500),
// every other job alone, in outbox order.
func (p *Pool) units(due []*store.Job) [][]*store.Job {
	var out [][]*store.Job
	batch := map[string]int{} // kind → index in out
	for _, j := range due {
		if p.batchers[j.Kind] == nil {
			out = append(out, []*store.Job{j})
			continue
		}
		i, ok := batch[j.Kind]
		if !ok || len(out[i]) >= 500 {
			batch[j.Kind] = len(out)
			out = append(out, []*store.Job{j})
			continue
		}
		out[i] = append(out[i], j)
	}
	return out
}

// handler returns how to run jobs of a kind: its batch handler, or its
// one-job handler over a unit of one.
func (p *Pool) handler(kind string) BatchHandler {
	if h, ok := p.batchers[kind]; ok {
		return h
	}
	if h, ok := p.handlers[kind]; ok {
		return func(ctx context.Context, jobs []*store.Job) error { return h(ctx, jobs[0]) }
	}
	return func(context.Context, []*store.Job) error { return fmt.Errorf("no handler for job kind %q", kind) }
}

// run runs a unit of jobs of one kind. On success one command removes
// them all; on failure each is retried with exponential backoff, or
// parked in the dead letters after MaxAttempts. A panic is a failure.
func (p *Pool) run(ctx context.Context, jobs []*store.Job) {
	defer func() {
		p.mu.Lock()
		for _, j := range jobs {
			delete(p.running, j.ID)
		}
		p.mu.Unlock()
	}()
	kind := jobs[0].Kind
	h := p.handler(kind)
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return h(ctx, jobs)
	}()
	now := time.Now()
	if err == nil {
		// One command per partition that holds some of the jobs.
		byPart := map[int][]store.ID{}
		for _, j := range jobs {
			part := p.st.PartitionOf(j.ID.Shard())
			byPart[part] = append(byPart[part], j.ID)
		}
		for _, ids := range byPart {
			if _, err := store.Exec(context.Background(), p.st, store.JobsDone{Meta: store.At(now), JobIDs: ids}); err != nil {
				p.log.Error("jobs done", "kind", kind, "error", err)
			}
		}
		p.ran.WithLabelValues(kind).Add(float64(len(jobs)))
		return
	}
	if ctx.Err() != nil {
		return // stopping: the jobs stay and run after restart
	}
	var wait interface {
		error
		RetryAfter() time.Duration
	}
	if errors.As(err, &wait) {
		for _, j := range jobs {
			if _, err := store.Exec(context.Background(), p.st, store.JobFailed{Meta: store.At(now), JobID: j.ID, Error: wait.Error(),
				RetryAt: now.Add(wait.RetryAfter()), Deferred: true}); err != nil {
				p.log.Error("job deferred", "kind", kind, "job", j.ID, "error", err)
			}
		}
		return
	}
	p.failures.WithLabelValues(kind).Add(float64(len(jobs)))
	for _, j := range jobs {
		dead := j.Attempts+1 >= p.cfg.MaxAttempts
		p.log.Warn("job failed", "kind", kind, "job", j.ID, "attempt", j.Attempts+1, "dead", dead, "error", err)
		if _, err := store.Exec(context.Background(), p.st, store.JobFailed{Meta: store.At(now), JobID: j.ID, Error: err.Error(),
			RetryAt: now.Add(p.cfg.BaseBackoff << min(j.Attempts, 16)), Dead: dead}); err != nil {
			p.log.Error("job failed", "kind", kind, "job", j.ID, "error", err)
		}
	}
}

// notYet is a handler's answer when its job must wait for others: the
// job runs again after the pause, and the wait is not a failed attempt.
type notYet struct {
	why   string
	after time.Duration
}

func (n notYet) Error() string { return n.why }

// RetryAfter returns how long the job waits. A handler of another package
// defers its job the same way: by returning an error with this method.
func (n notYet) RetryAfter() time.Duration { return n.after }
