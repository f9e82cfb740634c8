// Package store is aperture's system of record: the domain types, their
// bbolt buckets, IDs, and the commands that are the only way to change them.
//
// Every write is a command value executed by Exec, which runs the command's
// deterministic apply method inside a group-committed bbolt transaction.
// Reads are exported methods that each run one read transaction.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options tune Open. The zero value is a good default.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the database file before it gives up (default 1 s).
	LockTimeout time.Duration
	// MaxBatch is the most commands committed in one transaction
	// (default 1,000).
	MaxBatch int
	// NoSync skips fsync on commit. Only tests and benchmarks set it.
	NoSync bool
	// CelebrityAt is the follower count from which an author's posts are
	// not fanned out but merged into feeds at read time (10,000).
	CelebrityAt int
	// InboxCap is how many posts a home-feed inbox keeps (1,000).
	InboxCap int
	// Log, if set, receives every log entry (group commit) before it
	// commits: tests record logs to replay them, and cluster mode
	// replicates them.
	Log LogSink

	migrations []migration // tests replace the migration list
}

// Store is the open database. Its methods are safe for concurrent use.
type Store struct {
	db    *bolt.DB
	path  string
	c     *committer
	opt   Options
	cache *objCache
}

// FileName is the name of the database file inside the data directory.
const FileName = "aperture.db"

// Open opens (creating if needed) DIR/aperture.db, runs pending migrations
// and starts the committer. It returns an ErrUnavailable error, with a
// sentence saying so, if another process holds the file.
func Open(dir string, opt Options) (*Store, error) {
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = time.Second
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 1000
	}
	if opt.CelebrityAt <= 0 {
		opt.CelebrityAt = 10_000
	}
	if opt.InboxCap <= 0 {
		opt.InboxCap = 1000
	}
	if opt.migrations == nil {
		opt.migrations = migrations
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// The free-page list is not written at each commit (NoFreelistSync, as
	// etcd runs bbolt): on a database that has grown and shrunk it holds
	// hundreds of thousands of pages, and sorting and writing it was most
	// of a commit's cost. Opening rebuilds it by walking the pages instead
	// (1.5 s for a 5.4 GB file in the page cache).
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, NoSync: opt.NoSync,
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, Errorf(ErrUnavailable, "The data directory %s is in use by another aperture process (%s is locked); stop that process or choose another --data directory.", dir, FileName)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := migrate(db, opt.migrations); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, path: path, opt: opt, cache: newObjCache(200_000)}
	s.c = startCommitter(db, 0, opt.MaxBatch, &s.opt, s.cache)
	return s, nil
}

// Close stops the committer after the commands already submitted and
// closes the file. Exec after Close returns ErrUnavailable.
func (s *Store) Close() error {
	s.c.stop()
	return s.db.Close()
}

// Options returns the options the store was opened with.
func (s *Store) Options() Options { return s.opt }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Ping returns nil if the database answers a read transaction.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bMeta) == nil {
			return errors.New("store: meta bucket missing")
		}
		return nil
	})
}

// Stats returns bbolt's transaction statistics and the file size in bytes.
func (s *Store) Stats() (bolt.Stats, int64) {
	st := s.db.Stats()
	var size int64
	if fi, err := os.Stat(s.path); err == nil {
		size = fi.Size()
	}
	return st, size
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(tx *Tx) error) error {
	gen := s.cache.gen.Load()
	return s.db.View(func(btx *bolt.Tx) error {
		return fn(&Tx{tx: btx, opt: &s.opt, users: map[ID]*User{}, cache: s.cache, gen: gen, open: make([]openBucket, 0, 8)})
	})
}
