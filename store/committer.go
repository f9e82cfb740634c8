package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// pending is one submitted command waiting for its transaction.
type pending struct {
	run   func(tx *Tx) error
	err   error
	done  chan struct{}
	bulk  bool   // background work of many writes (see bulkCommand)
	shard uint16 // the command's shard
	cmd   any    // the command, encoded into the log when there is one
	entry *Entry // the command as logged: set when replaying, else made from cmd
	seq   uint64 // the log entry that held it, once committed
}

// bulkCommand marks commands that are background work of many writes
// (fan-out rounds). The committer gives them their own transaction after
// the people's writes that arrived with them, so a post or a like never
// waits for thousands of inbox inserts to be applied and written with it.
type bulkCommand interface{ bulk() }

// committer is aperture's group commit. One goroutine takes every command
// waiting at the moment it is free and commits them in one transaction.
// Unlike bbolt's Batch it never waits on a timer: a lone write commits at
// once, and under load batches grow by themselves to the number of writers
// in flight. If a command fails, the transaction is rolled back, the
// commands before it are committed again (apply is deterministic, so they
// reach the same state), the failed one gets its error, and the rest go on.
type committer struct {
	// committed, if set, is told of every commit: its log entry and the
	// records it changed.
	committed func(seq uint64, dirty []cacheKey, places []ID, jobs []*Job)

	part     int     // the partition it commits to
	parts    int     // how many partitions the store has
	sink     LogSink // where log entries go, if anywhere
	opt      *Options
	cache    *objCache
	db       *bolt.DB
	max      int
	grown    *atomic.Bool // set once the file nears its mapping (see Store.view)
	in       chan *pending
	mu       sync.RWMutex
	closed   bool
	finished chan struct{}
}

var errClosed = Errorf(ErrUnavailable, "aperture is shutting down; try again in a moment.")

func startCommitter(db *bolt.DB, part, parts int, max int, opt *Options, cache *objCache, grown *atomic.Bool) *committer {
	c := &committer{part: part, parts: parts, sink: opt.Log, opt: opt, cache: cache, db: db, max: max, grown: grown, in: make(chan *pending, max), finished: make(chan struct{})}
	go c.loop()
	return c
}

func (c *committer) submit(ctx context.Context, p *pending) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return errClosed
	}
	select {
	case c.in <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop lets the commands already submitted finish, then ends the loop.
func (c *committer) stop() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	c.mu.Unlock()
	<-c.finished
}

func (c *committer) loop() {
	defer close(c.finished)
	batch := make([]*pending, 0, c.max)
	prev := 0 // size of the last batch: how many writers are in flight
	for p := range c.in {
		batch = append(batch[:0], p)
		// Let the writers just released by the last commit submit again,
		// so that under load the next batch is full rather than a sliver.
		runtime.Gosched()
		batch = c.fill(batch, c.max, nil)
		if len(batch) < prev {
			// Under load, wait a moment (far less than an fsync) for the
			// rest of the last batch's writers. A lone writer never waits.
			t := time.NewTimer(gatherWait)
			batch = c.fill(batch, prev, t.C)
			t.Stop()
		}
		prev = len(batch)
		// Concurrent commands have no order among them, so the people's
		// writes go first, in their own transaction; bulk work follows.
		people, bulk := split(batch)
		c.commit(people)
		c.commit(bulk)
	}
}

// split returns the batch's ordinary commands and its bulk ones, each in
// submission order.
func split(batch []*pending) (people, bulk []*pending) {
	if !slices.ContainsFunc(batch, func(p *pending) bool { return p.bulk }) {
		return batch, nil
	}
	for _, p := range batch {
		if p.bulk {
			bulk = append(bulk, p)
		} else {
			people = append(people, p)
		}
	}
	return people, bulk
}

// gatherWait bounds how long a commit waits for writers under load.
const gatherWait = 100 * time.Microsecond

// fill appends waiting commands to batch until it holds n: without
// blocking if until is nil, else until that fires.
func (c *committer) fill(batch []*pending, n int, until <-chan time.Time) []*pending {
	for len(batch) < n {
		if until == nil {
			select {
			case q, ok := <-c.in:
				if !ok {
					return batch
				}
				batch = append(batch, q)
			default:
				return batch
			}
			continue
		}
		select {
		case q, ok := <-c.in:
			if !ok {
				return batch
			}
			batch = append(batch, q)
		case <-until:
			return batch
		}
	}
	return batch
}

// errCommandFailed marks a rollback caused by one command's own error.
var errCommandFailed = errors.New("store: command failed")

// commit applies a batch as one log entry in one transaction. A command
// that fails is a no-op: if it failed before changing anything the
// others simply go on; otherwise the transaction is rolled back and the
// batch runs again without it (apply is deterministic, so the commands
// before it reach the same state again). Every replica that applies the
// same entry makes the same choices and reaches the same state. The
// entry's sequence number is stored as the partition's lastApplied in
// the same transaction.
func (c *committer) commit(batch []*pending) { c.apply(0, batch) }

// loggedBatch is one log entry being replayed: its sequence number and
// its commands.
type loggedBatch struct {
	seq   uint64
	batch []*pending
}

// replay applies logged entries, which must follow on from the
// partition's lastApplied (older ones change nothing, a newer one is a
// gap). The check is made in the transaction that applies them, so a
// replay racing another (or a fresh commit) cannot apply an entry twice.
// Several entries are applied in one transaction; if a command among
// them fails after it wrote (its entry then runs again without it, see
// commit), they are applied one transaction each instead.
func (c *committer) replay(entries []loggedBatch) error {
	if len(entries) > 1 {
		err := c.applyAll(entries)
		if err != errCommandFailed {
			return err
		}
	}
	for _, e := range entries {
		if err := c.apply(e.seq, e.batch); err != nil {
			return err
		}
	}
	return nil
}

// applyAll applies logged entries in one transaction, each recorded as
// lastApplied in turn. It returns errCommandFailed, having changed
// nothing, when a command fails after writing.
func (c *committer) applyAll(entries []loggedBatch) error {
	var tx *Tx
	var last uint64
	err := c.db.Update(func(btx *bolt.Tx) error {
		tx = &Tx{tx: btx, part: c.part, parts: c.parts, opt: c.opt}
		last = 0
		for _, e := range entries {
			switch applied := tx.lastApplied(); {
			case e.seq <= applied:
				continue
			case e.seq > applied+1:
				return Errorf(ErrConflict, "Log entry %d of partition %d arrived after entry %d: entries are missing.", e.seq, c.part, applied)
			}
			for _, p := range e.batch {
				w := tx.writes
				tx.shard = p.shard
				if p.err = safeRun(p.run, tx); p.err != nil && tx.writes != w {
					return errCommandFailed
				}
			}
			if err := tx.setApplied(e.seq); err != nil {
				return err
			}
			last = e.seq
		}
		c.noteSize(btx)
		return nil
	})
	if err == nil && last > 0 {
		c.cache.invalidate(tx.dirty)
		if c.committed != nil {
			c.committed(last, tx.dirty, tx.places, tx.jobs)
		}
	}
	return err
}

// noteSize marks the store grown once btx's file is past half its
// mapping (see Store.view).
func (c *committer) noteSize(btx *bolt.Tx) {
	if btx.Size() > int64(c.opt.mmapReserve()/2) {
		c.grown.Store(true)
	}
}

// errApplied marks a replayed entry that this partition has already.
var errApplied = errors.New("store: entry applied already")

// apply commits batch as log entry seq (0: the next one) and returns the
// transaction's own error, if any (each command's is in its pending).
func (c *committer) apply(seq uint64, batch []*pending) error {
	if len(batch) == 0 {
		return nil
	}
	skip := make([]bool, len(batch))
	fresh := seq == 0 // a new entry, for the log; else one replayed from it
	for {
		restart := false
		var tx *Tx
		err := c.db.Update(func(btx *bolt.Tx) error {
			tx = &Tx{tx: btx, part: c.part, parts: c.parts, opt: c.opt}
			if !fresh {
				switch last := tx.lastApplied(); {
				case seq <= last:
					return errApplied
				case seq > last+1:
					return Errorf(ErrConflict, "Log entry %d of partition %d arrived after entry %d: entries are missing.", seq, c.part, last)
				}
			}
			for i, p := range batch {
				if skip[i] {
					continue
				}
				w := tx.writes
				tx.shard = p.shard
				if p.err = safeRun(p.run, tx); p.err != nil {
					skip[i] = true
					if tx.writes != w {
						restart = true
						return errCommandFailed
					}
				}
			}
			if seq == 0 {
				seq = tx.lastApplied() + 1
			}
			if c.sink != nil && fresh {
				data, err := logEntry(seq, batch)
				if err != nil {
					return err
				}
				if err := c.sink.Append(c.part, seq, data); err != nil {
					return err
				}
			}
			c.noteSize(btx)
			return tx.setApplied(seq)
		})
		if restart {
			continue
		}
		if err == errApplied {
			for _, p := range batch {
				close(p.done)
			}
			return nil
		}
		if err == nil {
			c.cache.invalidate(tx.dirty)
			if c.committed != nil {
				c.committed(seq, tx.dirty, tx.places, tx.jobs)
			}
		}
		for i, p := range batch {
			if err != nil && !skip[i] {
				p.err = fmt.Errorf("store: commit: %w", err)
				if errors.Is(err, ErrNotOwner) {
					p.err = ErrNotOwner
				}
			}
			p.seq = seq
			close(p.done)
		}
		return err
	}
}

// logEntry encodes a batch as the log entry seq.
func logEntry(seq uint64, batch []*pending) ([]byte, error) {
	e := LogEntry{Seq: seq, Commands: make([]Entry, len(batch))}
	for i, p := range batch {
		if p.entry == nil {
			enc, err := EncodeCommand(p.cmd)
			if err != nil {
				return nil, err
			}
			p.entry = &enc
		}
		e.Commands[i] = *p.entry
	}
	return json.Marshal(e)
}

// safeRun turns a panic in apply into an error, so one bad command cannot
// take the committer down.
func safeRun(run func(tx *Tx) error, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if cp, ok := r.(crossPartition); ok {
				err = fmt.Errorf("store: %s", cp)
				return
			}
			err = fmt.Errorf("store: command panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return run(tx)
}
