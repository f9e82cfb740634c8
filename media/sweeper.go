package media

import (
	"context"
	"log/slog"
	"time"
)

// Records is what the sweeper needs from the database: expiring photos
// never attached to a post, and the blobs that lost their last reference.
// The store satisfies it.
type Records interface {
	// SweepUnattached deletes the records of photos created before
	// before and never attached, and returns how many.
	SweepUnattached(ctx context.Context, now, before time.Time) (int, error)
	// BlobsToCollect returns up to limit blob hashes that lost a
	// reference before the given time.
	BlobsToCollect(before time.Time, limit int) ([]string, error)
	// BlobUnused reports whether no record uses the blob any more.
	BlobUnused(hash string) (bool, error)
	// BlobsGone takes collected hashes off the collection queue.
	BlobsGone(ctx context.Context, now time.Time, hashes []string) error
}

// Sweeper removes photos that were uploaded but never attached to a post
// within the grace period (24 hours), then deletes the files no photo
// uses any more. The database records what lost its last reference, so a
// crash between the two steps only delays the deletion.
type Sweeper struct {
	Records   Records
	Processor *Processor
	Log       *slog.Logger
	Grace     time.Duration // how long an unattached photo is kept (24 h)
	Interval  time.Duration // how often to sweep (10 min)
	// Swept, if set, is told how many photos each sweep removed.
	Swept func(n int)
}

// Run sweeps every Interval until ctx ends.
func (w *Sweeper) Run(ctx context.Context) {
	if w.Interval <= 0 {
		w.Interval = 10 * time.Minute
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		if err := w.Sweep(ctx, time.Now()); err != nil && ctx.Err() == nil {
			w.Log.Error("media sweep", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep expires unattached photos older than the grace period at now and
// collects unused files. It returns the first error.
func (w *Sweeper) Sweep(ctx context.Context, now time.Time) error {
	if w.Grace <= 0 {
		w.Grace = 24 * time.Hour
	}
	n, err := w.Records.SweepUnattached(ctx, now, now.Add(-w.Grace))
	if w.Swept != nil {
		w.Swept(n)
	}
	if err != nil {
		return err
	}
	for {
		hashes, err := w.Records.BlobsToCollect(now.Add(time.Millisecond), 500)
		if err != nil || len(hashes) == 0 {
			return err
		}
		for _, h := range hashes {
			if err := w.Processor.Collect(h, func() (bool, error) { return w.Records.BlobUnused(h) }); err != nil {
				return err
			}
		}
		if err := w.Records.BlobsGone(ctx, now, hashes); err != nil {
			return err
		}
		if len(hashes) < 500 {
			return nil
		}
	}
}
