package store

import (
	"context"
	"encoding/binary"
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

// Command is a change to the database. A command names its shard and the
// time it was issued, and its apply method is deterministic: it reads time
// only from the command, takes IDs only from Tx.NewID, and uses no
// randomness, files or network. Slow or impure work (password hashing,
// image processing) happens before the command is built.
//
// Adding a command is: a struct embedding Meta, a Shard method, and an
// apply method returning the result type R.
type Command[R any] interface {
	// Shard returns the logical shard the command writes.
	Shard() uint16
	// Time returns when the command was issued.
	Time() time.Time
	apply(tx *Tx) (R, error)
}

// Meta is embedded in every command: the moment the request arrived.
type Meta struct {
	At time.Time `json:"at"`
}

// Time returns m.At.
func (m Meta) Time() time.Time { return m.At }

// At returns a Meta stamped with t, truncated to milliseconds (the
// resolution IDs and stored times carry).
func At(t time.Time) Meta { return Meta{At: t.UTC().Truncate(time.Millisecond)} }

// Exec runs cmd in a write transaction and returns its result. Commands
// submitted concurrently share one transaction and one fsync (group
// commit) but each sees exactly the state left by the commands before it,
// and a command that fails leaves no trace. It returns the command's own
// error, or ErrUnavailable if the store is closed.
func Exec[R any](ctx context.Context, e Executor, cmd Command[R]) (R, error) {
	s, ok := e.(*Store)
	if !ok {
		r, err := e.Execute(ctx, cmd)
		res, _ := r.(R)
		return res, err
	}
	if s.closed.Load() {
		var zero R
		return zero, errClosed
	}
	p, ok := cmd.(preparer[R])
	if !ok {
		return route(ctx, s, cmd)
	}
	cmd, finish, err := p.prepare(ctx, s)
	if err != nil {
		var zero R
		return zero, err
	}
	res, err := route(ctx, s, cmd)
	if finish != nil {
		return finish(res, err)
	}
	return res, err
}

// Executor runs commands, each on the partition its shard maps to: the
// Store itself, or, in a cluster, a router that sends each command to the
// node that owns its partition. The packages that write (web, feed) hold
// an Executor, not a *Store.
type Executor interface {
	// Execute runs cmd, a registered command, and returns its result. It
	// fails for a value that is not a registered command, and with the
	// command's own error.
	Execute(ctx context.Context, cmd any) (any, error)
}

// Execute runs cmd as Exec does (Executor).
func (s *Store) Execute(ctx context.Context, cmd any) (any, error) {
	ct := typeOf(cmd)
	if ct == nil {
		return nil, fmt.Errorf("store: %T is not a registered command", cmd)
	}
	return ct.exec(ctx, s, cmd)
}

// preparer is a command that needs facts from outside its partition: its
// prepare method, run by Exec before submission, reads them (a mentioned
// account's ID, whether the actor is an administrator, a claim on a
// username) and returns the command that carries them, and optionally a
// function that sees the outcome (to bind or give back a claim). apply,
// which may read only its own partition, then re-checks what that
// partition owns. A replayed log skips prepare: what it resolved is in the
// entry.
type preparer[R any] interface {
	prepare(ctx context.Context, s *Store) (Command[R], func(R, error) (R, error), error)
}

// route runs cmd here if this node owns its partition (always, on one
// node), or forwards it to the owner.
func route[R any](ctx context.Context, s *Store, cmd Command[R]) (R, error) {
	part := s.PartitionOf(cmd.Shard())
	if s.opt.Router != nil && !s.opt.Router.Owns(part) {
		return forward(ctx, s, part, cmd)
	}
	res, err := submit(ctx, s, cmd)
	if s.opt.Router != nil && errors.Is(err, ErrNotOwner) {
		// This node lost the partition while the command waited (its log
		// refused the entry): the new owner runs it.
		return forward(ctx, s, part, cmd)
	}
	return res, err
}

// submit runs cmd through its partition's committer.
func submit[R any](ctx context.Context, s *Store, cmd Command[R]) (R, error) {
	var res R
	_, bulk := any(cmd).(bulkCommand)
	p := &pending{done: make(chan struct{}), bulk: bulk, cmd: cmd, shard: cmd.Shard(), run: func(tx *Tx) error {
		tx.now = cmd.Time()
		r, err := cmd.apply(tx)
		res = r
		return err
	}}
	if err := s.parts[s.PartitionOf(p.shard)].c.submit(ctx, p); err != nil {
		return res, err
	}
	<-p.done
	return res, p.err
}

// Tx is the transaction handed to apply and to read helpers. A write
// transaction (apply) holds one partition's bbolt transaction and may
// touch nothing else: a key of another partition panics, which fails the
// command. A read transaction reaches every partition through its
// readSet; keyed reads go to the partition holding the key, and whole-
// bucket walks (aggregates, scans) to the partition it is focused on
// (see on).
type Tx struct {
	tx    *bolt.Tx  // the write transaction; nil when reading
	part  int       // the partition written, or the one a read is focused on
	parts int       // how many partitions the store has
	rs    *readSet  // the read transactions of every partition; nil when writing
	now   time.Time // the command's time; zero in read transactions
	opt   *Options
	// users caches decoded users in read transactions, which read the
	// same authors many times; write transactions never cache.
	users map[ID]*User
	// blockFree remembers, in read transactions, users in no block at all.
	blockFree map[ID]bool
	// cache is the shared object cache (read transactions only), gen the
	// cache generation when the transaction began.
	cache *objCache
	gen   uint64
	// dirty lists the cached keys a write transaction wrote.
	dirty []cacheKey
	// shard is the shard of the command being applied: the outbox jobs it
	// writes take their IDs from it, so they live in its partition.
	shard uint16
	// writes counts the changes made so far, so that a command that fails
	// before changing anything needs no rollback.
	writes int
	// cfg is the partition's configuration, once read.
	cfg *PartitionConfig
	// places lists the places a write transaction changed, jobs the jobs
	// it queued.
	places []ID
	jobs   []*Job
}

type openBucket struct {
	name string
	b    *bolt.Bucket
}

// on returns a read transaction focused on partition part: its
// whole-bucket walks read that partition. It shares everything else
// with t.
func (t *Tx) on(part int) *Tx {
	if t.rs == nil {
		panic(crossPartition{from: t.part, to: part})
	}
	c := *t
	c.part, c.cfg = part, nil
	return &c
}

// eachPart calls fn with t focused on each partition in turn, stopping at
// the first error.
func (t *Tx) eachPart(fn func(pt *Tx) error) error {
	for p := range t.parts {
		if err := fn(t.on(p)); err != nil {
			return err
		}
	}
	return nil
}

// bucket returns the top-level bucket name of the partition t writes or
// is focused on.
func (t *Tx) bucket(name []byte) *bolt.Bucket {
	if t.rs == nil {
		return t.tx.Bucket(name)
	}
	return t.rs.bucket(t.part, name)
}

// at returns the bucket name of the partition that holds key: for the
// buckets keyed by an ID (or an owner ID first), the partition of that
// ID's shard; for the others, t's own.
func (t *Tx) at(name, key []byte) *bolt.Bucket {
	if t.parts > 1 && len(key) >= 8 && idKeyed[string(name)] {
		if p := int(idFromKey(key[:8]).Shard()) % t.parts; p != t.part {
			if t.rs == nil {
				panic(crossPartition{from: t.part, to: p, bucket: string(name)})
			}
			return t.rs.bucket(p, name)
		}
	}
	return t.bucket(name)
}

// local reports whether id lives in the partition t writes: a command
// checks it before reading a record named by its input, which may belong
// anywhere.
func (t *Tx) local(id ID) bool {
	return t.parts <= 1 || int(id.Shard())%t.parts == t.part
}

// crossPartition is the panic of a command that reached for a key of
// another partition: a bug in the command, which fails it.
type crossPartition struct {
	from, to int
	bucket   string
}

func (c crossPartition) String() string {
	return fmt.Sprintf("a command applied on partition %d reached for partition %d (bucket %q)", c.from, c.to, c.bucket)
}

// NewID returns a fresh ID on shard, strictly greater than every ID the
// shard has given before, from the command's time and the shard's counter.
func (t *Tx) NewID(shard uint16) (ID, error) {
	if t.parts > 1 && int(shard)%t.parts != t.part {
		panic(crossPartition{from: t.part, to: int(shard) % t.parts, bucket: string(bSeq)})
	}
	var k [2]byte
	binary.BigEndian.PutUint16(k[:], shard)
	b := t.bucket(bSeq)
	var last ID
	if v := b.Get(k[:]); len(v) == 8 {
		last = idFromKey(v)
	}
	id, err := nextID(last, t.now, shard)
	if err != nil {
		return 0, err
	}
	t.writes++
	return id, b.Put(k[:], id.key())
}

// get decodes the value at bucket/key into v; ErrNotFound if absent. In
// read transactions users, posts and photos come from the shared cache
// when they can: v (a pointer) then receives a copy of the cached value.
func (t *Tx) get(bucket, key []byte, v any, what string) error {
	if k, ok := keyOf(bucket, key); ok && t.cache != nil {
		return t.cachedGet(k, bucket, key, v, what)
	}
	b := t.at(bucket, key).Get(key)
	if b == nil {
		return Errorf(ErrNotFound, "%s was not found.", what)
	}
	return decode(b, v)
}

func (t *Tx) cachedGet(k cacheKey, bucket, key []byte, v any, what string) error {
	if hit, ok := t.cache.load(k); ok {
		return copyInto(v, hit)
	}
	b := t.at(bucket, key).Get(key)
	if b == nil {
		return Errorf(ErrNotFound, "%s was not found.", what)
	}
	if err := decode(b, v); err != nil {
		return err
	}
	if snap := snapshot(v); snap != nil {
		t.cache.store(k, snap, t.gen)
	}
	return nil
}

// put encodes v at bucket/key.
func (t *Tx) put(bucket, key []byte, v any) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	if k, ok := keyOf(bucket, key); ok {
		t.dirty = append(t.dirty, k)
	}
	t.writes++
	return t.at(bucket, key).Put(key, b)
}

// set stores a raw value at bucket/key.
func (t *Tx) set(bucket, key, v []byte) error {
	t.writes++
	return t.at(bucket, key).Put(key, v)
}

// del deletes bucket/key (nothing if absent).
func (t *Tx) del(bucket, key []byte) error {
	t.writes++
	return t.at(bucket, key).Delete(key)
}

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
