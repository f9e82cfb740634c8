package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// SnapshotFunc receives a snapshot of one partition while its read
// transaction is open: the partition's file name in the data directory,
// the size of the copy, the content hashes of every photo the copy
// references (sorted), and write, which writes the copy (a bbolt file
// Open accepts) and returns the bytes written.
type SnapshotFunc func(file string, size int64, blobs []string, write func(io.Writer) (int64, error)) error

// Snapshot takes a consistent copy of each partition in turn, and then of
// the global facts' file, while writers carry on (one long read
// transaction per file) and hands it to fn. Each copy is consistent in itself; work between partitions that
// was under way is in their outboxes and finishes after a restore. It
// returns fn's error, or a read error.
func (s *Store) Snapshot(fn SnapshotFunc) error {
	for _, p := range s.parts {
		err := p.db.View(func(btx *bolt.Tx) error {
			seen := map[string]bool{}
			err := btx.Bucket(bMedia).ForEach(func(_, v []byte) error {
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
			return fn(PartitionFile(p.idx), btx.Size(), hashes, btx.WriteTo)
		})
		if err != nil {
			return err
		}
	}
	if kv, ok := s.kv.(*boltKV); ok {
		return kv.db.View(func(btx *bolt.Tx) error { return fn(GlobalFile, btx.Size(), nil, btx.WriteTo) })
	}
	return nil
}

// CheckFile runs bbolt's structural check of every partition's file (page
// ownership, free list, ordering) and returns one sentence per problem.
func (s *Store) CheckFile() ([]string, error) {
	var bad []string
	for _, p := range s.parts {
		err := p.db.View(func(btx *bolt.Tx) error {
			for err := range btx.Check() {
				bad = append(bad, PartitionFile(p.idx)+": "+err.Error())
			}
			return nil
		})
		if err != nil {
			return bad, err
		}
	}
	return bad, nil
}

// Fingerprint returns a SHA-256, in hex, of every bucket, key and value of
// partition part, in order, and the partition's lastApplied: two replicas
// of a partition that applied the same log have the same fingerprint.
func (s *Store) Fingerprint(part int) (string, uint64, error) {
	if part < 0 || part >= len(s.parts) {
		return "", 0, Errorf(ErrInvalid, "There is no partition %d.", part)
	}
	h := sha256.New()
	var applied uint64
	err := s.parts[part].db.View(func(btx *bolt.Tx) error {
		applied = (&Tx{tx: btx}).lastApplied()
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			fmt.Fprintf(h, "[%s]", name)
			return b.ForEach(func(k, v []byte) error {
				fmt.Fprintf(h, "%d:%x=%d:%x;", len(k), k, len(v), v)
				return nil
			})
		})
	})
	return hex.EncodeToString(h.Sum(nil)), applied, err
}
