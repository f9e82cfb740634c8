package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
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
