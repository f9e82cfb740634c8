package store

import (
	"fmt"
	"io"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// SnapshotFunc receives a snapshot while its read transaction is open: the
// size of the copy, the content hashes of every photo the copy references
// (sorted), and write, which writes the copy (a bbolt file Open accepts)
// and returns the bytes written.
type SnapshotFunc func(size int64, blobs []string, write func(io.Writer) (int64, error)) error

// Snapshot takes a consistent copy of the database while writers carry
// on (one long read transaction) and hands it to fn. It returns fn's
// error, or a read error.
func (s *Store) Snapshot(fn SnapshotFunc) error {
	return s.view(func(tx *Tx) error {
		seen := map[string]bool{}
		err := tx.bucket(bMedia).ForEach(func(_, v []byte) error {
			m := new(Media)
			if err := decode(v, m); err != nil {
				return err
			}
			seen[m.Hash] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: snapshot: %w", err)
		}
		hashes := make([]string, 0, len(seen))
		for h := range seen {
			hashes = append(hashes, h)
		}
		slices.Sort(hashes)
		return fn(tx.tx.Size(), hashes, tx.tx.WriteTo)
	})
}

// CheckFile runs bbolt's structural check of the whole file (page
// ownership, free list, ordering) and returns one sentence per problem.
func (s *Store) CheckFile() ([]string, error) {
	var bad []string
	err := s.db.View(func(btx *bolt.Tx) error {
		for err := range btx.Check() {
			bad = append(bad, "database file: "+err.Error())
		}
		return nil
	})
	return bad, err
}
