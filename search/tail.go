package search

import (
	"context"
	"log/slog"
	"sync"

	"aperture/store"
)

// Tail keeps the index from the commits this node applies rather than
// from the outbox: in a cluster every node keeps its own index of every
// partition, while only a partition's owner runs its outbox. Take is
// given each commit's changes (it never blocks); the index jobs among
// them are indexed in the background, in batches, in order. Stop ends the
// background work after what was taken.
type Tail struct {
	x    *Index
	log  *slog.Logger
	mu   sync.Mutex
	jobs []*store.Job
	wake chan struct{}
	done chan struct{}
	stop chan struct{}
}

// Tail starts the background indexing of taken commits.
func (x *Index) Tail(log *slog.Logger) *Tail {
	if log == nil {
		log = slog.Default()
	}
	t := &Tail{x: x, log: log, wake: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{})}
	go t.run()
	return t
}

// Take queues the index jobs of a commit.
func (t *Tail) Take(_ int, c store.Changes) {
	var mine []*store.Job
	for _, j := range c.Jobs {
		if j.Kind == store.JobIndexPost || j.Kind == store.JobIndexUser {
			mine = append(mine, j)
		}
	}
	if len(mine) == 0 {
		return
	}
	t.mu.Lock()
	t.jobs = append(t.jobs, mine...)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Stop indexes what was taken and ends.
func (t *Tail) Stop() {
	close(t.stop)
	<-t.done
}

func (t *Tail) run() {
	defer close(t.done)
	for {
		select {
		case <-t.wake:
		case <-t.stop:
			t.flush()
			return
		}
		t.flush()
	}
}

// flush indexes every queued job, posts and users each in one batch.
func (t *Tail) flush() {
	t.mu.Lock()
	jobs := t.jobs
	t.jobs = nil
	t.mu.Unlock()
	var posts, users []*store.Job
	for _, j := range jobs {
		if j.Kind == store.JobIndexPost {
			posts = append(posts, j)
		} else {
			users = append(users, j)
		}
	}
	ctx := context.Background()
	if len(posts) > 0 {
		if err := t.x.HandlePosts(ctx, posts); err != nil {
			t.log.Error("index posts", "error", err)
		}
	}
	if len(users) > 0 {
		if err := t.x.HandleUsers(ctx, users); err != nil {
			t.log.Error("index users", "error", err)
		}
	}
}
