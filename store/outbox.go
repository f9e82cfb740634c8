package store

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Job is durable background work, written in the same transaction as the
// change that causes it (the transactional outbox). Delivery is at least
// once, so every handler is idempotent.
type Job struct {
	ID        ID              `json:"id"`
	Kind      string          `json:"kind"`
	Payload   json.RawMessage `json:"payload"`
	Attempts  int             `json:"attempts"`
	NotBefore time.Time       `json:"not_before"`
	CreatedAt time.Time       `json:"created_at"`
	LastError string          `json:"last_error,omitempty"`
}

// Decode unmarshals the payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return fmt.Errorf("store: job %s payload: %w", j.Kind, err)
	}
	return nil
}

// enqueue writes a job to the outbox, runnable at once. The job's ID is
// minted on the shard of the command being applied, so the job lives in
// that command's partition whatever it is about; its effects elsewhere
// are commands the job's handler sends to their own partitions.
func (t *Tx) enqueue(kind string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	id, err := t.NewID(t.shard)
	if err != nil {
		return err
	}
	j := &Job{ID: id, Kind: kind, Payload: b, NotBefore: t.now, CreatedAt: t.now}
	t.jobs = append(t.jobs, j)
	return t.put(bOutbox, id.key(), j)
}

// DueJobs returns up to limit jobs of partition part whose time has
// come, oldest first, skipping those in skip (the ones already running).
func (s *Store) DueJobs(part int, now time.Time, limit int, skip map[ID]bool) ([]*Job, error) {
	var out []*Job
	err := s.viewPart(part, func(tx *Tx) error {
		c := tx.bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			if skip[idFromKey(k)] {
				continue
			}
			j := new(Job)
			if err := decode(v, j); err != nil {
				return err
			}
			if !j.NotBefore.After(now) {
				out = append(out, j)
			}
		}
		return nil
	})
	return out, err
}

// InsertsPending reports whether, in the outbox that holds job, a job
// queued before it may still put post (by author) into home feeds: the
// post's fan-out, or a backfill of the author's posts. A deleted post's
// clean-up waits for them, so that it runs after the last insert.
func (s *Store) InsertsPending(job, post, author ID) (bool, error) {
	pending := false
	err := s.viewPart(s.PartitionOf(job.Shard()), func(tx *Tx) error {
		c := tx.bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil && idFromKey(k) < job; k, v = c.Next() {
			j := new(Job)
			if decode(v, j) != nil {
				continue
			}
			switch j.Kind {
			case JobFanout:
				var f FanoutJob
				if j.Decode(&f) == nil && f.Post == post {
					pending = true
				}
			case JobBackfill:
				var b PairJob
				if j.Decode(&b) == nil && b.Author == author {
					pending = true
				}
			}
			if pending {
				return nil
			}
		}
		return nil
	})
	return pending, err
}

// OutboxStats are the queue's depth and the age of its oldest job.
type OutboxStats struct {
	Depth      int
	Oldest     time.Time // zero when empty
	DeadLetter int
}

// OutboxStats returns the queues' depth, oldest job and dead letters,
// over every partition.
func (s *Store) OutboxStats() (OutboxStats, error) {
	var st OutboxStats
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			b := pt.bucket(bOutbox)
			st.Depth += b.Stats().KeyN
			if k, _ := b.Cursor().First(); k != nil {
				if t := idFromKey(k).Time(); st.Oldest.IsZero() || t.Before(st.Oldest) {
					st.Oldest = t
				}
			}
			st.DeadLetter += pt.bucket(bDeadLetter).Stats().KeyN
			return nil
		})
	})
	return st, err
}

// DeadJobs returns up to limit parked jobs of every partition, oldest
// first.
func (s *Store) DeadJobs(limit int) ([]*Job, error) {
	var out []*Job
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			c := pt.bucket(bDeadLetter).Cursor()
			n := 0
			for k, v := c.First(); k != nil && n < limit; k, v = c.Next() {
				j := new(Job)
				if err := decode(v, j); err != nil {
					return err
				}
				out = append(out, j)
				n++
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b *Job) int { return cmp.Compare(a.ID, b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// JobsDone removes finished jobs. Finishing a job twice changes nothing.
type JobsDone struct {
	Meta
	JobIDs []ID `json:"job_ids"`
}

// Shard returns the first job's shard (in cluster mode the pool sends one
// command per partition).
func (c JobsDone) Shard() uint16 {
	if len(c.JobIDs) == 0 {
		return 0
	}
	return c.JobIDs[0].Shard()
}

func (c JobsDone) apply(tx *Tx) (struct{}, error) {
	for _, id := range c.JobIDs {
		if err := tx.unmark(bOutbox, id.key()); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
}

// JobFailed records a failed attempt: the job runs again at RetryAt, or,
// when Dead, moves to the dead-letter bucket. A Deferred job was not
// tried (it waits for others) and its attempts are not counted.
type JobFailed struct {
	Meta
	JobID    ID        `json:"job_id"`
	Error    string    `json:"error"`
	RetryAt  time.Time `json:"retry_at"`
	Dead     bool      `json:"dead"`
	Deferred bool      `json:"deferred,omitempty"`
}

// Shard returns the job's shard.
func (c JobFailed) Shard() uint16 { return c.JobID.Shard() }

func (c JobFailed) apply(tx *Tx) (struct{}, error) {
	j := new(Job)
	if err := tx.get(bOutbox, c.JobID.key(), j, "That job"); err != nil {
		return struct{}{}, nil // already done or parked
	}
	if !c.Deferred {
		j.Attempts++
	}
	j.LastError = truncate(c.Error, 500)
	j.NotBefore = c.RetryAt
	if c.Dead {
		if err := tx.unmark(bOutbox, j.ID.key()); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, tx.put(bDeadLetter, j.ID.key(), j)
	}
	return struct{}{}, tx.put(bOutbox, j.ID.key(), j)
}

// RetryDeadJob moves a parked job back into the outbox, runnable at once.
type RetryDeadJob struct {
	Meta
	JobID ID `json:"job_id"`
}

// Shard returns the job's shard.
func (c RetryDeadJob) Shard() uint16 { return c.JobID.Shard() }

func (c RetryDeadJob) apply(tx *Tx) (struct{}, error) {
	j := new(Job)
	if err := tx.get(bDeadLetter, c.JobID.key(), j, "That job"); err != nil {
		return struct{}{}, err
	}
	j.Attempts, j.NotBefore = 0, tx.now
	if err := tx.unmark(bDeadLetter, j.ID.key()); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, tx.put(bOutbox, j.ID.key(), j)
}

// DiscardDeadJob deletes a dead-letter job for good. It fails with
// ErrNotFound for an unknown job.
type DiscardDeadJob struct {
	Meta
	JobID ID `json:"job_id"`
}

// Shard returns the job's shard.
func (c DiscardDeadJob) Shard() uint16 { return c.JobID.Shard() }

func (c DiscardDeadJob) apply(tx *Tx) (struct{}, error) {
	if !tx.has(bDeadLetter, c.JobID.key()) {
		return struct{}{}, Errorf(ErrNotFound, "There is no such failed job.")
	}
	return struct{}{}, tx.unmark(bDeadLetter, c.JobID.key())
}

// DiscardJobs drops up to Limit queued jobs of the given kinds, for bulk
// loads that did their work another way (RebuildInbox instead of
// backfills). Its result is how many it dropped.
type DiscardJobs struct {
	Meta
	On    uint16   `json:"on"` // a shard of the partition whose outbox it is
	Kinds []string `json:"kinds"`
	Limit int      `json:"limit"`
}

// Shard returns On.
func (c DiscardJobs) Shard() uint16 { return c.On }

func (c DiscardJobs) apply(tx *Tx) (int, error) {
	var drop [][]byte
	cur := tx.bucket(bOutbox).Cursor()
	for k, v := cur.First(); k != nil && len(drop) < c.Limit; k, v = cur.Next() {
		j := new(Job)
		if decode(v, j) == nil {
			for _, kind := range c.Kinds {
				if j.Kind == kind {
					drop = append(drop, append([]byte(nil), k...))
				}
			}
		}
	}
	for _, k := range drop {
		if err := tx.unmark(bOutbox, k); err != nil {
			return 0, err
		}
	}
	return len(drop), nil
}
