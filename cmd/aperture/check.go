package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"aperture/media"
	"aperture/store"
)

// orphanGrace is how long a photo's files may exist with no record before
// check calls them orphaned: uploads write files before their record, and
// the sweeper removes unattached uploads after 24 hours.
const orphanGrace = 48 * time.Hour

// checkReport is what aperture check found and did.
type checkReport struct {
	Problems []string `json:"problems"`
	Repaired []string `json:"repaired"`
	Notes    []string `json:"notes"`
}

func (r *checkReport) print(w io.Writer) {
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	for _, f := range r.Repaired {
		fmt.Fprintln(w, "repaired:", f)
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, "problem:", p)
	}
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "ok: every invariant holds")
	}
}

// collector removes a blob's files if it is still unused; in the server
// it is the media processor's Collect, which locks out a concurrent upload
// of the same photo.
type collector func(hash string, unused func() (bool, error)) error

// runCheck verifies the database file, the counters, the photo files and
// the home-feed inboxes, notes how far the search index and fan-out lag, and with repair fixes what it can: counters,
// stray inbox entries and orphaned photo files.
func runCheck(ctx context.Context, st *store.Store, blobs media.FileBlobs, collect collector, repair bool, now time.Time) (*checkReport, error) {
	r := &checkReport{}
	bad, err := st.CheckFile()
	if err != nil {
		return nil, err
	}
	r.Problems = append(r.Problems, bad...)

	if repair {
		for part := range st.Partitions() {
			fixed, err := store.Exec(ctx, st, store.RepairCounts{Meta: store.At(now), On: store.PartitionShard(part)})
			if err != nil {
				return nil, err
			}
			r.Repaired = append(r.Repaired, fixed...)
		}
	}
	bad, err = st.Check()
	if err != nil {
		return nil, err
	}
	r.Problems = append(r.Problems, bad...)

	// Photo files: every referenced photo has its files; no files are left
	// without a record beyond the grace period.
	var referenced []string
	if err := st.Snapshot(func(_ string, _ int64, hashes []string, _ func(io.Writer) (int64, error)) error {
		referenced = append(referenced, hashes...)
		return nil
	}); err != nil {
		return nil, err
	}
	slices.Sort(referenced)
	referenced = slices.Compact(referenced) // a photo may be used in several partitions
	known := make(map[string]bool, len(referenced))
	missing := 0
	for _, h := range referenced {
		known[h] = true
		if _, err := blobs.Files(h); err != nil {
			if missing < 10 {
				r.Problems = append(r.Problems, fmt.Sprintf("photo %s… is referenced but its files are missing", h[:12]))
			}
			missing++
		}
	}
	if missing > 10 {
		r.Problems = append(r.Problems, fmt.Sprintf("…and %d more photos without files", missing-10))
	}
	orphans := 0
	err = blobs.Each(func(h string, changed time.Time) error {
		if known[h] || now.Sub(changed) < orphanGrace {
			return nil
		}
		if !repair {
			orphans++
			if orphans <= 10 {
				r.Problems = append(r.Problems, fmt.Sprintf("photo files %s… have no record (orphaned since %s)", h[:12], changed.Format(time.DateOnly)))
			}
			return nil
		}
		if err := collect(h, func() (bool, error) { return st.BlobUnused(h) }); err != nil {
			return err
		}
		r.Repaired = append(r.Repaired, fmt.Sprintf("removed the orphaned files of photo %s…", h[:12]))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if orphans > 10 {
		r.Problems = append(r.Problems, fmt.Sprintf("…and %d more orphaned photos", orphans-10))
	}

	// The outbox, and the inboxes it keeps (only meaningful once drained).
	ob, err := st.OutboxStats()
	if err != nil {
		return nil, err
	}
	if ob.Depth > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d background jobs are pending (oldest from %s); inboxes are checked once they have run", ob.Depth, ob.Oldest.Format(time.RFC3339)))
	} else {
		strays, err := st.StrayInboxEntries(100_000)
		if err != nil {
			return nil, err
		}
		if repair && len(strays) > 0 {
			byPart := map[int][][2]store.ID{}
			for _, e := range strays {
				part := st.PartitionOf(e[0].Shard())
				byPart[part] = append(byPart[part], e)
			}
			for _, entries := range byPart {
				if _, err := store.Exec(ctx, st, store.RemoveInboxEntries{Meta: store.At(now), Entries: entries}); err != nil {
					return nil, err
				}
			}
			r.Repaired = append(r.Repaired, fmt.Sprintf("removed %d home-feed entries of posts their owners may not see", len(strays)))
		} else if len(strays) > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("%d home-feed entries show posts that are gone or whose authors their owners do not follow", len(strays)))
		}
	}
	for _, lag := range []struct {
		what  string
		kinds []string
	}{{"the search index", []string{store.JobIndexPost, store.JobIndexUser}}, {"home-feed fan-out", []string{store.JobFanout}}} {
		oldest, err := st.OldestJob(lag.kinds...)
		if err != nil {
			return nil, err
		}
		if !oldest.IsZero() {
			r.Notes = append(r.Notes, fmt.Sprintf("%s lags by %s", lag.what, now.Sub(oldest).Round(time.Second)))
		}
	}
	if ob.DeadLetter > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d background jobs failed for good (dead letters); retry or discard them", ob.DeadLetter))
	}
	return r, nil
}
