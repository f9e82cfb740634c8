// Package store is aperture's system of record: the domain types, their
// bbolt buckets, IDs, and the commands that are the only way to change them.
//
// Every write is a command value executed by Exec, which runs the command's
// deterministic apply method inside a group-committed bbolt transaction.
// Reads are exported methods that each run one read transaction.
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options tune Open. The zero value is a good default.
type Options struct {
	// Partitions is how many partitions (bbolt files, each with its own
	// committer) a new data directory gets; 0 means 1. An existing
	// directory keeps the count it was made with.
	Partitions int
	// LockTimeout is how long Open waits for another process to release
	// the database file before it gives up (default 1 s).
	LockTimeout time.Duration
	// MaxBatch is the most commands committed in one transaction
	// (default 1,000).
	MaxBatch int
	// NoSync skips fsync on commit. Only tests and benchmarks set it.
	NoSync bool
	// MmapReserve is the address space each partition file is mapped
	// with (default 16 GiB on 64-bit machines; see Store.view). Tests set
	// it small to make bbolt remap often.
	MmapReserve int
	// CelebrityAt is the follower count from which an author's posts are
	// not fanned out but merged into feeds at read time (10,000).
	CelebrityAt int
	// InboxCap is how many posts a home-feed inbox keeps (1,000).
	InboxCap int
	// Log, if set, receives every log entry (group commit) before it
	// commits: tests record logs to replay them, and cluster mode
	// replicates them.
	Log LogSink
	// Router, if set, decides which partitions this node applies fresh
	// commands to, and forwards the others (cluster mode).
	Router Router
	// KV, if set, holds the global facts instead of DATA/global.db
	// (cluster mode: a replicated bucket).
	KV KV
	// OnCommit, if set, is told of every commit on this node, fresh or
	// replayed: the records it changed (for the search index, which each
	// node keeps for itself in cluster mode). It must not block.
	OnCommit func(part int, c Changes)

	migrations []migration // tests replace the migration list
}

// Store is the open database: its partitions and the global facts. Its
// methods are safe for concurrent use.
type Store struct {
	closed atomic.Bool
	// grown is set once some partition file is past half its mapping:
	// from then on views begin their transactions in order (see view).
	grown atomic.Bool
	dir   string
	parts []*partition
	kv    KV // the global facts
	opt   Options
	cache *objCache
}

// partition is one bbolt file holding the shards that map to it, with its
// own committer.
type partition struct {
	idx  int
	db   *bolt.DB
	path string
	c    *committer

	applied atomic.Uint64 // lastApplied, as of the last commit here
	mu      sync.Mutex
	ticks   chan struct{} // closed at each commit
}

// tick returns a channel closed at the partition's next commit.
func (p *partition) tick() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ticks == nil {
		p.ticks = make(chan struct{})
	}
	return p.ticks
}

// advanced records a commit of log entry seq and wakes its waiters.
func (p *partition) advanced(seq uint64) {
	p.applied.Store(seq)
	p.mu.Lock()
	if p.ticks != nil {
		close(p.ticks)
		p.ticks = nil
	}
	p.mu.Unlock()
}

// FileName is the name of the first partition's database file inside the
// data directory (the only one when there is one partition).
const FileName = "aperture.db"

// PartitionFile returns the file name of partition i.
func PartitionFile(i int) string {
	if i == 0 {
		return FileName
	}
	return fmt.Sprintf("aperture.%d.db", i)
}

// MaxPartitions is the most partitions a data directory may have.
const MaxPartitions = 256

var keyPartitions = []byte("partitions")

// Open opens (creating if needed) the data directory's partitions, runs
// pending migrations and starts their committers. A new directory gets
// opt.Partitions partitions; an existing one keeps its count, and asking
// for another is ErrInvalid. It returns an ErrUnavailable error, with a
// sentence saying so, if another process holds a file.
func Open(dir string, opt Options) (*Store, error) {
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = time.Second
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 1000
	}
	if opt.CelebrityAt <= 0 {
		opt.CelebrityAt = defaultConfig.CelebrityAt
	}
	if opt.InboxCap <= 0 {
		opt.InboxCap = defaultConfig.InboxCap
	}
	if opt.migrations == nil {
		opt.migrations = migrations
	}
	if opt.Partitions < 0 || opt.Partitions > MaxPartitions {
		return nil, Invalid("partitions", "A data directory has 1 to %d partitions.", MaxPartitions)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	s := &Store{dir: dir, opt: opt, cache: newObjCache(200_000)}
	first, err := s.openPartition(0)
	if err != nil {
		return nil, err
	}
	n, err := partitionCount(first.db, opt.Partitions)
	if err != nil {
		first.db.Close()
		return nil, err
	}
	s.parts = []*partition{first}
	for i := 1; i < n; i++ {
		p, err := s.openPartition(i)
		if err != nil {
			s.closeFiles()
			return nil, err
		}
		s.parts = append(s.parts, p)
	}
	if opt.KV != nil {
		s.kv = opt.KV
	} else {
		kv, err := openBoltKV(dir, opt)
		if err != nil {
			s.closeFiles()
			return nil, err
		}
		s.kv = kv
	}
	if err := s.migrateGlobal(); err != nil {
		s.closeFiles()
		return nil, err
	}
	for _, p := range s.parts {
		if err := migrate(p.db, opt.migrations); err != nil {
			s.closeFiles()
			return nil, err
		}
	}
	for _, p := range s.parts {
		seq, err := s.LastApplied(p.idx)
		if err != nil {
			s.closeFiles()
			return nil, err
		}
		p.applied.Store(seq)
		p.c = startCommitter(p.db, p.idx, len(s.parts), opt.MaxBatch, &s.opt, s.cache, &s.grown)
		p.c.committed = func(seq uint64, dirty []cacheKey, places []ID, jobs []*Job) {
			p.advanced(seq)
			if opt.OnCommit != nil {
				c := changes(dirty, places)
				c.Jobs = jobs
				opt.OnCommit(p.idx, c)
			}
		}
	}
	if opt.Router != nil {
		return s, nil // the owners configure their partitions
	}
	if err := s.ApplyConfig(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openPartition opens partition i's file.
func (s *Store) openPartition(i int) (*partition, error) {
	name := PartitionFile(i)
	path := filepath.Join(s.dir, name)
	// The free-page list is not written at each commit (NoFreelistSync, as
	// etcd runs bbolt): on a database that has grown and shrunk it holds
	// hundreds of thousands of pages, and sorting and writing it was most
	// of a commit's cost. Opening rebuilds it by walking the pages instead
	// (1.5 s for a 5.4 GB file in the page cache).
	// The file is mapped with room to grow (InitialMmapSize): bbolt
	// remaps a file only when it outgrows its mapping, and a remap waits
	// for every reader of the file (see view).
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: s.opt.LockTimeout, NoSync: s.opt.NoSync,
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true, InitialMmapSize: s.opt.mmapReserve()})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, Errorf(ErrUnavailable, "The data directory %s is in use by another aperture process (%s is locked); stop that process or choose another --data directory.", s.dir, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > int64(s.opt.mmapReserve()/2) {
		s.grown.Store(true)
	}
	return &partition{idx: i, db: db, path: path}, nil
}

// mmapReserve returns MmapReserve or its default: 16 GiB of address
// space per partition file on 64-bit machines (only pages in use take
// memory), what bbolt picks on 32-bit ones.
func (o *Options) mmapReserve() int {
	switch {
	case o.MmapReserve > 0:
		return o.MmapReserve
	case strconv.IntSize == 64:
		return 16 << 30
	}
	return 0
}

// partitionCount reads how many partitions the directory has from the
// first partition's meta bucket, recording want there if the directory
// is new. A directory made before partitions existed has one.
func partitionCount(db *bolt.DB, want int) (int, error) {
	n := 0
	err := db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta != nil {
			n = 1
			if v := meta.Get(keyPartitions); len(v) == 4 {
				n = int(binary.BigEndian.Uint32(v))
			}
			if want > 0 && want != n {
				return Invalid("partitions", "This data directory has %d partition(s); the partition count is chosen when a directory is made and cannot change.", n)
			}
			return nil
		}
		n = max(want, 1)
		meta, err := tx.CreateBucket(bMeta)
		if err != nil {
			return err
		}
		return meta.Put(keyPartitions, binary.BigEndian.AppendUint32(nil, uint32(n)))
	})
	return n, err
}

func (s *Store) closeFiles() {
	for _, p := range s.parts {
		p.db.Close()
	}
	if s.kv != nil {
		s.kv.Close()
	}
}

// Close stops the committers after the commands already submitted and
// closes the files. Exec after Close returns ErrUnavailable.
func (s *Store) Close() error {
	s.closed.Store(true)
	for _, p := range s.parts {
		if p.c != nil {
			p.c.stop()
		}
	}
	var first error
	for _, p := range s.parts {
		if err := p.db.Close(); err != nil && first == nil {
			first = err
		}
	}
	if err := s.kv.Close(); err != nil && first == nil {
		first = err
	}
	return first
}

// Options returns the options the store was opened with.
func (s *Store) Options() Options { return s.opt }

// Partitions returns how many partitions the store has.
func (s *Store) Partitions() int { return len(s.parts) }

// PartitionOf returns the partition that holds shard: a fixed rule, the
// shard modulo the partition count.
func (s *Store) PartitionOf(shard uint16) int { return int(shard) % len(s.parts) }

// PartitionShard returns a shard held by partition part, for commands that
// work on a whole partition (sweeps, repairs).
func PartitionShard(part int) uint16 { return uint16(part) }

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Path returns the first partition's file path.
func (s *Store) Path() string { return s.parts[0].path }

// Paths returns every partition's file path, in partition order.
func (s *Store) Paths() []string {
	out := make([]string, len(s.parts))
	for i, p := range s.parts {
		out[i] = p.path
	}
	return out
}

// Ping returns nil if every partition answers a read transaction.
func (s *Store) Ping(ctx context.Context) error {
	for _, p := range s.parts {
		err := p.db.View(func(tx *bolt.Tx) error {
			if tx.Bucket(bMeta) == nil {
				return errors.New("store: meta bucket missing")
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: partition %d: %w", p.idx, err)
		}
	}
	return nil
}

// Stats returns bbolt's transaction statistics, summed over the
// partitions, and their files' size in bytes.
func (s *Store) Stats() (bolt.Stats, int64) {
	var st bolt.Stats
	var size int64
	for _, p := range s.parts {
		ps := p.db.Stats()
		st.TxN += ps.TxN
		st.OpenTxN += ps.OpenTxN
		st.FreePageN += ps.FreePageN
		st.PendingPageN += ps.PendingPageN
		st.FreeAlloc += ps.FreeAlloc
		st.FreelistInuse += ps.FreelistInuse
		if fi, err := os.Stat(p.path); err == nil {
			size += fi.Size()
		}
	}
	return st, size
}

// view runs fn in a read transaction that reaches every partition, and
// ends it when fn returns.
//
// Each partition's bbolt read transaction is begun when fn first touches
// it, so a read of one partition begins one. That order is fn's, and two
// views may take two partitions in opposite orders. bbolt remaps a file
// that outgrows its mapping, and the remap waits for every reader of the
// file while new readers wait for it: two views each holding one
// partition and beginning the other's, with both files being remapped,
// would wait for each other for ever. Files are mapped with a large
// reserve (Options.MmapReserve), so they are not remapped while they are
// under it; once one is past half of it, views begin every partition's
// transaction at once in partition order, and every view ends its
// transactions in the reverse order, so each wait is for a higher
// partition than any the waiter holds and the waits cannot form a cycle.
func (s *Store) view(fn func(tx *Tx) error) (err error) {
	// The cache generation is read before any snapshot is taken: a commit
	// after it makes what this view read too old to cache.
	gen := s.cache.gen.Load()
	rs := &readSet{s: s, txs: make([]*bolt.Tx, len(s.parts)), open: make([][]openBucket, len(s.parts))}
	defer rs.close()
	defer func() {
		if r := recover(); r != nil {
			re, ok := r.(readError)
			if !ok {
				panic(r)
			}
			err = re.err
		}
	}()
	if len(s.parts) > 1 && s.grown.Load() {
		for i := range s.parts {
			rs.tx(i)
		}
	}
	tx := &Tx{rs: rs, parts: len(s.parts), opt: &s.opt, users: map[ID]*User{}, blockFree: map[ID]bool{}, cache: s.cache, gen: gen}
	return fn(tx)
}

// viewPart runs fn in a read transaction of partition part alone.
func (s *Store) viewPart(part int, fn func(tx *Tx) error) error {
	return s.view(func(tx *Tx) error { return fn(tx.on(part)) })
}

// readSet is the bbolt read transactions of one view, one per partition.
type readSet struct {
	s    *Store
	txs  []*bolt.Tx
	open [][]openBucket
}

// tx returns partition part's read transaction, beginning it if needed.
func (r *readSet) tx(part int) *bolt.Tx {
	if r.txs[part] == nil {
		btx, err := r.s.parts[part].db.Begin(false)
		if err != nil {
			panic(readError{fmt.Errorf("store: begin read of partition %d: %w", part, err)})
		}
		r.txs[part] = btx
	}
	return r.txs[part]
}

// bucket returns the top-level bucket name of partition part, opened
// once per view: bbolt caches bucket handles only in write transactions,
// and opening one is a seek in the root bucket.
func (r *readSet) bucket(part int, name []byte) *bolt.Bucket {
	for _, o := range r.open[part] {
		if o.name == string(name) {
			return o.b
		}
	}
	b := r.tx(part).Bucket(name)
	if b != nil {
		r.open[part] = append(r.open[part], openBucket{string(name), b})
	}
	return b
}

// close ends the read transactions from the highest partition down.
// Ending one takes its file's meta lock, which a reader beginning there
// may hold while it waits for that file's remap; a view waiting there
// must hold no higher partition's transaction, or the waits could form a
// cycle (see view).
func (r *readSet) close() {
	for i := len(r.txs) - 1; i >= 0; i-- {
		if t := r.txs[i]; t != nil {
			t.Rollback()
		}
	}
}

// readError carries a failure to begin a read transaction out of a view.
type readError struct{ err error }

// DataFiles returns the paths of the partition files present in a data
// directory, in partition order, without opening them.
func DataFiles(dir string) []string {
	var out []string
	for i := 0; i < MaxPartitions; i++ {
		p := filepath.Join(dir, PartitionFile(i))
		if _, err := os.Stat(p); err != nil {
			break
		}
		out = append(out, p)
	}
	return out
}

// timeNow is the clock of the few commands the store issues itself.
var timeNow = time.Now
