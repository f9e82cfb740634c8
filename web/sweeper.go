package web

import (
	"context"
	"log/slog"
	"time"

	"aperture/media"
	"aperture/store"
)

// MediaSweeper removes photos that were uploaded but never attached to a
// post within the grace period (24 hours), then deletes the files no
// photo uses any more. A database command records what lost its last
// reference, so a crash between the two steps only delays the deletion.
type MediaSweeper struct {
	Store    *store.Store
	Media    *media.Processor
	Metrics  *Metrics
	Log      *slog.Logger
	Grace    time.Duration // how long an unattached photo is kept (24 h)
	Interval time.Duration // how often to sweep (10 min)
}

// Run sweeps every Interval until ctx ends.
func (w *MediaSweeper) Run(ctx context.Context) {
	if w.Interval <= 0 {
		w.Interval = 10 * time.Minute
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
func (w *MediaSweeper) Sweep(ctx context.Context, now time.Time) error {
	if w.Grace <= 0 {
		w.Grace = 24 * time.Hour
	}
	ex, err := w.Store.ExpireUnattached(ctx, now, now.Add(-w.Grace))
	if w.Metrics != nil {
		w.Metrics.mediaSwept.Add(float64(ex.Count))
	}
	if err != nil {
		return err
	}
	for {
		hashes, err := w.Store.BlobsToCollect(now.Add(time.Millisecond), 500)
		if err != nil || len(hashes) == 0 {
			return err
		}
		for _, h := range hashes {
			if err := w.Media.Collect(h, func() (bool, error) { return w.Store.BlobUnused(h) }); err != nil {
				return err
			}
		}
		if err := w.Store.BlobsGone(ctx, now, hashes); err != nil {
			return err
		}
		if len(hashes) < 500 {
			return nil
		}
	}
}
